"""Random operations on a SQL store (SQLite, PostgreSQL) and the memory store must agree
step by step: versions and tags, deployments and decisions, role bindings; and what is live
at any instant, as known at any instant, must be what a plain list of the recorded events
says."""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from modelrepo.clock import ManualClock
from modelrepo.domain.deployments import Allocation, DeploymentChange, DeploymentEvent
from modelrepo.domain.errors import ModelrepoError
from modelrepo.domain.principals import Authentication
from modelrepo.domain.roles import RoleBinding
from modelrepo.ports import MetadataStore
from modelrepo.stores.memory import MemoryMetadataStore
from modelrepo.stores.sql import SqlMetadataStore
from modelrepo.testing.decisions import decision
from modelrepo.testing.metadata import T0, new_version

from ..postgres import fresh_database

MODELS = st.sampled_from(["a", "b", "c"])
VERSIONS = st.integers(min_value=1, max_value=3)
KEYS = st.sampled_from(["stage", "team", "owner"])
ENVS = st.sampled_from(["production", "staging"])
EFFECTIVE = st.sampled_from([None, timedelta(minutes=-5), timedelta(days=-1)])  # None: now
SEEDED = st.sampled_from([("a", 1), ("a", 2), ("b", 1)])  # versions `seed` registers
BINDING_IDS = st.sampled_from([f"00000000000{c}" for c in "abc"])  # few: ids clash
PRINCIPALS = ("erin@bank.example", "frank@bank.example")
IDP = "https://idp.bank.example"
DECISION_IDS = st.lists(st.sampled_from([f"d-{i}" for i in range(20)]), min_size=1, max_size=3)


