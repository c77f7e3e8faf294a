"""The audit log's pure parts: entries, the Merkle tree over them, proofs (RFC 9162).

Every mutation of the store appends one entry, in the same transaction as the mutation. An
entry is canonical JSON (sorted keys, no whitespace, UTF-8) of
`{"seq", "at", "actor", "kind", "subject", "change", "store"}`; its leaf hash is
SHA-256(0x00 || entry). The tree is stored as the hashes of its *perfect* subtrees (level L,
index i covers leaves [i*2^L, (i+1)*2^L)), so roots and proofs for any size need O(log^2 n)
lookups and appending a leaf adds one node per subtree it completes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..verifier import EMPTY_ROOT, CompactRange, leaf_hash, node_hash
from .canonical import canonical_bytes, canonical_string, canonical_text
from .decisions import DecisionColumns
from .deployments import DeploymentEvent, DeploymentRequest, EnvironmentChange, allocations_json
from .model import ModelVersion
from .principals import Authentication, auth_dict
from .times import format_time, from_micros, to_micros

NodeLookup = Callable[[int, int], bytes]
"""(level, index) -> the hash of that perfect subtree."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded mutation, as it was hashed into the log."""

    seq: int
    at: datetime
    actor: str
    kind: str
    subject: str
    change: Mapping[str, Any]
    store: str

    def document(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": format_time(self.at),
            "actor": self.actor,
            "kind": self.kind,
            "subject": self.subject,
            "change": dict(self.change),
            "store": self.store,
        }

    def canonical(self) -> bytes:
        """`canonical_bytes(self.document())`, its members laid out in their sorted order (a
        test pins the two): the encoder then sorts and writes only the change, not the same
        seven keys around it for every entry."""
        change = self.change
        return (
            _ENTRY
            % (
                canonical_string(self.actor),
                format_time(self.at),
                canonical_text(change if change.__class__ is dict else dict(change)),
                canonical_string(self.kind),
                self.seq,
                canonical_string(self.store),
                canonical_string(self.subject),
            )
        ).encode()

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical())


_ENTRY = '{"actor":%s,"at":"%s","change":%s,"kind":%s,"seq":%d,"store":%s,"subject":%s}'
"""An entry's members in sorted order; `at` is `format_time` text, which needs no escaping."""


def node_position(level: int, index: int) -> int:
    """The in-order position of perfect subtree (level, index): leaves at even positions,
    and every node completed by an append lies after all earlier ones but its left part."""
    return (index << (level + 1)) + (1 << level) - 1


class EntryColumns:
    """Whether the columns kept beside an entry (`seq`, `at`, `kind`, `subject`: what queries
    select entries by) say what its hashed bytes say, read off the bytes without parsing them.

    In an entry's canonical JSON the keys are sorted: it starts with the actor, then `"at"`,
    and ends `,"kind":K,"seq":N,"store":S,"subject":J}`. Inside a JSON string every quote is
    escaped, so `,"at":"` and that ending occur only where those members are."""

    def __init__(self, store: str) -> None:
        self._store = canonical_bytes(store)
        self._endings: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self._second = -1
        self._prefix = b""

    def _ending(self, kind: str, subject: str) -> tuple[bytes, bytes]:
        """The ending of an entry of `kind` about `subject`, either side of its seq."""
        found = self._endings.get((kind, subject))
        if found is None:
            if len(self._endings) > 100_000:
                self._endings.clear()
            found = self._endings[(kind, subject)] = (
                b',"kind":' + canonical_bytes(kind) + b',"seq":',
                b',"store":' + self._store + b',"subject":' + canonical_bytes(subject) + b"}",
            )
        return found

    def _time(self, at: int) -> bytes:
        """`format_time` of an instant in microseconds, its date and second made once."""
        second, micros = divmod(at, 1_000_000)
        if second != self._second:
            self._second = second
            self._prefix = format_time(from_micros(second * 1_000_000))[:19].encode()
        return self._prefix + b".%06dZ" % micros

    def differ(self, body: bytes, seq: int, at: int, kind: str, subject: str) -> list[str] | None:
        """The names of the columns that differ from the entry; None if it cannot be read."""
        ending = self._endings.get((kind, subject)) or self._ending(kind, subject)
        before, after = ending
        second, micros = divmod(at, 1_000_000)
        if second != self._second:
            self._time(at)
        start = body.find(b',"at":"') + 7
        if (
            start > 7
            and body.endswith(after)
            and body.endswith(before + b"%d" % seq, 0, len(body) - len(after))
            and body.startswith(self._prefix + b'.%06dZ","change":' % micros, start)
        ):
            return []
        return _columns_differ(body, seq, at, kind, subject)


