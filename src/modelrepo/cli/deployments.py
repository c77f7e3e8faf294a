"""Commands about deployments: deploy, undeploy, rollback, approvals, live, history, timeline."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..domain.deployments import (
    OBSERVE,
    Allocation,
    DeploymentEvent,
    DeploymentOutcome,
    DeploymentRequest,
    Interval,
)
from ..domain.names import ref_or_name
from ..domain.principals import who
from ..domain.times import format_time, parse_time
from .base import Context, cli, command, emit, pass_ctx


def _versions(allocations: Sequence[Allocation]) -> str:
    items = list(allocations)
    if not items:
        return "(nothing)"
    if len(items) == 1:
        return f"v{items[0].version}"
    return ", ".join(f"v{a.version} {a.weight:.0%}" for a in items)


def _outcome(outcome: DeploymentOutcome) -> None:
    if outcome.event is not None:
        e = outcome.event
        when = f" from {format_time(e.effective_at)}" if outcome.status == "scheduled" else ""
        backfill = " (backfill)" if e.backfill else ""
        click.echo(
            f"{e.model}@{e.environment}: {_versions(e.versions)} {outcome.status}{when}"
            f"{backfill} [event {e.event_id}]"
        )
    else:
        r = outcome.request
        assert r is not None
        click.echo(
            f"{r.model}@{r.environment} is protected: request {r.request_id} "
            f"({r.kind} {_versions(r.versions)}) awaits approval by another identity"
        )


def _request_line(r: DeploymentRequest) -> str:
    decided = (
        f" by {who(r.decided_by, r.decided_auth)} at {format_time(r.decided_at)}"
        if r.decided_at and r.decided_by
        else ""
    )
    return (
        f"{r.request_id:>6}  {r.status:<8}  {r.model}@{r.environment}  {r.kind} "
        f"{_versions(r.versions)}  requested by {who(r.requested_by, r.requested_auth)} at "
        f"{format_time(r.requested_at)}{decided}"
    )


def _parse_split(values: tuple[str, ...]) -> dict[int, float]:
    split: dict[int, float] = {}
    for item in values:
        version, sep, weight = item.partition("=")
        try:
            number, share = int(version), float(weight)
        except ValueError:
            raise click.BadParameter(
                f"expected VERSION=WEIGHT such as 7=0.9, got {item!r}", param_hint="--split"
            ) from None
        if not sep or number in split:
            raise click.BadParameter(f"invalid or repeated split {item!r}", param_hint="--split")
        split[number] = share
    return split


@command(cli)
@click.argument("ref", metavar="NAME@N | NAME")
@click.option("--env", required=True, help="Environment, e.g. production.")
@click.option("--split", multiple=True, metavar="N=W", help="Share traffic: version=weight.")
@click.option("--reason", help="Why (recorded; required for a past --effective-at).")
@click.option("--effective-at", metavar="ISO", help="When it took/takes effect (default: now).")
@pass_ctx
def deploy(
    ctx: Context,
    ref: str,
    env: str,
    split: tuple[str, ...],
    reason: str | None,
    effective_at: str | None,
    as_json: bool,
) -> None:
    """Make a version live in an environment, or split traffic between versions.

    A protected environment turns this into a request that another identity must approve.
    A past --effective-at records a backfill; a future one schedules the change.

    \b
    Examples:
      modelrepo deploy credit-risk@7 --env production --reason "Q3 refresh"
      modelrepo deploy credit-risk --env production --split 7=0.9 --split 8=0.1
      modelrepo deploy credit-risk@5 --env production \\
          --effective-at 2026-01-10T09:00:00Z --reason "imported from change log"
    """
    parsed = ref_or_name(ref)
    with ctx.registry() as reg:
        if split:
            if parsed is not None:
                raise click.UsageError("give NAME (not NAME@N) together with --split")
            outcome = reg.deploy_split(
                ref, _parse_split(split), env=env, reason=reason, effective_at=effective_at
            )
        else:
            if parsed is None:
                raise click.UsageError("give NAME@N, or NAME with --split N=W options")
            model, version = reg.resolve(ref)
            outcome = reg.deploy(model, version, env=env, reason=reason, effective_at=effective_at)
    emit(as_json, outcome.to_dict(), lambda: _outcome(outcome))


@command(cli)
@click.argument("name")
@click.option("--env", required=True, help="Environment.")
@click.option("--reason", help="Why (recorded).")
@click.option("--effective-at", metavar="ISO", help="When it took/takes effect (default: now).")
@pass_ctx
def undeploy(
    ctx: Context, name: str, env: str, reason: str | None, effective_at: str | None, as_json: bool
) -> None:
    """Stop serving anything from an environment.

    \b
    Example:
      modelrepo undeploy credit-risk --env canary --reason "experiment over"
    """
    with ctx.registry() as reg:
        outcome = reg.undeploy(name, env=env, reason=reason, effective_at=effective_at)
    emit(as_json, outcome.to_dict(), lambda: _outcome(outcome))


@command(cli)
@click.argument("name")
@click.option("--env", required=True, help="Environment.")
@click.option("--reason", help="Why (recorded).")
@pass_ctx
def rollback(ctx: Context, name: str, env: str, reason: str | None, as_json: bool) -> None:
    """Restore what served an environment before its current deployment.

    Repeated rollbacks walk further back; rolling back an undeploy restores what it removed.

    \b
    Example:
      modelrepo rollback credit-risk --env production --reason "AUC drop in monitoring"
    """
    with ctx.registry() as reg:
        outcome = reg.rollback(name, env=env, reason=reason)
    emit(as_json, outcome.to_dict(), lambda: _outcome(outcome))


@command(cli)
@click.argument("request_id", type=int)
@click.option("--reason", help="Why (recorded).")
@pass_ctx
def approve(ctx: Context, request_id: int, reason: str | None, as_json: bool) -> None:
    """Approve a pending request; the change takes effect. The requester cannot approve.

    \b
    Example:
      modelrepo --user bob approve 12
    """
    with ctx.registry() as reg:
        request = reg.approve(request_id, reason=reason)
    emit(as_json, request.to_dict(), lambda: click.echo(_request_line(request)))


@command(cli)
@click.argument("request_id", type=int)
@click.option("--reason", help="Why (recorded).")
@pass_ctx
def reject(ctx: Context, request_id: int, reason: str | None, as_json: bool) -> None:
    """Reject a pending request. The requester cannot reject their own request either.

    \b
    Example:
      modelrepo --user bob reject 12 --reason "validation report missing"
    """
    with ctx.registry() as reg:
        request = reg.reject(request_id, reason=reason)
    emit(as_json, request.to_dict(), lambda: click.echo(_request_line(request)))


@command(cli)
@click.argument("name", required=False)
@click.option(
    "--status", type=click.Choice(["pending", "approved", "rejected"]), help="Only these."
)
@pass_ctx
def requests(ctx: Context, name: str | None, status: str | None, as_json: bool) -> None:
    """List deployment requests, optionally of one model or status.

    \b
    Example:
      modelrepo requests credit-risk --status pending
    """
    with ctx.registry() as reg:
        found = reg.requests(name, status=status)

    def human() -> None:
        if not found:
            click.echo("No requests.")
        for r in found:
            click.echo(_request_line(r))

    emit(as_json, {"requests": [r.to_dict() for r in found]}, human)


@cli.group()
def env() -> None:
    """Environments: list them, protect them (four-eyes approval)."""


@command(env, "protect")
@click.argument("name")
@click.option("--env", "environment", required=True, help="Environment to protect.")
@click.option(
    "--require-sso",
    is_flag=True,
    help="Accept requests and approvals only from identity-provider users (single sign-on).",
)
@pass_ctx
def env_protect(
    ctx: Context, name: str, environment: str, require_sso: bool, as_json: bool
) -> None:
    """Require a second person's approval for every change to an environment.

    A request and its approval must come from two different people: never the same
    identity, a service account, or a token one of them minted for the other. With
    --require-sso, both must also be identity-provider users (on a server with
    --oidc-issuer); given to an environment already protected, it tightens it.

    \b
    Examples:
      modelrepo env protect credit-risk --env production
      modelrepo env protect credit-risk --env production --require-sso
    """
    with ctx.registry() as reg:
        found = reg.protect(name, env=environment, require_sso=require_sso)
    sso = " (single sign-on required)" if found.require_sso else ""
    emit(
        as_json,
        found.to_dict(),
        lambda: click.echo(f"{name}@{environment} is protected{sso}"),
    )


@command(env, "unprotect")
@click.argument("name")
@click.option("--env", "environment", required=True, help="Environment.")
@click.option("--reason", help="Why (recorded).")
@pass_ctx
def env_unprotect(
    ctx: Context, name: str, environment: str, reason: str | None, as_json: bool
) -> None:
    """Ask to lift protection; another identity must approve the request.

    \b
    Example:
      modelrepo env unprotect credit-risk --env staging --reason "no longer customer-facing"
    """
    with ctx.registry() as reg:
        request = reg.unprotect(name, env=environment, reason=reason)
    emit(as_json, request.to_dict(), lambda: click.echo(_request_line(request)))


@command(env, "list")
@click.argument("name")
@pass_ctx
def env_list(ctx: Context, name: str, as_json: bool) -> None:
    """List a model's environments, whether they are protected, and who changed that.

    \b
    Example:
      modelrepo env list credit-risk
    """
    with ctx.registry() as reg:
        found = reg.environments(name)

    def human() -> None:
        for e in found:
            state = "  (protected, single sign-on)" if e.require_sso else ""
            state = state or ("  (protected)" if e.protected else "")
            click.echo(f"{e.name}{state}")
            for c in e.changes:
                request = f" (request {c.request_id})" if c.request_id else ""
                click.echo(
                    f"  {c.kind} at {format_time(c.at)} by {who(c.actor, c.actor_auth)}{request}"
                )

    emit(as_json, {"model": name, "environments": [e.to_dict() for e in found]}, human)


@command(cli)
@click.argument("name")
@click.option("--env", required=True, help="Environment.")
@click.option("--at", metavar="ISO", help="The instant asked about (default: now).")
@click.option(
    "--as-known-at",
    metavar="ISO",
    help="Answer with only what the registry had recorded by then.",
)
@pass_ctx
def live(
    ctx: Context, name: str, env: str, at: str | None, as_known_at: str | None, as_json: bool
) -> None:
    """What was live in an environment at an instant, and the event that made it so.

    Where history was imported from a registry that keeps none, an instant before what it
    observed is answered "unknown before T (...)" or "unknown between S and T (...)": an
    answer, exit 0 (with --json, the "unknown" object).

    \b
    Examples:
      modelrepo live credit-risk --env production --at 2026-03-01T10:00:00Z
      modelrepo live credit-risk --env production --at 2026-03-01T10:00:00Z \\
          --as-known-at 2026-03-02T00:00:00Z
      modelrepo live "Credit Risk" --env champion
    """
    with ctx.registry() as reg:
        state = reg.live(name, env=env, at=at, as_known_at=as_known_at)

    def human() -> None:
        known = f" as known at {format_time(state.as_known_at)}" if state.as_known_at else ""
        click.echo(f"{name}@{env} at {format_time(state.at)}{known}:")
        if state.unknown is not None:  # an answer, not an error: exit 0
            click.echo(f"  {state.unknown.describe()}")
            if state.event is not None:
                e = state.event
                click.echo(f"  observed at {format_time(e.effective_at)} [event {e.event_id}]")
            return
        if not state.versions:
            click.echo("  nothing was live")
        for v in state.versions:
            click.echo(f"  v{v.version}  {v.weight:.0%}  {v.digest}")
        if state.event is not None:
            e = state.event
            approved = (
                f", approved by {who(e.approved_by, e.approved_auth)}" if e.approved_by else ""
            )
            click.echo(
                f"  since {format_time(e.effective_at)} by {who(e.actor, e.actor_auth)}{approved} "
                f"[event {e.event_id}, {e.kind}{', backfill' if e.backfill else ''}]"
            )

    emit(as_json, state.to_dict(), human)


def _event_line(e: DeploymentEvent) -> str:
    approved = f" approved by {who(e.approved_by, e.approved_auth)}" if e.approved_by else ""
    backfill = f" (backfill, recorded {format_time(e.recorded_at)})" if e.backfill else ""
    reason = f"  {e.reason}" if e.reason else ""
    bounds = ""
    if e.kind == OBSERVE:
        since = format_time(e.unknown_from) if e.unknown_from else "the beginning"
        earliest = (
            f"; serving from {format_time(e.earliest_at)} at the earliest"
            if (e.earliest_at)
            else ""
        )
        bounds = f" (unknown from {since}{earliest})"
    return (
        f"{e.event_id:>6}  {format_time(e.effective_at)}  {e.environment:<12}  {e.kind:<8}  "
        f"{_versions(e.versions):<16}  by {who(e.actor, e.actor_auth)}{approved}{backfill}{bounds}"
        f"{reason}"
    )


@command(cli)
@click.argument("name")
@click.option("--env", help="Only this environment.")
@click.option("--since", metavar="ISO", help="Effective at or after.")
@click.option("--until", metavar="ISO", help="Effective at or before.")
@pass_ctx
def history(
    ctx: Context,
    name: str,
    env: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Deployment events in the order they took effect.

    \b
    Example:
      modelrepo history credit-risk --env production --since 2026-01-01T00:00:00Z
    """
    with ctx.registry() as reg:
        events = reg.history(name, env=env, since=since, until=until)

    def human() -> None:
        if not events:
            click.echo("No deployments.")
        for e in events:
            click.echo(_event_line(e))

    emit(as_json, {"model": name, "events": [e.to_dict() for e in events]}, human)


