"""An audit entry's bytes: the canonical JSON of its document, however they are laid out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from modelrepo.domain.audit import AuditEntry
from modelrepo.domain.canonical import canonical_bytes
from modelrepo.domain.times import format_time

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    st.integers(min_value=1, max_value=2**62),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))])),
    st.text(),
    st.text(),
    st.text(),
    st.dictionaries(st.text(), values, max_size=5),
    st.text(),
)
def test_the_entry_is_the_canonical_json_of_its_document(
    seq: int, at: datetime, actor: str, kind: str, subject: str, change: dict[str, Any], store: str
) -> None:
    entry = AuditEntry(seq, at, actor, kind, subject, change, store)
    assert entry.canonical() == canonical_bytes(entry.document())
    expected = {"seq": seq, "at": format_time(at), "actor": actor, "kind": kind,
                "subject": subject, "change": change, "store": store}  # fmt: skip
    assert (
        entry.canonical()
        == json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