def _columns_differ(body: bytes, seq: int, at: int, kind: str, subject: str) -> list[str] | None:
    """`EntryColumns.differ` the slow way, to name what differs (or that nothing does)."""
    import json

    try:
        entry = json.loads(body)
        return [
            name
            for name, column, hashed in (
                ("seq", seq, entry["seq"]),
                ("at", format_time(from_micros(at)), entry["at"]),
                ("kind", kind, entry["kind"]),
                ("subject", subject, entry["subject"]),
            )
            if column != hashed
        ]
    except (ValueError, KeyError, TypeError):
        return None


def node_at(position: int) -> tuple[int, int, int]:
    """(level, index, seq of the entry whose append stored it) of the node at an in-order
    position (level 0: a leaf's position, where no interior node belongs)."""
    low = (position + 1) & -(position + 1)
    level = low.bit_length() - 1
    index = position >> (level + 1)
    return level, index, (index + 1) << level


class TreeRebuild(CompactRange):
    """The tree rebuilt from leaf hashes, handing back the interior nodes each append
    completes as (position, hash): what a store must hold in its tree."""

    @classmethod
    def resumed(cls, size: int, subtrees: Sequence[bytes]) -> TreeRebuild:
        """The tree of `size` leaves, given its right frontier (see `read_frontier`): all an
        append needs to know of the past."""
        tree = cls()
        tree._stack = list(subtrees)
        tree.size = size
        return tree

    def append_nodes(self, leaf: bytes) -> list[tuple[int, bytes]]:
        # The hot loop of verification: `node_position` inlined.
        stack = self._stack
        index, level, current = self.size, 0, leaf
        made = []
        while index & 1:
            current = node_hash(stack.pop(), current)
            level += 1
            index >>= 1
            made.append(((index << (level + 1)) + (1 << level) - 1, current))
        stack.append(current)
        self.size += 1
        return made


def new_nodes(index: int, leaf: bytes, lookup: NodeLookup) -> list[tuple[int, int, bytes]]:
    """Nodes to store when leaf `index` (0-based) is appended: the leaf, and every perfect
    subtree it completes, e.g. leaf 3 completes (1, 1) and (2, 0)."""
    nodes = [(0, index, leaf)]
    level, position, current = 0, index, leaf
    while position & 1:
        left = lookup(level, position - 1)
        current = node_hash(left, current)
        level += 1
        position >>= 1
        nodes.append((level, position, current))
    return nodes


def read_frontier(size: int, lookup: NodeLookup) -> tuple[bytes, ...]:
    """The right frontier of a tree of `size` leaves, read through `lookup`: the perfect
    subtrees whose concatenation it is (one per set bit of `size`), largest first."""
    found = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            found.append(lookup(level, start >> level))
            start += 1 << level
    return tuple(found)


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(start: int, end: int, lookup: NodeLookup) -> bytes:
    """MTH of leaves [start, end), from stored perfect subtrees."""
    if end <= start:
        return EMPTY_ROOT
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:
        return lookup(width.bit_length() - 1, start // width)
    k = _largest_power_of_two_below(width)
    return node_hash(subtree_hash(start, start + k, lookup), subtree_hash(start + k, end, lookup))


def root_hash(size: int, lookup: NodeLookup) -> bytes:
    return subtree_hash(0, size, lookup)


def inclusion_proof(index: int, size: int, lookup: NodeLookup) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(index, D[size])."""
    if not 0 <= index < size:
        raise ValueError(f"entry index {index} is outside a log of size {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if m < k:
            path.append(subtree_hash(start + k, end, lookup))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, lookup))
            start, m = start + k, m - k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, lookup: NodeLookup) -> list[bytes]:
    """RFC 9162 2.1.4.1 PROOF(old_size, D[new_size])."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot prove size {old_size} against size {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    path: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        if m == end - start:
            if not complete:
                path.append(subtree_hash(start, end, lookup))
            break
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            path.append(subtree_hash(start + k, end, lookup))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, lookup))
            start, m, complete = start + k, m - k, False
    path.reverse()
    return path