def _interval_line(i: Interval) -> str:
    end = format_time(i.end) if i.end else "now"
    if i.unknown is not None:
        start = format_time(i.start) if i.start else "the beginning"
        return f"{i.environment:<12}  {start:<27} -> {end:<27}  {i.unknown.describe()}"
    assert i.start is not None  # only an unknown stretch runs from the beginning of time
    marks = " (backfill)" if i.event.backfill else ""
    marks += f" approved by {i.event.approved_by}" if i.event.approved_by else ""
    return (
        f"{i.environment:<12}  {format_time(i.start)} -> {end:<27}  {_versions(i.versions)}{marks}"
    )


@command(cli)
@click.argument("ref", metavar="NAME | NAME@N")
@click.option("--env", help="Only this environment.")
@click.option("--as-known-at", metavar="ISO", help="As the registry knew it then.")
@pass_ctx
def timeline(
    ctx: Context, ref: str, env: str | None, as_known_at: str | None, as_json: bool
) -> None:
    """Intervals of what served where; with NAME@N, where that version was ever live.

    \b
    Examples:
      modelrepo timeline credit-risk --env production
      modelrepo timeline credit-risk@7
    """
    parsed = ref_or_name(ref)
    with ctx.registry() as reg:
        name = parsed.model if parsed else ref
        version = None
        if parsed is not None:
            name, version = reg.resolve(ref)
        intervals = reg.timeline(name, env=env, version=version, as_known_at=as_known_at)

    def human() -> None:
        if not intervals:
            click.echo("Never live." if version else "No deployments.")
        for i in intervals:
            click.echo(_interval_line(i))

    emit(
        as_json,
        {
            "model": name,
            "version": version,
            "as_known_at": format_time(parse_time(as_known_at)) if as_known_at else None,
            "intervals": [i.to_dict() for i in intervals],
        },
        human,
    )


