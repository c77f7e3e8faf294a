"""The SDK contract for what a registry keeps besides versions and deployments: decisions in
bulk (columns, imported files), their stored inputs and retention, API tokens, webhooks and
the audit log itself. Part of `RegistryContract`, so it runs on every way of opening a
registry, the server included; it uses that suite's `reg`, `bob` and `two` fixtures."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ..domain.decisions import NO_ENVIRONMENT, NOT_LIVE, VERSION_UNKNOWN, inputs_digest
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..registry import Registry
from ..verifier import canonical_json, leaf_hash, root_from_leaf_hashes, verify_consistency


class RecordsContract:
    """Decisions in bulk, stored inputs, tokens, webhooks, the audit log."""

    # -- decisions in bulk ----------------------------------------------------------------

    def test_decision_columns_are_recorded_all_or_none_with_the_same_flags(
        self, two: Registry
    ) -> None:
        event = two.deploy("credit-risk", 2, env="production").event
        assert event is not None
        at = event.effective_at
        recorded = two.log_decision_columns(
            "credit-risk",
            outputs=[0.1, 0.2, 0.3],
            environment="production",
            decided_at=[at + timedelta(seconds=s) for s in range(3)],
            inputs=[{"income": i} for i in range(3)],
            decision_ids=["col-1", "col-2", "col-3"],
            metadata={"channel": "batch"},
        )
        assert recorded == 3
        first = two.decisions("credit-risk")[0]
        assert (first.decision_id, first.version, first.version_source) == ("col-1", 2, "resolved")
        assert (first.inputs, first.metadata, first.flags) == (
            {"income": 0},
            {"channel": "batch"},
            (),
        )
        assert first.inputs_digest == inputs_digest({"income": 0})
        # A version given: checked against the history, and flagged, never dropped.
        two.log_decision_columns(
            "credit-risk",
            outputs=[1, 2],
            version=1,
            environment="production",
            decided_at=at.isoformat(),
            inputs=[[1], [2]],
            decision_ids=["old-1", "old-2"],
        )
        two.log_decision_columns(
            "credit-risk", outputs=[3], version=9, inputs=[[3]], decision_ids=["nine"],
            metadata=[{"row": 1}],
        )  # fmt: skip
        flags = {d.decision_id: d.flags for d in two.decisions("credit-risk")}
        assert flags["old-1"] == flags["old-2"] == (NOT_LIVE,)
        assert flags["nine"] == (VERSION_UNKNOWN, NO_ENVIRONMENT)
        # One id already recorded: the whole batch is refused, nothing of it is kept.
        with pytest.raises(Conflict):
            two.log_decision_columns(
                "credit-risk", outputs=[4, 5], version=2, inputs=[4, 5],
                decision_ids=["fresh", "col-1"],
            )  # fmt: skip
        with pytest.raises(NotFound):
            two.decision("fresh")
        with pytest.raises(InvalidInput, match="one value per decision"):
            two.log_decision_columns("credit-risk", outputs=[1, 2], version=2, inputs=[1])
        with pytest.raises(InvalidInput, match="not both"):
            two.log_decision_columns(
                "credit-risk", outputs=[1], version=2, inputs=[1], inputs_digests=["sha256:x"]
            )
        with pytest.raises(InvalidInput, match="no time zone"):
            two.log_decision_columns(
                "credit-risk", outputs=[1], version=2, inputs=[1],
                decided_at=[at.replace(tzinfo=None)],
            )  # fmt: skip
        with pytest.raises(InvalidInput, match="positive integer"):
            two.log_decision_columns("credit-risk", outputs=[1], version=True, inputs=[1])
        with pytest.raises(InvalidInput, match="not JSON"):
            two.log_decision_columns("credit-risk", outputs=[{1, 2}], version=2, inputs=[1])
        assert len(two.decisions("credit-risk")) == 6

    def test_decisions_are_filtered_by_the_store_and_paged_to_the_end(self, two: Registry) -> None:
        """A filter never hides matches beyond what a page read, and the last page says it is
        the last."""
        two.log_decision_columns(
            "credit-risk", outputs=list(range(40)), version=1, environment="staging",
            inputs=[[i] for i in range(40)], decision_ids=[f"s{i}" for i in range(40)],
        )  # fmt: skip
        two.log_decision_columns(
            "credit-risk", outputs=[1, 2, 3], version=2, environment="production",
            inputs=[[1], [2], [3]], decision_ids=["p1", "p2", "p3"],
        )  # fmt: skip
        production = two.decisions("credit-risk", env="production", limit=2)
        assert [d.decision_id for d in production] == ["p1", "p2"]
        assert [d.decision_id for d in two.decisions("credit-risk", version=2)] == [
            "p1", "p2", "p3",
        ]  # fmt: skip
        seen, cursor, pages = [], None, 0
        while True:
            page = two.decisions_page("credit-risk", env="staging", limit=15, cursor=cursor)
            seen += [d.decision_id for d in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert (seen, pages) == ([f"s{i}" for i in range(40)], 3)
        last = two.decisions_page("credit-risk", version=2, limit=3)
        assert len(last.items) == 3 and last.next_cursor is None
        with pytest.raises(InvalidInput):
            two.decisions_page("credit-risk", limit=0)
        with pytest.raises(InvalidInput):
            two.decisions_page("credit-risk", cursor="not-a-cursor")

    def test_decisions_are_imported_from_json_lines_and_parquet_all_or_none(
        self, two: Registry, tmp_path: Path
    ) -> None:
        two.deploy("credit-risk", 1, env="staging")
        lines = [
            {"model": "credit-risk", "environment": "staging", "inputs": {"income": i},
             "output": i % 2, "decision_id": f"imp-{i}", "metadata": {"batch": "march"}}
            for i in range(4)
        ]  # fmt: skip
        lines.append({"model": "credit-risk", "version": 7, "inputs": [7], "output": 0,
                      "decision_id": "imp-unknown"})  # fmt: skip
        jsonl = tmp_path / "decisions.jsonl"
        jsonl.write_text("".join(json.dumps(line) + "\n" for line in lines) + "\n")
        assert two.import_decisions(jsonl) == 5
        assert two.decision("imp-3")["version"] == 1
        assert two.decision("imp-unknown")["flags"] == [VERSION_UNKNOWN, NO_ENVIRONMENT]

        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({**lines[0], "decision_id": "never"}) + "\n{not json\n")
        with pytest.raises(InvalidInput, match=r"bad\.jsonl:2: not JSON"):
            two.import_decisions(bad)
        with pytest.raises(NotFound):
            two.decision("never")
        with pytest.raises(Conflict):  # imp-0 again: nothing of the file is kept
            two.import_decisions(jsonl)
        with pytest.raises(InvalidInput, match=r"expected a \.jsonl or \.parquet"):
            two.import_decisions(tmp_path / "decisions.csv")

        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        table = pa.table(
            {
                "model": ["credit-risk"] * 3,
                "version": [2, 2, 2],
                "decision_id": ["pq-0", "pq-1", "pq-2"],
                "decided_at": [two.get("credit-risk", 2).created_at] * 3,
                "inputs_json": [json.dumps({"income": i}) for i in range(3)],
                "output": [0.5, 0.25, 0.125],
            }
        )
        parquet = tmp_path / "decisions.parquet"
        pq.write_table(table, parquet)
        assert two.import_decisions(parquet) == 3
        story = two.decision("pq-1")
        assert (story["inputs"], story["output"], story["flags"]) == (
            {"income": 1},
            0.25,
            [NO_ENVIRONMENT],
        )
        assert len(two.decisions("credit-risk")) == 8

    def test_stored_inputs_follow_the_policy_and_retention(self, two: Registry) -> None:
        now = two.get("credit-risk", 2).created_at
        two.log_decision("credit-risk", inputs={"a": 1}, output=1, version=2, decision_id="in")
        assert two.decision_inputs("in") == {"a": 1}
        two.set_decision_inputs("credit-risk", "blob", retention_days=30)
        two.log_decision(
            "credit-risk", inputs={"b": 2}, output=1, version=2, decision_id="old",
            decided_at=now - timedelta(days=40),
        )  # fmt: skip
        two.log_decision("credit-risk", inputs={"c": 3}, output=1, version=2, decision_id="new")
        assert two.decision_inputs("old") == {"b": 2}
        assert two.decision("old")["inputs_mode"] == "blob"
        assert two.purge_decision_inputs("credit-risk") == {"credit-risk": 1}
        with pytest.raises(InvalidInput, match="purged"):
            two.decision_inputs("old")
        assert two.decision_inputs("new") == {"c": 3}
        assert two.decision("old")["inputs_digest"] == inputs_digest({"b": 2})
        assert two.purge_decision_inputs() == {}
        two.set_decision_inputs("credit-risk", "digest")
        two.log_decision("credit-risk", inputs={"d": 4}, output=1, version=2, decision_id="dig")
        with pytest.raises(InvalidInput, match="only a digest"):
            two.decision_inputs("dig")
        with pytest.raises(InvalidInput, match="inline, blob or digest"):
            two.set_decision_inputs("credit-risk", "forever")
        with pytest.raises(InvalidInput, match="positive number of days"):
            two.set_decision_inputs("credit-risk", "inline", retention_days=0)
        with pytest.raises(NotFound):
            two.set_decision_inputs("no-such-model", "inline")
        with pytest.raises(NotFound):
            two.decision_inputs("no-such-decision")
        kinds = [e["kind"] for e in two.audit_log("model:credit-risk")]
        assert kinds.count("decisions.policy_set") == 2, kinds

    # -- API tokens -----------------------------------------------------------------------

    def test_api_tokens_are_shown_once_listed_without_secrets_and_revoked(
        self, reg: Registry
    ) -> None:
        # A service account's: a person's token acts as its minter, and only a command on the
        # server's host names someone else.
        record, secret = reg.create_token("svc:carol", "deployer", model_pattern="fraud-*")
        assert secret.startswith(f"mr_{record.token_id}_")
        assert record.kind == "service"
        assert (record.user, record.role, record.model_pattern, record.created_by) == (
            "svc:carol",
            "deployer",
            "fraud-*",
            "alice",
        )
        assert record in reg.tokens() and record.active
        assert secret not in repr(reg.tokens()) and secret not in json.dumps(reg.audit_log())
        revoked = reg.revoke_token(record.token_id)
        assert (revoked.token_id, revoked.revoked_by, revoked.active) == (
            record.token_id,
            "alice",
            False,
        )
        assert revoked in reg.tokens()
        assert record.token_id not in {t.token_id for t in reg.tokens(include_revoked=False)}
        with pytest.raises(Conflict, match="already revoked"):
            reg.revoke_token(record.token_id)
        with pytest.raises(NotFound):
            reg.revoke_token("ffffffffffff")
        with pytest.raises(InvalidInput, match="unknown role"):
            reg.create_token("svc:carol", "boss")
        with pytest.raises(InvalidInput, match="invalid token id"):
            reg.revoke_token("../../x")
        kinds = [e["kind"] for e in reg.audit_log(f"token:{record.token_id}")]
        assert kinds == ["token.created", "token.revoked"]

    # -- role bindings --------------------------------------------------------------------

    def test_role_bindings_are_granted_listed_and_revoked(self, reg: Registry) -> None:
        idp = "https://idp.bank.example"
        made = reg.grant_role("erin@bank.example", "deployer", issuer=idp, model_pattern="f*")
        assert (made.principal, made.role, made.model_pattern, made.issuer, made.granted_by) == (
            "erin@bank.example",
            "deployer",
            "f*",
            idp,
            "alice",
        )
        assert made.granted_auth is not None and made.active
        assert reg.role_bindings() == [made]
        with pytest.raises(Conflict, match="already holds role deployer"):
            reg.grant_role("erin@bank.example", "deployer", issuer=idp, model_pattern="f*")
        with pytest.raises(InvalidInput, match="service account"):
            reg.grant_role("svc:scorer", "viewer", issuer=idp)
        with pytest.raises(InvalidInput, match="unknown role"):
            reg.grant_role("erin@bank.example", "boss", issuer=idp)
        revoked = reg.revoke_role(made.binding_id)
        assert (revoked.binding_id, revoked.revoked_by, revoked.active) == (
            made.binding_id,
            "alice",
            False,
        )
        assert reg.role_bindings() == [revoked]
        assert reg.role_bindings(include_revoked=False) == []
        with pytest.raises(Conflict, match="already revoked"):
            reg.revoke_role(made.binding_id)
        with pytest.raises(NotFound):
            reg.revoke_role("ffffffffffff")
        with pytest.raises(InvalidInput, match="invalid role binding id"):
            reg.revoke_role("../../x")
        kinds = [e["kind"] for e in reg.audit_log(f"role:{made.binding_id}")]
        assert kinds == ["role.granted", "role.revoked"]

    # -- webhooks -------------------------------------------------------------------------

    def test_webhooks_are_added_listed_and_disabled(self, reg: Registry) -> None:
        hook, secret = reg.add_webhook(
            "https://hooks.example/mr", model_pattern="credit-*", events=["deployed", "approved"]
        )
        assert secret.startswith("whsec_") and hook.created_by == "alice"
        assert (hook.url, hook.model_pattern, hook.events) == (
            "https://hooks.example/mr",
            "credit-*",
            ("deployed", "approved"),
        )
        assert [h.to_dict() for h in reg.webhooks()] == [hook.to_dict()]
        disabled = reg.disable_webhook(hook.webhook_id)
        assert (disabled.disabled_by, disabled.active) == ("alice", False)
        assert reg.webhooks(include_disabled=False) == []
        with pytest.raises(Conflict):
            reg.disable_webhook(hook.webhook_id)
        with pytest.raises(NotFound):
            reg.disable_webhook("wh_ffffffffffff")
        assert reg.webhook_deliveries(hook.webhook_id) == []
        assert reg.delivery_attempts(1) == []
        with pytest.raises(InvalidInput, match="https"):
            reg.add_webhook("http://hooks.example/", events=["deployed"])
        with pytest.raises(InvalidInput, match="unknown event kind"):
            reg.add_webhook("https://hooks.example/", events=["deleted"])
        with pytest.raises(InvalidInput, match="limit"):
            reg.webhook_deliveries(limit=0)
        assert secret not in json.dumps(reg.audit_log())

    def test_webhook_deliveries_are_paged_newest_first_to_the_end(
        self, two: Registry, behind: Registry
    ) -> None:
        """The last page says it is the last, and the old list reads the first `limit`."""
        hook, _ = two.add_webhook(
            "https://hooks.example/mr", model_pattern="credit-*", events=["deployed"]
        )
        for version in (1, 2, 1, 2, 1):
            two.deploy("credit-risk", version, env="staging")
        assert behind.deliverer().fan_out() == 5
        newest = two.webhook_deliveries()
        assert len(newest) == 5 and [d.seq for d in newest] == sorted(
            (d.seq for d in newest), reverse=True
        )
        seen, cursor, pages = [], None, 0
        while True:
            page = two.webhook_deliveries_page(hook.webhook_id, limit=2, cursor=cursor)
            seen += page.items
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert ([d.delivery_id for d in seen], pages) == ([d.delivery_id for d in newest], 3)
        assert two.webhook_deliveries(limit=2) == newest[:2]
        whole = two.webhook_deliveries_page(limit=5)
        assert len(whole.items) == 5 and whole.next_cursor is None
        assert two.webhook_deliveries_page("wh_ffffffffffff").items == []
        with pytest.raises(InvalidInput):
            two.webhook_deliveries_page(limit=0)
        with pytest.raises(InvalidInput):
            two.webhook_deliveries_page(limit=10_001)
        with pytest.raises(InvalidInput):
            two.webhook_deliveries_page(cursor="not-a-cursor")

    def test_refused_requests_are_paged_newest_first_to_the_end(
        self, two: Registry, behind: Registry
    ) -> None:
        """The last page says it is the last; filters apply before the page is cut."""
        from .denials import denial

        behind.record_denials(
            [denial(i * 10, model="fraud" if i % 3 == 0 else "credit-risk") for i in range(8)]
        )
        newest = two.audit_denied()
        assert len(newest) == 8
        seen, cursor, pages = [], None, 0
        while True:
            page = two.audit_denied_page(model="credit-risk", limit=2, cursor=cursor)
            seen += page.items
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert (seen, pages) == ([d for d in newest if d.model == "credit-risk"], 3)
        assert two.audit_denied(limit=3) == newest[:3]
        assert two.audit_denied_page(since=newest[1].last_at, limit=5).items == newest[:2]
        whole = two.audit_denied_page(limit=8)
        assert len(whole.items) == 8 and whole.next_cursor is None
        with pytest.raises(InvalidInput):
            two.audit_denied_page(limit=0)
        with pytest.raises(InvalidInput):
            two.audit_denied_page(limit=10_001)
        with pytest.raises(InvalidInput):
            two.audit_denied_page(cursor="not-a-cursor")

    # -- the audit log --------------------------------------------------------------------

    def test_the_audit_log_reads_in_pages_and_proves_consistency(self, two: Registry) -> None:
        old = two.audit_log()
        two.deploy("credit-risk", 1, env="staging")
        two.tag("credit-risk", 1, "stage", "champion")
        entries = two.audit_log()
        assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
        assert entries[: len(old)] == old
        assert (entries[-1]["kind"], entries[-1]["actor"]) == ("version.tag_set", "alice")
        assert two.audit_log(after=2, limit=3) == entries[2:5]
        assert two.audit_log(after=len(entries)) == []
        mine = two.audit_log("model:credit-risk")
        assert mine and all(e["subject"] == "model:credit-risk" for e in mine)
        assert two.audit_log("model:credit-risk", after=mine[0]["seq"], limit=1) == mine[1:2]
        with pytest.raises(InvalidInput):
            two.audit_log(after=-1)

        leaves = [leaf_hash(canonical_json(e)) for e in entries]
        root_old, _ = root_from_leaf_hashes(leaves[: len(old)])
        root_new, _ = root_from_leaf_hashes(leaves)
        proof = two.audit_consistency(len(old))
        assert (proof["old_size"], proof["new_size"]) == (len(old), len(entries))
        path = [bytes.fromhex(h) for h in proof["proof"]]
        assert verify_consistency(len(old), len(entries), path, root_old, root_new)
        assert not verify_consistency(len(old), len(entries), path, root_new, root_new)
        between = two.audit_consistency(2, len(old))
        assert between["new_size"] == len(old)
        with pytest.raises(InvalidInput):
            two.audit_consistency(len(entries) + 5)
