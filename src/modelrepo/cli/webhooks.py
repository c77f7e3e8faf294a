"""Commands about webhooks: subscriptions, the delivery log, and delivering."""

from __future__ import annotations

import threading

import click

from ..domain.times import format_time
from ..domain.webhooks import EVENT_KINDS, Webhook
from .base import Context, cli, command, emit, more_notice, pass_ctx


@cli.group()
def webhook() -> None:
    """Webhooks: signed notifications of registrations, deployments, approvals."""


def _line(h: Webhook) -> str:
    state = f"disabled {format_time(h.disabled_at)}" if h.disabled_at else "active"
    private = "  private allowed" if h.allow_private else ""
    return f"{h.webhook_id}  {h.model_pattern:<16} {','.join(h.events)}  {h.url}  {state}{private}"


@command(webhook, "add")
@click.argument("url")
@click.option("--model", "pattern", default="*", show_default=True, help="Models (a glob).")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    type=click.Choice(EVENT_KINDS),
    help="An event kind to send (repeat for several).",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let the target be a loopback or private address, and use plain http.",
)
@pass_ctx
def webhook_add(
    ctx: Context,
    url: str,
    pattern: str,
    events: tuple[str, ...],
    allow_private: bool,
    as_json: bool,
) -> None:
    """Subscribe URL to events of models matching --model; prints the signing secret once.

    Each delivery is a JSON POST signed with HMAC-SHA256 (header X-Modelrepo-Signature:
    t=<unix time>,v1=<hex of HMAC(secret, "<t>.<body>")>). Targets must use https and
    resolve to public addresses, checked at every connection, unless --allow-private.

    \b
    Examples:
      modelrepo webhook add https://hooks.bank.example/mr --model 'fraud-*' --event deployed
      modelrepo webhook add https://ci.example/in --event registered --event approved --json
    """
    with ctx.registry() as reg:
        record, secret = reg.add_webhook(
            url, model_pattern=pattern, events=events, allow_private=allow_private
        )

    def human() -> None:
        click.echo(secret)
        click.echo(
            f"webhook {record.webhook_id} -> {record.url}; keep the signing secret now, "
            "it is not shown again",
            err=True,
        )

    emit(as_json, {**record.to_dict(), "secret": secret}, human)


@command(webhook, "list")
@click.option("--active", is_flag=True, help="Leave out disabled webhooks.")
@pass_ctx
def webhook_list(ctx: Context, active: bool, as_json: bool) -> None:
    """List webhooks (never their secrets).

    \b
    Examples:
      modelrepo webhook list --json
    """
    with ctx.registry() as reg:
        found = reg.webhooks(include_disabled=not active)
    emit(
        as_json,
        [h.to_dict() for h in found],
        lambda: click.echo("\n".join(_line(h) for h in found) or "no webhooks"),
    )


@command(webhook, "disable")
@click.argument("webhook_id")
@pass_ctx
def webhook_disable(ctx: Context, webhook_id: str, as_json: bool) -> None:
    """Disable a webhook for good (recorded in the audit trail); nothing more is sent to it.

    \b
    Examples:
      modelrepo webhook disable wh_3f9a1c0b7d2e
    """
    with ctx.registry() as reg:
        disabled = reg.disable_webhook(webhook_id)
    emit(as_json, disabled.to_dict(), lambda: click.echo(f"disabled {disabled.webhook_id}"))


@command(webhook, "deliveries")
@click.argument("webhook_id", required=False)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Deliveries per page.",
)
@click.option("--cursor", help="Start where a previous page ended (from its note on stderr).")
@click.option("--attempts", "with_attempts", is_flag=True, help="Show every attempt too.")
@pass_ctx
def webhook_deliveries(
    ctx: Context,
    webhook_id: str | None,
    limit: int,
    cursor: str | None,
    with_attempts: bool,
    as_json: bool,
) -> None:
    """The delivery log, newest first (of one webhook, or of all), a page at a time.

    When more deliveries follow, a note on stderr gives the --cursor of the next page (with
    --json too: its document stays a list).

    \b
    Examples:
      modelrepo webhook deliveries
      modelrepo webhook deliveries wh_3f9a1c0b7d2e --attempts --json
    """
    with ctx.registry() as reg:
        page = reg.webhook_deliveries_page(webhook_id, limit=limit, cursor=cursor)
        found, next_cursor = page.items, page.next_cursor
        documents = [
            {
                **d.to_dict(),
                **(
                    {"attempts_log": [a.to_dict() for a in reg.delivery_attempts(d.delivery_id)]}
                    if with_attempts
                    else {}
                ),
            }
            for d in found
        ]

    def human() -> None:
        if not documents:
            click.echo("no deliveries")
        for d in documents:
            error = f"  {d['last_error']}" if d["last_error"] else ""
            click.echo(
                f"{d['delivery_id']:>6}  {d['webhook_id']}  {d['kind']:<20} {d['status']:<9} "
                f"attempts {d['attempts']}{error}"
            )
            for a in d.get("attempts_log", []):
                click.echo(
                    f"        #{a['attempt']} {a['at']} {a['status_code'] or '-'} "
                    f"{a['duration_ms']} ms {a['error'] or 'ok'}"
                )

    emit(as_json, documents, human)
    more_notice(len(documents), next_cursor, in_document=False)  # its JSON is a bare list


@command(webhook, "deliver")
@click.option("--once", is_flag=True, help="One round (for cron), then exit.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600))
@click.option("--max-attempts", default=8, show_default=True, type=click.IntRange(1, 100))
@pass_ctx
def webhook_deliver(
    ctx: Context, once: bool, interval: float, max_attempts: int, as_json: bool
) -> None:
    """Send due deliveries: turn new audit entries into deliveries, send, retry with backoff.

    `serve --webhooks` does this in the server; several processes may run it at once (each
    delivery is leased to one). Needs httpx (the `server` extra).

    \b
    Examples:
      modelrepo webhook deliver --once --json
      modelrepo webhook deliver --interval 5
    """
    with ctx.registry() as reg:
        deliverer = reg.deliverer(max_attempts=max_attempts)
        if once:
            outcome = deliverer.run_once()
            emit(
                as_json,
                outcome.to_dict(),
                lambda: click.echo(
                    f"{outcome.enqueued} new, {outcome.delivered} delivered, "
                    f"{outcome.retrying} to retry, {outcome.failed} failed"
                ),
            )
            return
        stop = threading.Event()
        try:
            deliverer.run(stop, interval=interval)
        except KeyboardInterrupt:
            stop.set()
