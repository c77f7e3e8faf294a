"""Commands about signed versions: sign, attest, and the trusted keys and signing policies
(`modelrepo signing ...`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..domain.attestations import ENVIRONMENT, MODEL_SCOPE, STORE, SigningKey, SigningPolicy
from ..domain.errors import InvalidInput
from ..domain.times import format_time
from .base import Context, cli, command, emit, pass_ctx, resolve_ref, write_or_print

SHOWN_ID = 16
"""Characters of a key id shown (its SHA-256 in hex); commands take any unique prefix of 8
or more."""


def _key_line(key: SigningKey) -> str:
    state = "active"
    if key.revoked_at is not None:
        state = f"revoked {format_time(key.revoked_at)} by {key.revoked_by} ({key.revoked_reason})"
    return (
        f"{key.key_id[:SHOWN_ID]}  {key.label:<28} added {format_time(key.added_at)} by "
        f"{key.added_by}  {state}"
    )


def _policy_line(policy: SigningPolicy) -> str:
    scope = policy.scope if policy.scope == STORE else f"{policy.scope} {policy.name}"
    keys = ""
    if policy.keys:
        keys = f"  keys {', '.join(k[:SHOWN_ID] for k in policy.keys)}"
    return (
        f"{scope:<32} {'on' if policy.enabled else 'off':<4} set {format_time(policy.set_at)} "
        f"by {policy.set_by}{keys}"
    )


def _password(variable: str | None) -> bytes | None:
    """The key file's password from the environment (never from the command line, where
    other users of the machine may read it)."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise InvalidInput(f"${variable} is not set: it should hold the key file's password")
    return value.encode()