class StoresAgree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.resources = ExitStack()
        self.sql = self.open_sql()
        self.memory = MemoryMetadataStore()
        self.tick = 0
        self.events: list[DeploymentEvent] = []  # as recorded, the plain model of `live`
        self.decided: list[str] = []

    def open_sql(self) -> MetadataStore:
        raise NotImplementedError

    def teardown(self) -> None:
        self.sql.close()
        self.resources.close()

    def both(self, method: str, *args: Any, **kwargs: Any) -> Any:
        outcomes = []
        for store in (self.sql, self.memory):
            try:
                outcomes.append(("ok", getattr(store, method)(*args, **kwargs)))
            except ModelrepoError as exc:
                outcomes.append(("error", type(exc)))
        assert outcomes[0] == outcomes[1], (method, args, outcomes)
        return outcomes[0][1] if outcomes[0][0] == "ok" else None

    def now(self) -> datetime:
        self.tick += 1
        return T0 + timedelta(seconds=self.tick)

    def clock(self) -> ManualClock:
        """The same reading for both stores: `both` calls each once."""
        return ManualClock(self.now())

    @initialize()
    def seed(self) -> None:
        """Versions to deploy and decide with from the first step (a@1, a@2, b@1)."""
        for model, seed in (("a", 1001), ("a", 1002), ("b", 1003)):
            self.both("create_version", new_version(model, seed, created_at=self.now()))

    # -- versions and tags -----------------------------------------------------------------

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

    @rule(
        model=MODELS,
        version=VERSIONS,
        types=st.lists(st.sampled_from(["numpy.dtype", "sklearn.tree._tree.Tree"]), max_size=2),
    )
    def trust(self, model: str, version: int, types: list[str]) -> None:
        self.both("trust_types", model, version, types, actor="bob", at=self.now(), reason="r")

    @rule(model=MODELS, version=VERSIONS)
    def delete(self, model: str, version: int) -> None:
        self.both("delete_version", model, version, actor="bob", at=self.now(), reason=None)

    # -- deployments -----------------------------------------------------------------------

    def change(self, change: DeploymentChange) -> None:
        event = self.both("apply_deployment", change, clock=self.clock())
        if event is not None:  # no environment is protected here: never a request
            assert isinstance(event, DeploymentEvent)
            self.events.append(event)

    @rule(which=SEEDED | st.tuples(MODELS, VERSIONS), env=ENVS, effective=EFFECTIVE)
    def deploy(self, which: tuple[str, int], env: str, effective: timedelta | None) -> None:
        model, version = which
        at = None if effective is None else T0 + timedelta(seconds=self.tick) + effective
        versions = (Allocation(version, 1.0),)
        self.change(DeploymentChange(model, env, "deploy", versions, "dana", effective_at=at))

    def where(self, data: st.DataObject) -> tuple[str, str]:
        """Mostly an environment with history; sometimes any, to compare refusals too."""
        known = sorted({(e.model, e.environment) for e in self.events})
        return data.draw(st.sampled_from(known) | st.tuples(MODELS, ENVS))

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def rollback(self, data: st.DataObject) -> None:
        model, env = self.where(data)
        self.change(DeploymentChange(model, env, "rollback", None, "dana"))

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def undeploy(self, data: st.DataObject) -> None:
        model, env = self.where(data)
        self.change(DeploymentChange(model, env, "undeploy", (), "dana"))

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def live_as_of(self, data: st.DataObject) -> None:
        """At any instant near an event's times, as known at any of them, both stores answer
        the event that the recorded list says: the latest in effect by (effective, recorded)
        among those recorded by then."""
        chosen = data.draw(st.sampled_from(self.events))
        instants = sorted({t + d for e in self.events for t in (e.effective_at, e.recorded_at)
                           for d in (timedelta(0), timedelta(microseconds=-1))})  # fmt: skip
        # Mostly at or after the chosen event's times, where something is live.
        at = data.draw(st.sampled_from([i for i in instants if i >= chosen.effective_at])
                       | st.sampled_from(instants))  # fmt: skip
        later = [None, *(i for i in instants if i >= chosen.recorded_at)]
        known = data.draw(st.sampled_from(later) | st.sampled_from([None, *instants]))
        model, env = chosen.model, chosen.environment
        seen = [
            e
            for e in self.events
            if (e.model, e.environment) == (model, env)
            and e.effective_at <= at
            and (known is None or e.recorded_at <= known)
        ]
        expected = max(seen, key=lambda e: (e.effective_at, e.recorded_at), default=None)
        assert self.both("live", model, env, at, known) == expected

    # -- decisions -------------------------------------------------------------------------

    @rule(model=MODELS, version=VERSIONS, ids=DECISION_IDS)
    def record_decisions(self, model: str, version: int, ids: list[str]) -> None:
        """A batch naming an id twice, or one already recorded, is refused whole."""
        items = [
            decision(d, i, model=model, version=version, decided_at=T0 + timedelta(seconds=i))
            for i, d in enumerate(ids)
        ]
        if self.both("record_decisions", items, actor="svc", clock=self.clock()):
            self.decided.extend(ids)

    @rule(data=st.data())
    def read_decision(self, data: st.DataObject) -> None:
        """Mostly one recorded; sometimes any, which may not be."""
        ids = st.sampled_from([f"d-{i}" for i in range(20)])
        if self.decided:
            ids = st.sampled_from(self.decided) | ids
        self.both("get_decision", data.draw(ids))

    # -- role bindings ---------------------------------------------------------------------

    @rule(
        binding_id=BINDING_IDS,
        principal=st.sampled_from(PRINCIPALS),
        role=st.sampled_from(["viewer", "admin"]),
        pattern=st.sampled_from([None, "a*"]),
    )
    def grant_role(self, binding_id: str, principal: str, role: str, pattern: str | None) -> None:
        auth = Authentication("oidc", issuer=IDP, subject="00u1")
        binding = RoleBinding(binding_id, IDP, principal, role, pattern, self.now(), "root", auth)
        self.both("grant_role", binding)

    @rule(binding_id=BINDING_IDS)
    def revoke_role(self, binding_id: str) -> None:
        self.both("revoke_role", binding_id, actor="root", at=self.now(), auth=None)

    # -- the same state --------------------------------------------------------------------

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
            assert self.sql.deployment_events(model.name) == self.memory.deployment_events(
                model.name
            )
            assert self.sql.environments(model.name) == self.memory.environments(model.name)
            decided = self.memory.list_decisions(model.name, None, None, 100)
            assert self.sql.list_decisions(model.name, None, None, 100) == decided
            for v in range(1, model.latest_version + 1):  # by version, as recorded
                mine = {d.decision_id for d in decided if d.version == v}
                assert mine == {
                    d.decision_id
                    for d in self.sql.list_decisions(model.name, None, None, 100)
                    if d.version == v
                }

        def refs(store: Any) -> list[tuple[str, int, str]]:
            return sorted((r.model, r.version, r.path) for r in store.file_references())

        assert refs(self.sql) == refs(self.memory)
        assert self.sql.list_role_bindings() == self.memory.list_role_bindings()
        for principal in PRINCIPALS:
            assert self.sql.bindings_for(IDP, principal) == self.memory.bindings_for(IDP, principal)

        def audit(store: Any) -> list[dict[str, Any]]:
            entries = [json.loads(body) for _, body, _ in store.audit_entries()]
            return [{k: v for k, v in e.items() if k != "store"} for e in entries]

        assert audit(self.sql) == audit(self.memory)


class SqliteAgrees(StoresAgree):
    def open_sql(self) -> MetadataStore:
        folder = self.resources.enter_context(tempfile.TemporaryDirectory())
        return SqlMetadataStore.open_sqlite(Path(folder) / "m.db")


class PostgresAgrees(StoresAgree):
    template = ""

    def open_sql(self) -> MetadataStore:
        url = self.resources.enter_context(fresh_database(self.template))
        return SqlMetadataStore.open_postgresql(url)


def test_sqlite_and_memory_agree() -> None:
    run_state_machine_as_test(
        SqliteAgrees, settings=settings(max_examples=40, stateful_step_count=30, deadline=None)
    )


def test_postgresql_and_memory_agree(pg_template: str) -> None:
    PostgresAgrees.template = pg_template
    run_state_machine_as_test(
        PostgresAgrees, settings=settings(max_examples=12, stateful_step_count=30, deadline=None)
    )
