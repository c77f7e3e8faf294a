"""`modelrepo login` and `logout`: a sign-in to a server through its identity provider, kept
on this machine and used by every later command (and `Registry(url)`) for that server."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ..domain.errors import InvalidInput
from ..domain.times import format_time
from .base import Context, cli, command, emit, pass_ctx

_SERVER_HELP = "The server's http(s)://host:port (default: --store, or $MODELREPO_STORE)."


def _server(ctx: Context, server: str | None) -> str:
    from ..api.arguments import is_remote

    chosen = server or ctx.store
    if not is_remote(chosen):
        raise InvalidInput("which server? give --server https://host:port (or --store)")
    assert chosen is not None
    return chosen


@command(cli, "login")
@click.option("--server", metavar="URL", help=_SERVER_HELP)
@click.option(
    "--issuer", metavar="URL", help="The identity provider (default: the one the server names)."
)
@click.option("--client-id", metavar="ID", help="The client id the server expects (with --issuer).")
@click.option(
    "--client-secret",
    envvar="MODELREPO_OIDC_CLIENT_SECRET",
    metavar="SECRET",
    help="For a provider that registers this program as a confidential client "
    "($MODELREPO_OIDC_CLIENT_SECRET).",
)
@click.option("--no-browser", is_flag=True, help="Print the sign-in URL instead of opening it.")
@click.option("--device", is_flag=True, help="Sign in on another device (a code to enter).")
@pass_ctx
def login(
    ctx: Context,
    server: str | None,
    issuer: str | None,
    client_id: str | None,
    client_secret: str | None,
    no_browser: bool,
    device: bool,
    as_json: bool,
) -> None:
    """Sign in to a server through its identity provider (OpenID Connect).

    The provider's ID token is kept in ~/.config/modelrepo/credentials.json (or
    $MODELREPO_CONFIG_DIR), readable by you only, renewed when it nears its expiry, and sent
    by every later command for that server; $MODELREPO_TOKEN still takes precedence. With a
    provider that offers it (or --device) you enter a code on another device; otherwise a
    browser signs you in and returns to this machine on 127.0.0.1.

    \b
    Examples:
      modelrepo login --server https://registry.example.com
      modelrepo login --server https://registry.example.com --no-browser
      modelrepo login --server https://registry.example.com \\
        --issuer https://login.example.com --client-id modelrepo
    """
    from ..remote.signin import login as sign_in

    def tell(line: str) -> None:
        click.echo(line, err=True)

    opener = None
    if not no_browser:
        import webbrowser

        opener = webbrowser.open
    done = sign_in(
        _server(ctx, server),
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        device=device,
        open_browser=opener,
        tell=tell,
    )
    document = {
        "user": done.user,
        "server": done.server,
        "issuer": done.issuer,
        "expires_at": format_time(datetime.fromtimestamp(done.expires_at, UTC)),
    }
    emit(as_json, document, lambda: click.echo(f"signed in as {done.user} at {done.server}"))


@command(cli, "logout")
@click.option("--server", metavar="URL", help=_SERVER_HELP)
@pass_ctx
def logout(ctx: Context, server: str | None, as_json: bool) -> None:
    """Forget this machine's sign-in to a server (`modelrepo login`).

    \b
    Examples:
      modelrepo logout --server https://registry.example.com
    """
    from ..remote.client import check_url
    from ..remote.signin import logout as sign_out

    url = check_url(_server(ctx, server), allow_insecure_http=True)
    removed = sign_out(url)
    message = f"signed out of {url}" if removed else f"not signed in at {url}"
    emit(as_json, {"server": url, "removed": removed}, lambda: click.echo(message))