@command(cli)
@click.argument("ref", metavar="NAME@N")
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A PEM private key (EC P-256/384/521) whose public key is trusted (default: the "
    "store's own key).",
)
@click.option(
    "--key-password-env",
    metavar="VAR",
    help="The environment variable holding the --key file's password.",
)
@click.option("--reason", help="Why it is signed (recorded in the audit trail).")
@pass_ctx
def sign(
    ctx: Context,
    ref: str,
    key_file: Path | None,
    key_password_env: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Sign NAME@N's files and provenance with the store's key or a trusted key file.

    The files in the OpenSSF model-signing format (what the stock `model_signing` tool
    verifies), the provenance as SLSA v1 (`modelrepo attest`). With the store's own key by
    default (trusted on its first use), or with --key, a private key whose public key was
    trusted first (`modelrepo signing trust`); that key never leaves this process. Signing
    again with the same key adds nothing.

    \b
    Examples:
      modelrepo sign credit-risk@3 --reason "validated by model risk"
      MODELREPO_KEY_PASSWORD=... modelrepo sign credit-risk@3 --key team.pem \\
          --key-password-env MODELREPO_KEY_PASSWORD
    """
    if key_password_env is not None and key_file is None:
        raise click.UsageError("--key-password-env is the password of a --key file")
    password = _password(key_password_env)
    with ctx.registry() as reg:
        parsed = resolve_ref(reg, ref)
        signed = reg.sign(
            parsed.model, parsed.version, key_file=key_file, key_password=password, reason=reason
        )
        key_id = signed[0].key_id if signed else ""
        label = next((k.label for k in reg.signing_keys() if k.key_id == key_id), "")
    kinds = [s.kind for s in signed]
    emit(
        as_json,
        {
            "model": parsed.model,
            "version": parsed.version,
            "key_id": key_id,
            "label": label,
            "signatures": [s.to_dict() for s in signed],
        },
        lambda: click.echo(
            f"Signed {parsed.model}@{parsed.version} with key {key_id[:SHOWN_ID]} ({label}): "
            f"{', '.join(kinds)}"
        ),
    )


@command(cli)
@click.argument("ref", metavar="NAME@N")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@click.option(
    "--signed",
    is_flag=True,
    help="The signed provenance (a Sigstore bundle) by a trusted, unrevoked key instead.",
)
@pass_ctx
def attest(ctx: Context, ref: str, out: Path | None, signed: bool, as_json: bool) -> None:
    """Print the SLSA provenance of version NAME@N, built from its recorded lineage.

    An in-toto statement whose subjects are its files and whose dependencies are its
    recorded data and code, with the digests recorded at registration.

    --signed gives the provenance signed by a trusted, unrevoked key (checked here), as a
    Sigstore bundle; an error when the version has none (sign it with `modelrepo sign`).

    \b
    Examples:
      modelrepo attest credit-risk@3 > credit-risk-3.provenance.json
      modelrepo attest credit-risk@3 --signed --out credit-risk-3.provenance.sigstore.json
    """
    with ctx.registry() as reg:
        parsed = resolve_ref(reg, ref)
        if signed:
            from ..loading import signed_provenance

            text = signed_provenance(reg, reg.get(parsed.model, parsed.version)).bundle
        else:
            statement = reg.provenance(parsed.model, parsed.version)
            text = json.dumps(statement, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_or_print(text, out)
    if out is None:
        return
    what = "Signed provenance" if signed else "Provenance"
    emit(
        as_json,
        {"model": parsed.model, "version": parsed.version, "signed": signed, "path": str(out)},
        lambda: click.echo(f"{what} of {parsed.model}@{parsed.version} written to {out}"),
    )


@cli.group()
def signing() -> None:
    """Signed versions: the keys trusted to sign them, and where signing is required."""


@command(signing, "keys")
@pass_ctx
def signing_keys(ctx: Context, as_json: bool) -> None:
    """List the public keys trusted to sign versions, revoked ones too.

    \b
    Example:
      modelrepo signing keys --json
    """
    with ctx.registry() as reg:
        keys = reg.signing_keys()
    emit(
        as_json,
        [k.to_dict() for k in keys],
        lambda: click.echo("\n".join(_key_line(k) for k in keys) or "no trusted signing keys"),
    )


@command(signing, "trust")
@click.argument("public_key", metavar="PUBLIC.pem", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--label", required=True, help="Whose key it is (shown with its signatures).")
@pass_ctx
def signing_trust(ctx: Context, public_key: Path, label: str, as_json: bool) -> None:
    """Trust the EC public key in PUBLIC.pem (P-256, P-384, P-521) to sign versions.

    Its signatures then count: those `modelrepo sign --key` makes with the private key, and
    those made elsewhere (e.g. by the stock `model_signing sign key`). Recorded in the audit
    trail. A revoked key is never trusted again.

    \b
    Example:
      modelrepo signing trust ml-platform.pub.pem --label "ML platform CI"
    """
    pem = public_key.read_text(encoding="utf-8")
    with ctx.registry() as reg:
        key = reg.trust_signing_key(pem, label=label)
    emit(
        as_json,
        key.to_dict(),
        lambda: click.echo(f"trusted key {key.key_id[:SHOWN_ID]} ({key.label})"),
    )


@command(signing, "revoke")
@click.argument("key_id")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@pass_ctx
def signing_revoke(ctx: Context, key_id: str, reason: str, as_json: bool) -> None:
    """Withdraw trust in signing key KEY_ID (8 or more characters of its id) for good: the
    signatures it made no longer count either.

    \b
    Example:
      modelrepo signing revoke 3f9a1c0b7d2e4a51 --reason "laptop stolen"
    """
    with ctx.registry() as reg:
        key = reg.revoke_signing_key(key_id, reason=reason)
    emit(
        as_json,
        key.to_dict(),
        lambda: click.echo(f"revoked key {key.key_id[:SHOWN_ID]} ({key.label}): {reason}"),
    )


@command(signing, "rotate")
@pass_ctx
def signing_rotate(ctx: Context, as_json: bool) -> None:
    """Give the store a new version key, trusted from now on.

    The old key stays trusted for the signatures it made until revoked
    (`modelrepo signing revoke`).

    \b
    Example:
      modelrepo signing rotate
    """
    with ctx.registry() as reg:
        key = reg.rotate_signing_key()
    emit(
        as_json,
        key.to_dict(),
        lambda: click.echo(f"the store's version key is now {key.key_id[:SHOWN_ID]}"),
    )


@command(signing, "store-key")
@pass_ctx
def signing_store_key(ctx: Context, as_json: bool) -> None:
    """Print the public key (PEM) of the store's own version key, trusting it on first use.

    Give it to whoever checks signatures with the stock tool:
    `model_signing verify key FOLDER --signature FOLDER/model.sig --public_key store.pem`.

    \b
    Example:
      modelrepo signing store-key > store.pem
    """
    with ctx.registry() as reg:
        key = reg.store_signing_key()
    emit(as_json, key.to_dict(), lambda: click.echo(key.public_pem, nl=False))


@command(signing, "policy")
@click.option("--store", "store_wide", is_flag=True, help="Sign every new version.")
@click.option("--model", metavar="NAME", help="Sign the new versions of model NAME.")
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    help="Deploy only versions signed by a trusted key to environments named NAME.",
)
@click.option("--on/--off", "enabled", default=None, help="Turn the policy on or off.")
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="KEY_ID",
    help="With --env: accept only signatures by this trusted key (its id, or 8 or more of its "
    "first characters); repeatable. Default: any trusted key.",
)
@pass_ctx
def signing_policy(
    ctx: Context,
    store_wide: bool,
    model: str | None,
    environment: str | None,
    enabled: bool | None,
    keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """Turn a signing policy on or off: for the whole store, one model, or one environment.

    --store and --model sign versions as they are registered (a model's policy overrides the
    store's); --env refuses to deploy, roll back to or approve a version without a valid
    model signature (by one of the --key keys, when given), and makes `load` of what is live
    there check the signature. Setting a policy again replaces it. Audited.

    \b
    Examples:
      modelrepo signing policy --env production --on
      modelrepo signing policy --env production --on --key 3f9a1c0b7d2e4a51
      modelrepo signing policy --model credit-risk --on
      modelrepo signing policy --store --off
    """
    scopes = [
        (scope, name)
        for scope, name, given in (
            (STORE, "", store_wide),
            (MODEL_SCOPE, model or "", model is not None),
            (ENVIRONMENT, environment or "", environment is not None),
        )
        if given
    ]
    if len(scopes) != 1:
        raise click.UsageError("give one of --store, --model NAME, --env NAME")
    if enabled is None:
        raise click.UsageError("give --on or --off")
    scope, name = scopes[0]
    with ctx.registry() as reg:
        policy = reg.set_signing_policy(scope, name, enabled=enabled, keys=keys)
    emit(as_json, policy.to_dict(), lambda: click.echo(_policy_line(policy)))


@command(signing, "policies")
@pass_ctx
def signing_policies(ctx: Context, as_json: bool) -> None:
    """List the signing policies set, on and off, with who set them and when.

    \b
    Example:
      modelrepo signing policies
    """
    with ctx.registry() as reg:
        policies = reg.signing_policies()
    emit(
        as_json,
        [p.to_dict() for p in policies],
        lambda: click.echo(
            "\n".join(_policy_line(p) for p in policies) or "no signing policies set"
        ),
    )
