"""Commands about the server: `serve`, and the API tokens it accepts."""

from __future__ import annotations

import ipaddress
import os

import click

from ..domain.access import ROLES, ApiToken
from ..domain.errors import InvalidInput
from ..domain.times import format_time
from .base import Context, byte_size, cli, command, emit, pass_ctx


@cli.group()
def token() -> None:
    """API tokens of the server: stored only as hashes, each with a role and a model scope."""


def _token_line(t: ApiToken) -> str:
    scope = t.model_pattern or "*"
    state = f"revoked {format_time(t.revoked_at)} by {t.revoked_by}" if t.revoked_at else "active"
    return (
        f"{t.token_id}  {t.user:<20} {t.role:<11} {scope:<16} created "
        f"{format_time(t.created_at)} by {t.created_by}  {state}"
    )


@command(token, "create")
@click.option(
    "--user",
    "user",
    help="Whom it acts as: yourself (the default), or a service account svc:NAME (admins). "
    "Only a command on the server's host (an embedded store) names anyone else: how the "
    "first admin is made, recorded as such.",
)
@click.option("--role", required=True, type=click.Choice(ROLES), help="What it may do.")
@click.option("--model", "pattern", metavar="PATTERN", help="Only models matching this glob.")
@pass_ctx
def token_create(
    ctx: Context, user: str | None, role: str, pattern: str | None, as_json: bool
) -> None:
    """Create an API token; it is shown once and only its hash is kept.

    A token acts as the identity that mints it, with no more than its own role and scope;
    machines get service accounts (svc:NAME), which never request or approve changes to a
    protected environment. The record keeps who minted it and how they authenticated.

    Roles: viewer (read), contributor (register, tag), deployer (deploy, log decisions),
    approver (approve or reject requests), admin (everything). The creation is recorded in
    the audit trail with who created it.

    \b
    Examples:
      modelrepo token create --user alice@bank.example --role admin   # on the server's host
      modelrepo token create --role deployer --model 'fraud-*'       # for yourself
      modelrepo token create --user svc:ci --role contributor --json
    """
    with ctx.registry() as reg:
        record, secret = reg.create_token(user, role, model_pattern=pattern)

    def human() -> None:
        click.echo(secret)
        click.echo(
            f"token {record.token_id} for {record.user} ({record.role}, models "
            f"{record.model_pattern or '*'}); keep it now, it is not shown again",
            err=True,
        )

    emit(as_json, {**record.to_dict(), "token": secret}, human)


@command(token, "list")
@click.option("--active", is_flag=True, help="Leave out revoked tokens.")
@pass_ctx
def token_list(ctx: Context, active: bool, as_json: bool) -> None:
    """List API tokens (their ids, users, roles and scopes; never the tokens).

    \b
    Examples:
      modelrepo token list
      modelrepo token list --active --json
    """
    with ctx.registry() as reg:
        found = reg.tokens(include_revoked=not active)
    emit(
        as_json,
        [t.to_dict() for t in found],
        lambda: click.echo("\n".join(_token_line(t) for t in found) or "no tokens"),
    )


