"""The command group, its options, and what every command shares: --json, errors, output."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..domain.errors import InvalidInput, ModelrepoError
from ..domain.names import VersionRef
from .lazy import LazyGroup

if TYPE_CHECKING:
    from ..api.types import ProgressFactory
    from ..registry import Registry

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_PIPE = 141
"""Exit status when the reader of stdout went away (`| head`): 128 + SIGPIPE, what a shell
reports for a Unix tool that SIGPIPE ended, and distinct from an error."""


class Context:
    """What the group options decide for every command."""

    def __init__(
        self,
        store: str | None,
        user: str | None,
        traceback: bool,
        database_url: str | None = None,
        blob_url: str | None = None,
    ) -> None:
        self.store = store
        self.user = user
        self.traceback = traceback
        self.database_url = database_url
        self.blob_url = blob_url
        self._opened: list[Registry] = []

    def registry(self, *, create: bool = False, group_access: bool = False) -> Registry:
        """The store the options name. Only a command that writes passes `create`: its first
        write then creates a store that does not exist yet (said on stderr when it ends)."""
        # Loaded on first use: `--help` and usage errors need no registry.
        from ..api.arguments import is_remote
        from ..registry import Registry

        if self.database_url and self.store:
            raise InvalidInput("give either --store or --database-url, not both")
        if is_remote(self.store):  # a server: the identity is $MODELREPO_TOKEN's user
            return Registry(self.store, user=self.user)
        reg = Registry(
            self.store,
            database_url=self.database_url,
            blob_url=self.blob_url,
            user=self.user,
            create=create,
            group_access=group_access,
        )
        self._opened.append(reg)
        return reg

    def note_created(self) -> None:
        """Say, once, where a store was created, so a mistyped --store is noticed at once."""
        opened, self._opened = self._opened, []
        for reg in opened:
            if reg.created_store:
                click.echo(f"note: created a new store at {reg.location}", err=True)


def end_on_closed_stdout() -> None:
    """Leave quietly when stdout's reader has gone: nothing more can be shown, and Python's
    final flush must not complain either, so stdout is pointed at /dev/null first."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no file (a test runner's buffer)
        pass
    sys.exit(EXIT_PIPE)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def command(group: click.Group, name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
    """A command with `--json`, whose expected errors become one line on stderr."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kw: Any) -> Any:
            ctx = click.get_current_context().find_object(Context)
            try:
                result = func(*args, **kw)
            except BrokenPipeError:
                end_on_closed_stdout()
            except ModelrepoError as exc:
                if ctx is not None:
                    ctx.note_created()
                    if ctx.traceback:
                        raise
                _fail(str(exc))
            except OSError as exc:
                if ctx is not None:
                    ctx.note_created()
                    if ctx.traceback:
                        raise
                where = f": {exc.filename}" if exc.filename else ""
                _fail(f"{exc.strerror or exc}{where}")
            if ctx is not None:
                ctx.note_created()
            return result

        wrapper = click.option(
            "--json", "as_json", is_flag=True, help="Print one JSON document on stdout."
        )(wrapper)
        return group.command(name, **kwargs)(wrapper)  # type: ignore[return-value]

    return decorate


def emit(as_json: bool, document: Any, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        human()


def more_notice(shown: int, next_cursor: str | None, in_document: bool) -> None:
    """Say on stderr that a list stopped at its limit, so a page never passes for the whole
    list; not when the JSON document printed carries `next_cursor` itself (`in_document`)."""
    if next_cursor is not None and not in_document:
        click.echo(
            f"note: showing {shown} of more; pass --cursor {next_cursor} for the next page, "
            "or a larger --limit",
            err=True,
        )


def write_or_print(text: str, out: os.PathLike[str] | None) -> None:
    """`text` on stdout, or into the file `out` whole or not at all (written beside it,
    synced, then renamed into place)."""
    if out is None:
        click.echo(text, nl=False)
        return
    target = os.fspath(out)
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def parse_pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=f"--{what}")
        if key in out:
            raise click.BadParameter(f"{key!r} given twice", param_hint=f"--{what}")
        out[key] = value
    return out


def parse_metrics(values: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, raw in parse_pairs(values, "metric").items():
        try:
            out[key] = float(raw)
        except ValueError:
            raise click.BadParameter(
                f"{key}={raw!r} is not a number", param_hint="--metric"
            ) from None
    return out


def resolve_ref(reg: Registry, text: str) -> VersionRef:
    """`NAME@N`, or `NAME@ENV` for the version live in ENV now."""
    model, version = reg.resolve(text)
    return VersionRef(model, version)


@contextmanager
def progress_bars(enabled: bool) -> Iterator[ProgressFactory | None]:
    """Rich progress bars on stderr, only when it is a terminal: bytes done, rate and time
    left, uploads and downloads alike; sizes in binary units (MiB), as in every summary the
    commands print."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class BinarySpeed(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            shown = "?" if speed is None else f"{human_size(int(speed))}/s"
            return Text(shown, style="progress.data.speed")

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        BinarySpeed(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bars:

        def factory(path: str, size: int) -> Callable[[int], None]:
            task = bars.add_task(path, total=size)
            return lambda n: bars.advance(task, n)

        yield factory


class _OneLine(click.ClickException):
    """A usage error (or another of click's) shown as every other error is: one line on
    stderr, `error: ...`, keeping click's exit code (2 for usage errors)."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


class _OneLineUsage(_OneLine):
    exit_code = 2


def _one_line(original: click.ClickException) -> _OneLine:
    message = original.format_message()
    where = getattr(original, "ctx", None)
    if isinstance(original, click.UsageError) and where is not None:
        message = f"{message.rstrip('.')} (see {where.command_path} --help)"
    return (_OneLineUsage if original.exit_code == 2 else _OneLine)(message)


class _Group(LazyGroup):
    """The top command group: click's own errors, wherever they arise, in the one-line form;
    its commands are imported only when run (`LazyGroup`)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _OneLine:
            raise
        except click.ClickException as exc:
            raise _one_line(exc) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    envvar="MODELREPO_STORE",
    metavar="PATH|URL",
    help="Store folder (default: ./.modelrepo, or $MODELREPO_STORE), or a server's "
    "http(s)://host:port (API token from $MODELREPO_TOKEN).",
)
@click.option(
    "--database-url",
    envvar="MODELREPO_DATABASE_URL",
    metavar="URL",
    help="PostgreSQL metadata store, e.g. postgresql://user@host/db ($MODELREPO_DATABASE_URL).",
)
@click.option(
    "--blob-url",
    envvar="MODELREPO_BLOB_URL",
    metavar="URL",
    help="Artifacts of a database store: s3://bucket/prefix or a folder ($MODELREPO_BLOB_URL).",
)
@click.option(
    "--user",
    envvar="MODELREPO_USER",
    help="Identity recorded for changes (default: $MODELREPO_USER, else the OS user).",
)
@click.option("--traceback", is_flag=True, help="Show Python tracebacks for errors.")
@click.version_option(__version__, prog_name="modelrepo")
@click.pass_context
def cli(
    ctx: click.Context,
    store: str | None,
    database_url: str | None,
    blob_url: str | None,
    user: str | None,
    traceback: bool,
) -> None:
    """modelrepo: a versioned model repository that can prove which model made a decision.

    \b
    Examples:
      modelrepo register credit-risk ./model --param C=0.5 --metric auc=0.91
      modelrepo versions credit-risk --where 'metrics.auc>=0.9'
      modelrepo show credit-risk@3 --json
      modelrepo diff credit-risk@2 credit-risk@3
    """
    ctx.obj = Context(store, user, traceback, database_url, blob_url)


pass_ctx = click.make_pass_decorator(Context)


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "pb": 10**15, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
          "pib": 1 << 50}  # fmt: skip


def byte_size(_ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """A size in bytes: `65536`, `64KiB`, `64MiB`, `1.5GiB` (powers of 1024) or `64MB`
    (powers of 1000), from 1 KiB (less refuses even the smallest request) to 1 PiB."""
    if value is None:
        return None
    found = _SIZE.fullmatch(value.strip().lower())
    if found is None or found[2] not in _UNITS:
        raise click.BadParameter(f"{value!r} is not a size such as 65536, 64MiB or 1GiB")
    size = int(float(found[1]) * _UNITS[found[2]])
    if not 1 << 10 <= size <= 1 << 50:
        raise click.BadParameter(f"{value!r} is outside 1KiB..1PiB")
    return size