MANY_MODELS = "models"
"""The subject of an entry about several models at once (a bulk import of deployments,
`models:a,b`; a batch of decisions across models, `models`): its body lists them."""


def entries_of_subject(
    subject: str,
    exact: list[tuple[int, bytes]],
    shared: Iterable[tuple[int, str, bytes]],
) -> list[tuple[int, bytes]]:
    """The entries about `subject`, in log order: those filed under it, and, for a model,
    those filed under several models (`shared`: seq, subject, body) whose body names it, so
    that a model's record misses no bulk change that touched it."""
    if not subject.startswith("model:"):
        return exact
    name = subject.removeprefix("model:")
    found = list(exact)
    for seq, filed, body in shared:
        if filed != MANY_MODELS and not filed.startswith(MANY_MODELS + ":"):
            continue
        try:
            models = json.loads(body).get("change", {}).get("models", ())
        except (ValueError, AttributeError):
            continue  # a damaged body: `audit verify` names it
        if isinstance(models, list) and name in models:
            found.append((seq, body))
    return sorted(found)


def rows_digest(rows: list[tuple[Any, ...]]) -> str:
    """SHA-256 over one line per row: each field as `<length>:<text>` (None as `~`), joined
    by `;`, ending in a newline: unambiguous, and cheap for batches of millions."""
    import hashlib

    lines = [
        ";".join(["~" if v is None else f"{len(t)}:{t}" for v in row for t in (str(v),)])
        for row in rows
    ]
    return hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()


def import_row(
    model: str,
    environment: str,
    kind: str,
    versions: str,
    effective_at: int,
    recorded_at: int,
    actor: str,
    reason: str | None,
    unknown_from: int | None = None,
    earliest_at: int | None = None,
) -> tuple[Any, ...]:
    """One row of an imported batch's digest (instants in microseconds): an observation's
    row also carries its `unknown_from` and `earliest_at` (so does any row where either is
    set: a value written into another kind's row changes the digest); other rows are as they
    always were, so batches imported before observations existed still verify."""
    row = (model, environment, kind, versions, effective_at, recorded_at, actor, reason)
    if kind == "observe" or unknown_from is not None or earliest_at is not None:
        return (*row, unknown_from, earliest_at)
    return row


def event_import_row(e: DeploymentEvent, model: str | None = None) -> tuple[Any, ...]:
    """The row of a stored event in its import batch's digest (`model`: the model's name
    when the batch was recorded, if it was renamed since)."""
    return import_row(
        e.model if model is None else model,
        e.environment,
        e.kind,
        allocations_json(e.versions),
        to_micros(e.effective_at),
        to_micros(e.recorded_at),
        e.actor,
        e.reason,
        None if e.unknown_from is None else to_micros(e.unknown_from),
        None if e.earliest_at is None else to_micros(e.earliest_at),
    )