@command(cli)
@click.argument("name")
@click.option("--env", required=True, help="Environment.")
@click.option("--at", metavar="ISO", help="The instant asked about (default: now).")
@click.option(
    "--ttl", type=float, default=300.0, show_default=True, help="Seconds of silence to age out."
)
@pass_ctx
def serving(ctx: Context, name: str, env: str, at: str | None, ttl: float, as_json: bool) -> None:
    """What was actually serving (reported by the instances), next to what the deployment
    history says should have; drift is listed with its times.

    \b
    Example:
      modelrepo serving credit-risk --env production --at 2026-03-01T10:00:00Z
    """
    with ctx.registry() as reg:
        report = reg.serving(name, env=env, at=at, ttl=ttl)

    def human() -> None:
        expected = ", ".join(f"v{v}" for v in report["expected"]) or "nothing"
        click.echo(f"{name}@{env} at {report['at']}: the history says {expected}")
        for s in report["serving"]:
            mark = "  DRIFT" if s["drift"] else ""
            click.echo(f"  {s['instance_id']} on {s['host']}: v{s['version']} since {s['since']}"
                       f"{mark}")  # fmt: skip
        for s in report["aged_out"]:
            click.echo(f"  {s['instance_id']}: silent since {s['last_seen']} (aged out)")
        for d in report["drift"]:
            click.echo(f"  drift: {d['instance_id']} served v{d['version']} from {d['from']} to "
                       f"{d['to']} while the history had "
                       f"{', '.join(f'v{v}' for v in d['expected']) or 'nothing'}")  # fmt: skip

    emit(as_json, report, human)