@command(token, "revoke")
@click.argument("token_id")
@pass_ctx
def token_revoke(ctx: Context, token_id: str, as_json: bool) -> None:
    """Revoke an API token for good (recorded in the audit trail).

    \b
    Examples:
      modelrepo token revoke 3f9a1c0b7d2e
    """
    with ctx.registry() as reg:
        revoked = reg.revoke_token(token_id)
    emit(as_json, revoked.to_dict(), lambda: click.echo(f"revoked {revoked.token_id}"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@command(cli)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--public-url",
    envvar="MODELREPO_PUBLIC_URL",
    metavar="URL",
    help="Where clients reach the server (https://models.bank.example behind a proxy); "
    "every absolute URL the server hands out starts with it. Default: http://HOST:PORT.",
)
@click.option(
    "--no-auth",
    is_flag=True,
    help="Accept requests without a token, as --user (only on a loopback --host).",
)
@click.option(
    "--webhooks/--no-webhooks",
    "deliver_webhooks",
    default=False,
    show_default=True,
    help="Send webhook deliveries from each worker (deliveries are leased, never doubled).",
)
@click.option(
    "--mlflow-source",
    "mlflow_sources",
    multiple=True,
    metavar="URI",
    help="A folder (file:///path, an MLflow artifact root) whose models MLflow clients may "
    "register; repeatable. The server fetches version sources from nowhere else.",
)
@click.option(
    "--trust-pickle",
    is_flag=True,
    help="Let replay load pickled versions when the caller asks (each load is recorded).",
)
@click.option(
    "--allow-source",
    "allow_source",
    multiple=True,
    metavar="PREFIX",
    help="An https:// or s3:// prefix the server may fetch artifacts from (repeatable; "
    "default none).",
)
@click.option(
    "--json-limit",
    callback=byte_size,
    metavar="SIZE",
    help="Largest JSON request body; default 64MiB.",
)
@click.option(
    "--upload-limit",
    callback=byte_size,
    metavar="SIZE",
    help="Largest version upload (all its files); default 64GiB.",
)
@click.option(
    "--import-limit",
    callback=byte_size,
    metavar="SIZE",
    help="Largest decisions file to import (read whole by the server); default 256MiB.",
)
@click.option(
    "--oidc-issuer",
    envvar="MODELREPO_OIDC_ISSUER",
    metavar="URL",
    help="Trust this OpenID Connect identity provider: its signed tokens are accepted as "
    "bearer credentials and the web UI signs in through it.",
)
@click.option(
    "--oidc-audience",
    envvar="MODELREPO_OIDC_AUDIENCE",
    metavar="AUD",
    help="The audience its tokens must name (the client id registered for modelrepo).",
)
@click.option(
    "--oidc-user-claim",
    envvar="MODELREPO_OIDC_USER_CLAIM",
    metavar="CLAIM",
    help="The claim that names a user in the records [default: email, else sub].",
)
@click.option(
    "--oidc-roles-claim",
    envvar="MODELREPO_OIDC_ROLES_CLAIM",
    metavar="CLAIM",
    help="A claim listing the user's groups (e.g. groups), mapped by --oidc-role-map.",
)
@click.option(
    "--oidc-role-map",
    "oidc_role_map",
    multiple=True,
    metavar="GROUP=ROLE[:PATTERN]",
    help="A group of --oidc-roles-claim and the role it grants (repeatable).",
)
@click.option(
    "--oidc-client-id",
    envvar="MODELREPO_OIDC_CLIENT_ID",
    metavar="ID",
    help="The client id the web UI signs in with [default: the audience].",
)
@pass_ctx
def serve(
    ctx: Context,
    host: str,
    port: int,
    workers: int,
    public_url: str | None,
    no_auth: bool,
    deliver_webhooks: bool,
    mlflow_sources: tuple[str, ...],
    trust_pickle: bool,
    allow_source: tuple[str, ...],
    json_limit: int | None,
    upload_limit: int | None,
    import_limit: int | None,
    oidc_issuer: str | None,
    oidc_audience: str | None,
    oidc_user_claim: str | None,
    oidc_roles_claim: str | None,
    oidc_role_map: tuple[str, ...],
    oidc_client_id: str | None,
    as_json: bool,
) -> None:
    """Serve the store over HTTP: the JSON API under /api/v1, docs at /docs, the web UI at
    /ui/ (and /), and MLflow's model registry API under /api/2.0/mlflow for unmodified MLflow
    clients.

    Every request needs an API token (`modelrepo token create`), or, with --oidc-issuer, a
    token of that identity provider (its users get roles from `modelrepo role grant`), unless
    --no-auth is given with a loopback host. The client secret of a confidential web client
    is read from $MODELREPO_OIDC_CLIENT_SECRET only (never a command-line argument).

    A request body over its limit is answered 413 before it is read (sizes: 65536, 64KiB,
    64MiB, 1GiB, 64MB). Needs the `server` extra:
    pip install 'modelrepo[server]'.

    \b
    Examples:
      modelrepo serve --port 8080
      modelrepo --database-url postgresql://db/registry --blob-url s3://models/registry \\
          serve --host 0.0.0.0 --workers 4
      modelrepo serve --no-auth
      modelrepo serve --mlflow-source file:///srv/mlflow/artifacts
      modelrepo serve --allow-source s3://models-inbox/ --allow-source https://ci.example/a/
      modelrepo serve --json-limit 16MiB --import-limit 1GiB
      modelrepo serve --host 0.0.0.0 --public-url https://models.bank.example
      modelrepo serve --oidc-issuer https://login.bank.example/realms/ml \\
          --oidc-audience modelrepo --oidc-roles-claim groups \\
          --oidc-role-map ml-approvers=approver --oidc-role-map ml-admins=admin
    """
    if no_auth and not is_loopback(host):
        raise InvalidInput(
            f"--no-auth serves the store to anyone who can reach {host}; "
            "it is allowed only with a loopback --host (127.0.0.1, ::1, localhost)"
        )
    from ..domain.urls import bound_url, check_public_url
    from ..sources import allowed_prefixes

    prefixes = allowed_prefixes(allow_source)
    public_url = check_public_url(public_url or bound_url(host, port))
    try:
        import uvicorn  # noqa: F401 - only whether it is installed
    except ImportError:
        raise InvalidInput(
            "the server needs the 'server' extra: pip install 'modelrepo[server]'"
        ) from None
    from ..server.mlflow.sources import ENVIRONMENT_VARIABLE, Sources

    sources = Sources.parse(mlflow_sources)  # refuse a bad location now, not in each worker
    oidc = {
        "ISSUER": oidc_issuer,
        "AUDIENCE": oidc_audience,
        "USER_CLAIM": oidc_user_claim,
        "ROLES_CLAIM": oidc_roles_claim,
        "ROLE_MAP": "\n".join(oidc_role_map) or os.environ.get("MODELREPO_OIDC_ROLE_MAP"),
        "CLIENT_ID": oidc_client_id,
    }
    for key, value in oidc.items():  # the workers read them back (`OidcSettings`)
        os.environ.pop(f"MODELREPO_OIDC_{key}", None)
        if value:
            os.environ[f"MODELREPO_OIDC_{key}"] = value
    from ..server.oidc import OidcSettings

    settings = OidcSettings.from_environment(os.environ)  # refuse bad settings now
    if settings is None and oidc_audience:
        raise InvalidInput("--oidc-audience needs --oidc-issuer")
    with ctx.registry() as reg:
        if not no_auth and settings is None and not reg.tokens(include_revoked=False):
            raise InvalidInput(
                "no API token exists, so nobody could use the server: create one with "
                "'modelrepo token create --user NAME --role admin' (or use --no-auth on "
                "a loopback host)"
            )
    # The workers build their app from the environment (see modelrepo.server.app).
    for name, value in (
        ("MODELREPO_STORE", ctx.store),
        ("MODELREPO_DATABASE_URL", ctx.database_url),
        ("MODELREPO_BLOB_URL", ctx.blob_url),
        ("MODELREPO_USER", ctx.user),
    ):
        if value:
            os.environ[name] = value
    os.environ["MODELREPO_SERVER_NO_AUTH"] = "1" if no_auth else ""
    os.environ["MODELREPO_SERVER_WEBHOOKS"] = "1" if deliver_webhooks else ""
    if sources.roots:
        os.environ[ENVIRONMENT_VARIABLE] = " ".join(root.as_uri() for root in sources.roots)
    os.environ["MODELREPO_SERVER_TRUST_PICKLE"] = "1" if trust_pickle else ""
    os.environ["MODELREPO_PUBLIC_URL"] = public_url
    os.environ["MODELREPO_SERVER_ALLOW_SOURCE"] = "\n".join(prefixes)
    for name, limit in (("JSON", json_limit), ("UPLOAD", upload_limit), ("IMPORT", import_limit)):
        os.environ[f"MODELREPO_SERVER_{name}_LIMIT"] = str(limit) if limit else ""
    url = bound_url(host, port)
    # Where a person goes next: the API's and the web UI's addresses as clients reach them.
    api_url, docs_url, ui_url = (f"{public_url}{p}" for p in ("/api/v1", "/docs", "/ui/"))
    emit(
        as_json,
        {
            "url": url,
            "public_url": public_url,
            "api_url": api_url,
            "docs_url": docs_url,
            "ui_url": ui_url,
            "workers": workers,
            "auth": not no_auth,
        },
        lambda: click.echo(
            f"serving on {url} ({'no authentication' if no_auth else 'tokens'})\n"
            f"API: {api_url} (docs: {docs_url})\n"
            f"web UI: {ui_url}"
        ),
    )
    run_server(host, port, workers)


def run_server(host: str, port: int, workers: int) -> None:
    """uvicorn on `host:port` with `workers` processes, each building its app from the
    environment (`modelrepo.server.app:from_environment`).

    No access log (a line per request costs more than a cached `live` answer; /metrics
    counts requests), and httptools and uvloop when installed (uvicorn's "auto")."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "modelrepo.server.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    bound = config.bind_socket()
    # uvicorn creates the shared socket without IPPROTO_TCP, so the connections the workers
    # accept from it never get TCP_NODELAY, and every keep-alive answer after the first
    # waits ~40 ms for the client's delayed ACK. The same socket, with its protocol named:
    listener = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, bound.detach())
    listener.set_inheritable(True)
    Multiprocess(config, sockets=[listener]).run()