def import_batch_change(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The audit change of an imported batch of deployments: what, how many, and a digest.

    Each row is `import_row(...)`, the same on every store. `environments` (the
    environments the batch made or used) is absent from entries written before it was added.
    """
    return {
        "models": sorted({r[0] for r in rows}),
        "environments": [list(pair) for pair in sorted({(r[0], r[1]) for r in rows})],
        "count": len(rows),
        "recorded_from": rows[0][5],
        "recorded_to": rows[-1][5],
        "rows_sha256": rows_digest(rows),
    }


def decisions_change(columns: DecisionColumns) -> dict[str, Any]:
    """The audit change of a batch of decisions: its models, count, first and last ids, and
    the digest of its rows (see `DecisionsDigest`; `rows` names the digest's layout)."""
    c = columns
    digest = DecisionsDigest()
    digest.update(
        c.decision_ids, c.models, c.environments, c.versions, c.decided_at, c.inputs_digests,
        c.outputs, c.metadata, c.flags,
    )  # fmt: skip
    one = bool(c.models) and c.models.count(c.models[0]) == len(c)
    return {
        "models": c.models[:1] if one else sorted(set(c.models)),
        "count": len(c),
        "first": c.decision_ids[0],
        "last": c.decision_ids[-1],
        "rows": DECISION_ROWS_LAYOUT,
        "rows_sha256": digest.hexdigest(),
    }


DECISION_ROWS_LAYOUT = 2
"""The layout of the rows a new batch's digest covers: 2 adds each decision's metadata and
flags to the seven columns of layout 1 (entries without `rows`), which stay checked as they
were hashed."""


DecisionRow = tuple[str, str, str | None, int, int, str, str, str, str, int, int | None]
"""One decision as a store reads it back for verification: (decision_id, model, environment,
version, decided_at in microseconds, inputs_digest, output, metadata, flags (the last three as
canonical JSON text), recorded_at, inputs_purged_at or None). The first seven are the rows of
digest layout 1, the first nine those of layout 2; the two instants are checked against the
batch's entry and the purges' entries."""


class DecisionsDigest:
    """The `rows_sha256` of a batch of decisions: the one of `rows_digest` over the rows
    `(decision_id, model, environment, version, decided_at, inputs_digest, output JSON)` (layout
    1), followed by `metadata JSON, flags JSON` (layout 2, given both columns),
    spelled out column-wise because batches run to millions, and fed a run of rows at a time
    (all at once when a batch is recorded, a page at a time when verification reads it back).
    The stored inputs are not in it, only their digest: a retention purge leaves it whole."""

    def __init__(self, layout: int = DECISION_ROWS_LAYOUT) -> None:
        import hashlib

        self._sha = hashlib.sha256()
        self.count = 0
        self.layout = layout

    def update(
        self,
        decision_ids: Sequence[str],
        models: Sequence[str],
        environments: Sequence[str | None],
        versions: Sequence[int],
        decided_at: Sequence[int],
        inputs_digests: Sequence[str],
        outputs: Sequence[str],
        metadata: Sequence[str] = (),
        flags: Sequence[str] = (),
    ) -> None:
        """Add the next rows, given column by column (instants in microseconds, outputs,
        metadata and flags as their canonical JSON text; the last two for layout 2 only)."""
        count = len(decision_ids)
        times = list(map(str, decided_at))
        # Each line is `<len>:id;<len>:model;<len>:environment (~ for none);<len>:version;
        # <len>:time;<len>:digest;<len>:output\n` (layout 2: then `;<len>:metadata;<len>:flags`):
        # eight pieces per decision (twelve in layout 2), laid side by side
        # and joined a few thousand lines at a time (text that stays in the CPU's cache while
        # it is hashed). Every piece that holds a length is looked up by that length, and the
        # model, environment and version (usually one for the batch) are spelled out once per
        # distinct value: nothing is formatted per decision.
        if count and (
            models.count(models[0]) == count
            and environments.count(environments[0]) == count
            and versions.count(versions[0]) == count
        ):
            head = _decision_head(models[0], environments[0], versions[0])
            before_times: str | Sequence[str] = _length_prefixes(times, ";" + head)
        else:
            cache: dict[tuple[Any, ...], str] = {}
            heads = [
                cache.get(key) or cache.setdefault(key, ";" + _decision_head(*key))
                for key in zip(models, environments, versions, strict=True)
            ]
            lengths = _length_prefixes(times, "")
            if isinstance(lengths, str):
                before_times = [h + lengths for h in heads]
            else:
                before_times = list(map(str.__add__, heads, lengths))
        pieces: list[str | Sequence[str]] = [
            _length_prefixes(decision_ids, "\n"), decision_ids, before_times, times,
            _length_prefixes(inputs_digests, ";"), inputs_digests,
            _length_prefixes(outputs, ";"), outputs,
        ]  # fmt: skip
        if self.layout >= 2:
            if len(metadata) != count or len(flags) != count:
                raise ValueError("layout 2 hashes each decision's metadata and flags")
            pieces += [
                _length_prefixes(metadata, ";"), _one_or_each(metadata),
                _length_prefixes(flags, ";"), _one_or_each(flags),
            ]  # fmt: skip
        self._hash_lines(pieces, count)
        self.count += count

    def _hash_lines(self, pieces: list[str | Sequence[str]], count: int) -> None:
        """Hash `count` lines, each the concatenation of `pieces` (a text the same on every
        line, or a column of one text per line), a few thousand lines at a time.

        Texts the same on every line are joined once, and the one that ends a line with the
        one that begins the next: the usual batch then joins 8 pieces per line, not 12."""
        merged: list[str | Sequence[str]] = []
        for piece in pieces:
            if merged and isinstance(piece, str) and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + piece
            else:
                merged.append(piece)
        lead = closing = ""
        first, last = merged[0], merged[-1]
        if len(merged) > 2 and isinstance(first, str) and isinstance(last, str):
            # Line after line, the text from after a line's first piece to after the next
            # line's first piece; the first piece once before it all, the last once after.
            lead, closing = first, last
            merged = [*merged[1:-1], last + first]
        width = len(merged)
        size = min(count, _LINES_AT_ONCE)
        lines = [""] * (width * size)
        for place, piece in enumerate(merged):
            if isinstance(piece, str):
                lines[place::width] = [piece] * size
        for start in range(0, count, _LINES_AT_ONCE):
            end = min(start + _LINES_AT_ONCE, count)
            if end - start < size:
                size = end - start
                del lines[width * size :]
            for place, piece in enumerate(merged):
                if not isinstance(piece, str):
                    lines[place::width] = piece[start:end]
            if lead:
                lines[-1] = closing  # the chunk's last line: no line after it in the chunk
                text = lead + "".join(lines)
                lines[-1] = closing + lead
            else:
                text = "".join(lines)
            if not start and not self.count:
                text = text[1:]  # the first line has no line before it to end
            self._sha.update(text.encode())

    def update_rows(self, rows: Sequence[DecisionRow]) -> None:
        """Add the next rows, given row by row (as a store reads them)."""
        if rows:
            columns = list(zip(*rows, strict=True))
            self.update(*columns[: 9 if self.layout >= 2 else 7])

    def hexdigest(self) -> str:
        """The digest of the rows so far (each line ends in a newline, the last too)."""
        final = self._sha.copy()
        if self.count:
            final.update(b"\n")
        return final.hexdigest()


_LINES_AT_ONCE = 2048


def _length_prefixes(values: Sequence[str], before: str) -> str | list[str]:
    """`before + "<len>:"` for each value, made once per distinct length: one text when every
    value has the same length (the usual case), else one per value."""
    lengths = list(map(len, values))
    if lengths and lengths.count(lengths[0]) == len(lengths):
        return f"{before}{lengths[0]}:"
    made = {length: f"{before}{length}:" for length in set(lengths)}
    return list(map(made.__getitem__, lengths))


def _one_or_each(values: Sequence[str]) -> str | Sequence[str]:
    """The one text of a column whose texts are all the same (a batch's metadata and flags,
    usually), else the column."""
    if values and values.count(values[0]) == len(values):
        return values[0]
    return values


def _decision_head(model: str, env: str | None, version: int) -> str:
    where = "~" if env is None else f"{len(env)}:{env}"
    return f"{len(model)}:{model};{where};{len(str(version))}:{version};"


def purge_change(model: str, cutoff: datetime, decision_ids: list[str]) -> dict[str, Any]:
    """The audit change of a retention purge: which decisions lost their stored inputs."""
    return {
        "model": model,
        "decided_before": format_time(cutoff),
        "count": len(decision_ids),
        "first": decision_ids[0],
        "last": decision_ids[-1],
        "decisions_sha256": rows_digest([(d,) for d in decision_ids]),
    }


def model_event_change(model: str, kind: str, key: str | None, value: str | None) -> dict[str, Any]:
    """The audit change of a model event (`tag_set`, `tag_removed`, `described`): a
    description has no key."""
    change: dict[str, Any] = {"model": model, "value": value}
    if kind != "described":
        change["key"] = key
    return change


def registration_change(version: ModelVersion, key: str | None) -> dict[str, Any]:
    """The audit change of a registration: it binds the whole immutable record by digest,
    and the client's idempotency key (a retry with it answers this version)."""
    return {
        "model": version.model,
        "version": version.version,
        "digest": version.digest,
        "record": version.record_digest(),
        "tags": dict(version.tags),
        "key": key,
    }


MODEL_CREATED = "model.created"
"""The entry of a model created on its own, before any version (its description and tags
follow as `model.described` and `model.tag_set` entries)."""

MODEL_DELETED = "model.deleted"
"""The entry of a deleted model: it and its versions answer as missing, their records kept."""

MODEL_RENAMED = "model.renamed"
"""The entry of a renamed model, filed under both names (`MANY_MODELS`): the model's record
reads on from the old name's entries before it to the new name's after it."""


def renamed_change(old: str, new: str, reason: str | None) -> dict[str, Any]:
    return {"model": old, "new_name": new, "models": [old, new], "reason": reason}


def name_at(name: str, seq: int, renames: Sequence[tuple[int, str, str]]) -> str:
    """The name at entry `seq` of the model named `name` after `renames` ((seq, old, new),
    in log order): rows read back name their model as it is called now, entries as it was
    called when they were written."""
    for at, old, new in reversed(renames):
        if at > seq and name == new:
            name = old
    return name


def renames_in(entries: Iterable[Mapping[str, Any]]) -> list[tuple[int, str, str]]:
    """(seq, old, new) of the `model.renamed` entries among `entries`, in log order."""
    return [
        (int(e["seq"]), str(e["change"]["model"]), str(e["change"]["new_name"]))
        for e in entries
        if e.get("kind") == MODEL_RENAMED and isinstance(e.get("change"), dict)
    ]


def model_record(
    name: str, entries_of: Callable[[str], list[tuple[int, bytes]]]
) -> list[tuple[int, bytes]]:
    """The entries about the model named `name` now, in log order: those filed under its
    name since it took it, and, if it took it by a rename, those of its earlier names before
    (`entries_of(name)`: the entries filed under a name, `entries_of_subject`'s). Entries
    under the name from before another model gave it up by a rename are not its own."""
    found: list[tuple[int, bytes]] = []
    upto: int | None = None
    seen = 0
    while seen < 64:  # renames of one model, bounded against a damaged log
        seen += 1
        own = [(seq, body) for seq, body in entries_of(name) if upto is None or seq < upto]
        last: tuple[int, Mapping[str, Any]] | None = None
        for seq, body in own:
            try:
                entry = json.loads(body)
            except ValueError:
                continue  # a damaged body: `audit verify` names it
            if isinstance(entry, dict) and entry.get("kind") == MODEL_RENAMED:
                last = (seq, entry.get("change") or {})
        if last is None:
            return own + found
        seq, change = last
        if change.get("new_name") != name:  # the name given up then: its holder came after
            return [e for e in own if e[0] > seq] + found
        found = [e for e in own if e[0] >= seq] + found
        name, upto = str(change.get("model")), seq
    return found


RECORDED_DELETED = "version.recorded_deleted"
"""The entry of a version recorded as deleted without its files (another registry's deleted
version, kept with its number)."""


def recorded_deleted_change(version: ModelVersion, reason: str | None) -> dict[str, Any]:
    """The audit change of a version recorded as deleted: its (empty) record by digest, and
    why it is recorded so."""
    return {
        "model": version.model,
        "version": version.version,
        "record": version.record_digest(),
        "reason": reason,
    }


def protection_change(model: str, env: str, change: EnvironmentChange) -> dict[str, Any]:
    """The audit change of protecting an environment (`kind`: `protected`, or `sso_required`
    when it also, or now, accepts only identity-provider users), with who did it and how
    they authenticated."""
    return {
        "model": model,
        "environment": env,
        "kind": change.kind,
        "auth": auth_dict(change.actor_auth),
    }


def decision_change(
    request: DeploymentRequest,
    reason: str | None,
    event_id: int | None,
    auth: Authentication | None = None,
) -> dict[str, Any]:
    """The audit change of an approval or rejection, with how the decider authenticated."""
    return {
        "request_id": request.request_id,
        "kind": request.kind,
        "environment": request.environment,
        "requested_by": request.requested_by,
        "reason": reason,
        "event_id": event_id,
        "auth": auth_dict(auth),
    }
