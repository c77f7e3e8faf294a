"""The observed-serving contract every `MetadataStore` passes (subclass with a `store`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ..domain.errors import NotFound
from ..domain.serving import ServingPeriod
from ..ports import MetadataStore
from .metadata import T0, new_version

MINUTE = timedelta(minutes=1)


class ServingStoreContract:
    """An instance serves one version at a time: a start ends what it served before, and
    heartbeats and stops touch only where it served."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    @pytest.fixture
    def seeded(self, store: MetadataStore) -> MetadataStore:
        for seed in (1, 2):
            store.create_version(new_version(seed=seed))
        return store

    def start(self, store: MetadataStore, instance: str, version: int, at: Any, **kw: Any) -> None:
        where = {"model": "credit-risk", "environment": "production", **kw}
        store.serving_start(
            where["model"],
            where["environment"],
            instance_id=instance,
            host=f"host-{instance}",
            version=version,
            digest=store.digest("credit-risk", version),
            at=at,
        )

    def test_a_period_opens_is_seen_and_ends(self, seeded: MetadataStore) -> None:
        digest = seeded.digest("credit-risk", 1)
        self.start(seeded, "pod-a", 1, T0)
        opened = ServingPeriod("pod-a", "host-pod-a", "credit-risk", "production", 1, digest,
                               T0, T0, None)  # fmt: skip
        assert seeded.serving_periods("credit-risk", "production") == [opened]
        seeded.serving_heartbeat("credit-risk", "production", "pod-a", T0 + MINUTE)
        (seen,) = seeded.serving_periods("credit-risk", "production")
        assert (seen.since, seen.last_seen, seen.ended_at) == (T0, T0 + MINUTE, None)
        seeded.serving_stop("credit-risk", "production", "pod-a", T0 + 2 * MINUTE)
        (ended,) = seeded.serving_periods("credit-risk", "production")
        assert (ended.last_seen, ended.ended_at) == (T0 + 2 * MINUTE, T0 + 2 * MINUTE)
        # Nothing open any more: a late heartbeat or a second stop change nothing.
        seeded.serving_heartbeat("credit-risk", "production", "pod-a", T0 + 3 * MINUTE)
        seeded.serving_stop("credit-risk", "production", "pod-a", T0 + 3 * MINUTE)
        assert seeded.serving_periods("credit-risk", "production") == [ended]
        assert seeded.serving_periods("credit-risk", "staging") == []

    def test_a_start_ends_what_the_instance_served_before(self, seeded: MetadataStore) -> None:
        self.start(seeded, "pod-a", 1, T0)
        self.start(seeded, "pod-b", 1, T0 + MINUTE)
        self.start(seeded, "pod-a", 2, T0 + 2 * MINUTE)  # pod-a switched to version 2
        periods = seeded.serving_periods("credit-risk", "production")
        assert [(p.instance_id, p.version, p.since, p.ended_at) for p in periods] == [
            ("pod-a", 1, T0, T0 + 2 * MINUTE),
            ("pod-b", 1, T0 + MINUTE, None),
            ("pod-a", 2, T0 + 2 * MINUTE, None),
        ]
        self.start(seeded, "pod-a", 2, T0 + 3 * MINUTE, environment="staging")
        moved = seeded.serving_periods("credit-risk", "production")
        assert [p.ended_at for p in moved] == [T0 + 2 * MINUTE, None, T0 + 3 * MINUTE]
        (staging,) = seeded.serving_periods("credit-risk", "staging")
        assert (staging.instance_id, staging.version, staging.ended_at) == ("pod-a", 2, None)

    def test_an_instance_is_touched_only_where_it_served(self, seeded: MetadataStore) -> None:
        self.start(seeded, "pod-a", 1, T0)
        for where in (("credit-risk", "staging", "pod-a"), ("credit-risk", "production", "pod-z")):
            with pytest.raises(NotFound):
                seeded.serving_heartbeat(*where, T0 + MINUTE)
            with pytest.raises(NotFound):
                seeded.serving_stop(*where, T0 + MINUTE)
        (still,) = seeded.serving_periods("credit-risk", "production")
        assert (still.last_seen, still.ended_at) == (T0, None)

    def test_an_unknown_model_is_not_found(self, seeded: MetadataStore) -> None:
        """As for every other method about one model."""
        with pytest.raises(NotFound):
            self.start(seeded, "pod-a", 1, T0, model="nope")
        with pytest.raises(NotFound):
            seeded.serving_periods("nope", "production")
