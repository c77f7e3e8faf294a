"""Random operations on the SQLite store and the memory store must agree step by step."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from modelrepo.domain.errors import ModelrepoError
from modelrepo.stores.memory import MemoryMetadataStore
from modelrepo.stores.sql import SqlMetadataStore
from modelrepo.testing.metadata import T0, new_version

MODELS = st.sampled_from(["a", "b", "c"])
VERSIONS = st.integers(min_value=1, max_value=4)
KEYS = st.sampled_from(["stage", "team", "owner"])


class StoresAgree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.sql = SqlMetadataStore.open_sqlite(Path(self._dir.name) / "m.db")
        self.memory = MemoryMetadataStore()
        self.tick = 0

    def teardown(self) -> None:
        self.sql.close()
        self._dir.cleanup()

    def both(self, method: str, *args: Any, **kwargs: Any) -> None:
        outcomes = []
        for store in (self.sql, self.memory):
            try:
                outcomes.append(("ok", getattr(store, method)(*args, **kwargs)))
            except ModelrepoError as exc:
                outcomes.append(("error", type(exc)))
        assert outcomes[0] == outcomes[1], (method, args, outcomes)

    def now(self) -> Any:
        self.tick += 1
        return T0 + timedelta(seconds=self.tick)

    @rule(model=MODELS, seed=st.integers(0, 1000))
    def register(self, model: str, seed: int) -> None:
        self.both("create_version", new_version(model, seed, created_at=self.now()))

    @rule(model=MODELS, seed=st.integers(0, 2), key=st.sampled_from(["run-1", "run-2"]))
    def register_with_key(self, model: str, seed: int, key: str) -> None:
        """A retry (same key, model and files) answers the first version; anything else
        with a used key is refused, the same way by both stores."""
        self.both("create_version", new_version(model, seed, created_at=self.now()), key=key)

    @rule(model=MODELS, version=VERSIONS, key=KEYS, value=st.sampled_from(["x", "y", None]))
    def tag(self, model: str, version: int, key: str, value: str | None) -> None:
        self.both("set_tag", model, version, key, value, actor="bob", at=self.now())

    @rule(model=MODELS, key=KEYS, value=st.sampled_from(["x", "y", None]))
    def tag_model(self, model: str, key: str, value: str | None) -> None:
        self.both("set_model_tag", model, key, value, actor="carol", at=self.now())

    @rule(model=MODELS, text=st.sampled_from(["", "first", "second"]))
    def describe_model(self, model: str, text: str) -> None:
        self.both("set_model_description", model, text, actor="carol", at=self.now())

    @rule(model=MODELS, version=VERSIONS, flag=st.booleans())
    def deprecate(self, model: str, version: int, flag: bool) -> None:
        self.both("set_deprecated", model, version, flag, actor="bob", at=self.now(), reason="r")

    @rule(model=MODELS, version=VERSIONS)
    def delete(self, model: str, version: int) -> None:
        self.both("delete_version", model, version, actor="bob", at=self.now(), reason=None)

    @invariant()
    def same_state(self) -> None:
        assert self.sql.list_models() == self.memory.list_models()
        for model in self.memory.list_models():
            assert self.sql.list_versions(model.name) == self.memory.list_versions(model.name)
            assert self.sql.get_model(model.name) == model
            own = [
                (e.kind, e.key, e.value, e.actor, e.at) for e in self.sql.model_events(model.name)
            ]
            assert own == [
                (e.kind, e.key, e.value, e.actor, e.at)
                for e in self.memory.model_events(model.name)
            ]
            for v in range(1, model.latest_version + 1):
                sql_events = self.sql.version_events(model.name, v)
                memory_events = self.memory.version_events(model.name, v)
                strip = [(e.kind, e.key, e.value, e.actor, e.at) for e in sql_events]
                assert strip == [(e.kind, e.key, e.value, e.actor, e.at) for e in memory_events]

        def refs(store: Any) -> list[tuple[str, int, str]]:
            return sorted((r.model, r.version, r.path) for r in store.file_references())

        assert refs(self.sql) == refs(self.memory)

        def audit(store: Any) -> list[dict[str, Any]]:
            entries = [json.loads(body) for _, body, _ in store.audit_entries()]
            return [{k: v for k, v in e.items() if k != "store"} for e in entries]

        assert audit(self.sql) == audit(self.memory)


StoresAgree.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestStoresAgree = StoresAgree.TestCase
