"""Subcommands loaded on first use, as in Click's "Lazily Loading Subcommands" pattern.

Each command module costs imports (and the registry's, when it opens a store); `modelrepo
live` needs none but its own. `--help` lists every command from the table below, so listing
them imports none: a test keeps the table equal to the commands themselves.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": (
        ("deployments",),
        "Approve a pending request; the change takes effect.",
    ),
    "attest": (
        ("signing",),
        "Print the SLSA provenance of version NAME@N, built from its recorded lineage.",
    ),
    "audit": (
        ("audit",),
        "The tamper-evident audit log: signed checkpoints, verification and proofs.",
    ),
    "decision": (
        ("decisions", "replay"),
        "One decision: why it was made, by which version, deployed and approved by whom.",
    ),
    "decisions": (
        ("decisions",),
        "Decisions of a model: list, import, input policy.",
    ),
    "delete": (
        ("versions",),
        "Delete a version: its record stays as evidence, `gc` reclaims its files.",
    ),
    "deploy": (
        ("deployments",),
        "Make a version live in an environment, or split traffic between versions.",
    ),
    "deprecate": (
        ("versions",),
        "Flag a version as deprecated, or lift the flag with --undo.",
    ),
    "describe": (
        ("versions",),
        ("Replace the description of model NAME (recorded with who and when; '' clears it)."),
    ),
    "diff": (
        ("versions",),
        "Compare two versions: metadata, params, metrics, files, and text diffs.",
    ),
    "download": (
        ("versions",),
        "Write the files of version NAME@N into DEST, verifying every byte.",
    ),
    "env": (
        ("deployments",),
        "Environments: list them, protect them (four-eyes approval).",
    ),
    "export": (
        ("export_git",),
        (
            "Export models, versions and deployment history as sorted, stable JSON into a Git"
            " repository, and commit what changed."
        ),
    ),
    "fsck": (
        ("versions",),
        (
            "Check every stored file against its digest; report missing, corrupt and orphaned"
            " blobs, and files or folders of the store folder more open than the store "
            "allows."
        ),
    ),
    "gc": (
        ("versions",),
        "Remove blobs no version needs and abandoned uploads.",
    ),
    "history": (
        ("deployments",),
        "Deployment events in the order they took effect.",
    ),
    "import": (
        ("imports",),
        "Import versions and deployment history from other registries.",
    ),
    "init": (
        ("versions",),
        (
            "Create the store (SQLite + blob folder, or the schema in PostgreSQL) if it does "
            "not exist yet."
        ),
    ),
    "live": (
        ("deployments",),
        "What was live in an environment at an instant, and the event that made it so.",
    ),
    "login": (
        ("login",),
        "Sign in to a server through its identity provider (OpenID Connect).",
    ),
    "logout": (
        ("login",),
        "Forget this machine's sign-in to a server (`modelrepo login`).",
    ),
    "migrate": (
        ("transfer",),
        ("Copy the embedded store (--store) into PostgreSQL + S3, keeping everything as it is."),
    ),
    "model": (
        ("model",),
        "Show model NAME: its versions, description, tags and the changes to them.",
    ),
    "models": (
        ("versions",),
        "List models.",
    ),
    "record-deleted": (
        ("versions",),
        (
            "Record version N of NAME as deleted, with no files: a tombstone for a version "
            "another registry deleted before its history came here, so the number stays taken."
        ),
    ),
    "register": (
        ("versions",),
        "Register the file or folder PATH as the next version of model NAME.",
    ),
    "reject": (
        ("deployments",),
        "Reject a pending request.",
    ),
    "report": (
        ("reports",),
        "Evidence reports: self-contained HTML (and JSON) that open offline.",
    ),
    "requests": (
        ("deployments",),
        "List deployment requests, optionally of one model or status.",
    ),
    "role": (
        ("roles",),
        (
            "Role bindings: the roles and model scopes of identity-provider users, who carry "
            "no API token."
        ),
    ),
    "rollback": (
        ("deployments",),
        "Restore what served an environment before its current deployment.",
    ),
    "serve": (
        ("server",),
        (
            "Serve the store over HTTP: the JSON API under /api/v1, docs at /docs, the web UI "
            "at /ui/ (and /), and MLflow's model registry API under /api/2.0/mlflow for "
            "unmodified MLflow clients."
        ),
    ),
    "serving": (
        ("deployments",),
        (
            "What was actually serving (reported by the instances), next to what the "
            "deployment history says should have; drift is listed with its times."
        ),
    ),
    "show": (
        ("versions",),
        "Show everything recorded about one version.",
    ),
    "tag": (
        ("versions",),
        (
            "Set a tag on a version, or with a bare NAME on the model itself (recorded with "
            "who and when)."
        ),
    ),
    "timeline": (
        ("deployments",),
        "Intervals of what served where; with NAME@N, where that version was ever live.",
    ),
    "sign": (
        ("signing",),
        "Sign NAME@N's files and provenance with the store's key or a trusted key file.",
    ),
    "signing": (
        ("signing",),
        "Signed versions: the keys trusted to sign them, and where signing is required.",
    ),
    "token": (
        ("server",),
        ("API tokens of the server: stored only as hashes, each with a role and a model scope."),
    ),
    "trust": (
        ("versions",),
        "Trust types a version's files need to load, recorded with the version.",
    ),
    "undeploy": (
        ("deployments",),
        "Stop serving anything from an environment.",
    ),
    "untag": (
        ("versions",),
        (
            "Remove a tag from a version, or with a bare NAME from the model itself (the "
            "removal is recorded)."
        ),
    ),
    "versions": (
        ("versions",),
        "List the versions of model NAME, oldest first, optionally filtered.",
    ),
    "webhook": (
        ("webhooks",),
        "Webhooks: signed notifications of registrations, deployments, approvals.",
    ),
}
"""Top-level command name: (the modules of `modelrepo.cli` that define it and its
subcommands, its short help: the first sentence of its help)."""


class LazyGroup(click.Group):
    """A group whose commands in `COMMANDS` are imported only when one of them is run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            # Even when registered already: `decisions.py` defines the `decision` group,
            # whose `replay` subcommand comes from `replay.py` (an import is a lookup then).
            load(cmd_name)
        elif cmd_name not in self.commands:  # a typo: Click suggests from the commands held
            load_all()
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's own listing, but from the table for commands not loaded yet: a stand-in
        with the same first sentence gives the same short help at every width."""
        commands: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:
                command = click.Command(name, help=COMMANDS[name][1])
            if not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def load(cmd_name: str) -> None:
    """Import the modules that define command `cmd_name`; each registers its commands."""
    for module in COMMANDS[cmd_name][0]:
        importlib.import_module(f"{__package__}.{module}")


def load_all() -> None:
    """Import every command module (for tools that walk the whole command tree)."""
    for name in COMMANDS:
        load(name)
