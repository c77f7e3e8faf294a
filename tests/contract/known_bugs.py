"""Contract tests a backend is known to fail, with why: run as strict xfails, so the test
that passes once the backend is fixed says to remove its entry here."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import pytest

MEMORY_METADATA = {
    "test_a_range_past_the_end_reads_what_there_is": (
        "MemoryMetadataStore.audit_entries(start, end) indexes its list up to `end`, so an "
        "end past audit_size() raises IndexError; the SQL stores yield the entries there are"
    ),
    "test_an_unknown_model_is_not_found": (
        "MemoryMetadataStore.serving_start and serving_periods accept a model that does not "
        "exist (and list its periods); the SQL stores raise NotFound, as every other "
        "per-model method does on both"
    ),
    "test_a_delivery_for_an_unknown_subscription_is_refused_whole": (
        "MemoryMetadataStore.enqueue_deliveries keeps a delivery for a subscription it does "
        "not hold, and claim_deliveries then fails with KeyError; the SQL stores raise NotFound"
    ),
}


def expecting_failures(suite: type, known: Mapping[str, str]) -> dict[str, Any]:
    """The suite's tests named in `known`, as strict xfails, to set on a subclass (a copy
    of each, so the suite's own function, which other backends run, stays unmarked)."""
    return {
        name: _xfail_copy(getattr(suite, name), reason)
        for name, reason in known.items()
        if hasattr(suite, name)
    }


def _xfail_copy(test: Callable[..., Any], reason: str) -> Any:
    @functools.wraps(test)
    def copy(self: Any, *args: Any, **kwargs: Any) -> Any:
        return test(self, *args, **kwargs)

    return pytest.mark.xfail(strict=True, reason=reason)(copy)
