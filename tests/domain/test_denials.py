"""The pure rules of refused requests: folding, the cap, what a reason may hold."""

from __future__ import annotations

from datetime import timedelta

from modelrepo.domain.denials import OVERFLOW_ROUTE, REASON_MAX, DenialWindow, short_reason
from modelrepo.testing.denials import denial
from modelrepo.testing.metadata import T0


def test_repeats_fold_and_distinct_ones_beyond_the_cap_overflow() -> None:
    window = DenialWindow(cap=2)
    for n in range(5):
        window.note(denial(n, count=1))
    window.note(denial(100, count=1, user="bob"))
    for n in range(3):
        window.note(denial(200 + n, count=2, token_id=f"{n:012x}"))
    assert len(window) == 3
    folded, bob, other = window.drain()
    assert (folded.count, folded.first_at, folded.last_at) == (
        5, T0, T0 + timedelta(seconds=34),
    )  # fmt: skip
    assert (bob.user, bob.count) == ("bob", 1)
    assert (other.route, other.status, other.user, other.token_id, other.count) == (
        OVERFLOW_ROUTE, 0, None, None, 6,
    )  # fmt: skip
    assert window.drain() == [] and len(window) == 0


def test_a_drained_batch_put_back_keeps_its_counts() -> None:
    window = DenialWindow(cap=4)
    window.note(denial(0))
    batch = window.drain()
    window.note(denial(50, count=1))
    for held in batch:
        window.note(held)
    [again] = window.drain()
    assert (again.count, again.first_at, again.last_at) == (4, T0, T0 + timedelta(seconds=80))


def test_a_reason_is_one_short_printable_line_without_the_secret() -> None:
    assert short_reason("bad\n  token mr_1_2\x1b[31m", secret="mr_1_2") == "bad token [token]?[31m"
    long = short_reason("x" * 1000)
    assert len(long) == REASON_MAX and long.endswith("…")
