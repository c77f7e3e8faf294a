"""Decisions tied to the version that made them: SDK and CLI on the embedded store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from modelrepo import Conflict, InvalidInput, ManualClock, NotFound, Registry
from modelrepo.domain.audit import rows_digest
from modelrepo.domain.decisions import canonical_json
from modelrepo.domain.times import to_micros

from ..cli.conftest import Run
from ..conftest import T0, OpenRegistry
from ..rawdb import Refused, raw_execute


@pytest.fixture
def reg(open_registry: OpenRegistry, artifact: Path) -> Registry:
    clock = ManualClock(T0, step=timedelta(seconds=1))
    registry = open_registry(user="alice", clock=clock)
    for i in range(3):
        (artifact / "features.csv").write_text(f"v{i}\n")
        registry.register("credit-risk", artifact, code=False, data=[], params={"i": i})
    return registry


def test_version_resolved_from_history_across_a_switch(reg: Registry) -> None:
    first = reg.deploy("credit-risk", 1, env="production").event
    second = reg.deploy("credit-risk", 2, env="production").event
    assert first and second
    before = reg.log_decision(
        "credit-risk", environment="production", inputs={"income": 10}, output={"p": 0.1},
        decided_at=first.effective_at + timedelta(microseconds=1), decision_id="d-before",
    )  # fmt: skip
    after = reg.log_decision(
        "credit-risk", environment="production", inputs={"income": 10}, output={"p": 0.2},
        decided_at=second.effective_at, decision_id="d-after",
    )  # fmt: skip
    assert (before.version, before.version_source, before.flags) == (1, "resolved", ())
    assert (after.version, after.flags) == (2, ())
    story = reg.decision("d-before")
    assert story["deployment_event_id"] == first.event_id
    assert story["matches_history"]
    assert story["digest"] == reg.get("credit-risk", 1).digest
    assert story["lineage"]["environment"]["python"].startswith("3.")


def test_doubtful_decisions_are_flagged_not_dropped(reg: Registry) -> None:
    reg.deploy("credit-risk", 1, env="production")
    not_live = reg.log_decision("credit-risk", environment="production", version=3,
                                inputs={}, output=0)  # fmt: skip
    unknown = reg.log_decision("credit-risk", environment="production", version=9,
                               inputs={}, output=0)  # fmt: skip
    no_env = reg.log_decision("credit-risk", version=1, inputs={}, output=0)
    assert not_live.flags == ("not_live",)
    assert set(unknown.flags) == {"version_unknown", "not_live"}
    assert no_env.flags == ("no_environment",)
    assert not reg.decision(not_live.decision_id)["matches_history"]


def test_refusals(reg: Registry) -> None:
    with pytest.raises(InvalidInput, match="nothing was live"):
        reg.log_decision("credit-risk", environment="production", inputs={}, output=0)
    reg.deploy_split("credit-risk", {1: 0.5, 2: 0.5}, env="canary")
    with pytest.raises(InvalidInput, match="traffic was split"):
        reg.log_decision("credit-risk", environment="canary", inputs={}, output=0)
    with pytest.raises(InvalidInput, match="needs its version"):
        reg.log_decision("credit-risk", inputs={}, output=0)
    with pytest.raises(InvalidInput, match="not JSON"):
        reg.log_decision("credit-risk", version=1, inputs={"x": float("nan")}, output=0)
    with pytest.raises(InvalidInput, match="no time zone"):
        reg.log_decision("credit-risk", version=1, inputs={}, output=0,
                         decided_at="2026-03-01T10:00:00")  # fmt: skip
    with pytest.raises(InvalidInput, match="invalid decision id"):
        reg.log_decision("credit-risk", version=1, inputs={}, output=0, decision_id="a b")
    with pytest.raises(NotFound):
        reg.log_decision("absent", version=1, inputs={}, output=0)
    assert reg.decisions("credit-risk") == []


def test_a_batch_is_all_or_nothing(reg: Registry) -> None:
    reg.log_decision("credit-risk", version=1, inputs={}, output=0, decision_id="taken")
    batch = [
        {"model": "credit-risk", "version": 1, "inputs": {"i": i}, "output": i,
         "decision_id": f"b-{i}"}
        for i in range(5)
    ]  # fmt: skip
    with pytest.raises(Conflict, match="'taken' is already recorded"):
        reg.log_decisions([*batch, {**batch[0], "decision_id": "taken"}])
    with pytest.raises(Conflict, match="'b-1' is already recorded"):
        reg.log_decisions([*batch, batch[1]])
    assert [d.decision_id for d in reg.decisions("credit-risk")] == ["taken"]
    assert reg.log_decisions(batch) == 5
    assert len(reg.decisions("credit-risk")) == 6
    kinds = [e["kind"] for e in reg.audit_log("model:credit-risk")]
    assert kinds.count("decisions.logged") == 2
    assert reg.audit_verify().ok


def test_input_policies(reg: Registry) -> None:
    inline = reg.log_decision("credit-risk", version=1, inputs={"income": 1}, output=0)
    assert reg.decision_inputs(inline.decision_id) == {"income": 1}
    reg.set_decision_inputs("credit-risk", "blob")
    blob = reg.log_decision("credit-risk", version=1, inputs={"income": 2}, output=0)
    assert blob.inputs is None
    assert reg.decision_inputs(blob.decision_id) == {"income": 2}
    reg.set_decision_inputs("credit-risk", "digest")
    private = reg.log_decision("credit-risk", version=1, inputs={"ssn": "x"}, output=0)
    assert private.inputs is None and private.inputs_mode == "digest"
    assert private.inputs_digest.startswith("sha256:")
    with pytest.raises(InvalidInput, match="only a digest"):
        reg.decision_inputs(private.decision_id)
    policies = [
        e for e in reg.audit_log("model:credit-risk") if e["kind"] == "decisions.policy_set"
    ]
    assert [e["change"]["inputs"] for e in policies] == ["blob", "digest"]


def test_cli_show_list_import_policy(run: Run, artifact: Path, tmp_path: Path) -> None:
    run("register", "credit-risk", str(artifact), "--no-code")
    run("deploy", "credit-risk@1", "--env", "production")
    lines = [
        json.dumps({"model": "credit-risk", "environment": "production", "decision_id": "c-1",
                    "inputs": {"income": 1}, "output": {"refused": True}}),
        json.dumps({"model": "credit-risk", "version": 1, "decision_id": "c-2",
                    "inputs": {"income": 2}, "output": {"refused": False},
                    "decided_at": "2026-03-03T10:00:00Z"}),
    ]  # fmt: skip
    source = tmp_path / "decisions.jsonl"
    source.write_text("\n".join(lines) + "\n\n")
    assert run("decisions", "import", str(source), "--json").json == {"imported": 2}
    story = run("decision", "show", "c-1", "--json").json
    for key in ("decision_id", "model", "environment", "version", "digest", "decided_at",
                "deployment_event_id", "lineage"):  # fmt: skip
        assert key in story
    assert story["version"] == 1 and story["matches_history"]
    assert "matches the deployment history: yes" in run("decision", "show", "c-1").out
    listed = run("decisions", "list", "credit-risk", "--json").json["decisions"]
    assert [d["decision_id"] for d in listed] == ["c-2", "c-1"]
    only = run("decisions", "list", "credit-risk", "--env", "production", "--json").json
    assert [d["decision_id"] for d in only["decisions"]] == ["c-1"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0].replace("c-1", "c-3") + "\n{not json\n")
    result = run("decisions", "import", str(bad), ok=False)
    assert result.code == 1
    assert "bad.jsonl:2: not JSON" in result.err
    assert run("decision", "show", "c-3", ok=False).code == 1  # nothing of the bad file
    run("decisions", "policy", "credit-risk", "--inputs", "digest")
    assert "not found" in run("decision", "show", "nope", ok=False).err


def test_decision_evidence_report(run: Run, artifact: Path, tmp_path: Path) -> None:
    run("register", "credit-risk", str(artifact), "--no-code")
    run("env", "protect", "credit-risk", "--env", "production")
    request = run("deploy", "credit-risk@1", "--env", "production", "--json").json
    run("approve", str(request["request_id"]), user="bob")
    for i in range(3):
        run("decisions", "import", str(_jsonl(tmp_path, i)))
    out = tmp_path / "why.html"
    doc = run("report", "decision", "q-1-1", "--out", str(out), "--json").json
    assert doc["decision"]["approval"]["approved_by"] == "bob"
    batch = doc["audit"]["decision_batch"]
    assert (batch["status"], batch["rows_match"], batch["count"]) == ("proved", True, 2)
    assert doc["audit"]["deployment_entry"]["status"] == "proved"
    page = out.read_text()
    assert "q-1-1" in page and "<svg" in page and "<script" not in page
    assert json.loads(out.with_suffix(".json").read_text()) == doc


def _jsonl(folder: Path, batch: int) -> Path:
    path = folder / f"batch-{batch}.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"model": "credit-risk", "environment": "production",
                        "decision_id": f"q-{batch}-{k}", "inputs": {"k": k}, "output": k})
            for k in range(2)
        )
    )  # fmt: skip
    return path


def test_import_parquet(run: Run, artifact: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    run("register", "credit-risk", str(artifact), "--no-code")
    run("deploy", "credit-risk@1", "--env", "production", "--effective-at",
        "2026-01-01T00:00:00Z", "--reason", "history")  # fmt: skip
    table = pa.table(
        {
            "model": ["credit-risk", "credit-risk"],
            "environment": ["production", "production"],
            "decision_id": ["pq-1", "pq-2"],
            "decided_at": pa.array(
                [datetime(2026, 3, 3, 10, tzinfo=UTC), datetime(2026, 3, 3, 11, tzinfo=UTC)],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "inputs": [{"income": 1.5, "age": 40}, {"income": 2.5, "age": 41}],
            "output_json": ['{"refused": true}', '{"refused": false}'],
        }
    )
    path = tmp_path / "decisions.parquet"
    pq.write_table(table, path)
    assert run("decisions", "import", str(path), "--json").json == {"imported": 2}
    story = run("decision", "show", "pq-1", "--json").json
    assert story["inputs"] == {"income": 1.5, "age": 40}
    assert story["output"] == {"refused": True}
    assert story["decided_at"] == "2026-03-03T10:00:00.000000Z"
    assert story["version"] == 1 and story["matches_history"]
    naive = tmp_path / "naive.parquet"
    pq.write_table(
        table.set_column(
            3,
            "decided_at",
            pa.array([datetime(2026, 3, 3, 10), datetime(2026, 3, 3, 11)], type=pa.timestamp("us")),
        ),
        naive,
    )
    assert "no time zone" in run("decisions", "import", str(naive), ok=False).err
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    assert "not a readable Parquet file" in run("decisions", "import", str(bad), ok=False).err
    assert (
        "expected a .jsonl or .parquet"
        in run("decisions", "import", str(artifact / "features.csv"), ok=False).err
    )


def test_retention_purges_inputs_but_keeps_records(reg: Registry, tmp_path: Path) -> None:
    clock = reg.clock
    assert isinstance(clock, ManualClock)
    reg.set_decision_inputs("credit-risk", "blob", retention_days=30)
    old = reg.log_decision("credit-risk", version=1, inputs={"ssn": "123"}, output=0,
                           decided_at=T0 - timedelta(days=40), decision_id="old")  # fmt: skip
    recent = reg.log_decision("credit-risk", version=1, inputs={"ssn": "456"}, output=1,
                              decided_at=T0, decision_id="recent")  # fmt: skip
    assert reg.gc().blobs_removed == 0  # inputs kept in the blob store are not garbage
    assert reg.decision_inputs("old") == {"ssn": "123"}
    assert reg.purge_decision_inputs() == {"credit-risk": 1}
    assert reg.purge_decision_inputs() == {}  # idempotent
    purged = reg.decision("old")
    assert purged["inputs_digest"] == old.inputs_digest
    assert purged["inputs_purged_at"] is not None
    with pytest.raises(InvalidInput, match="purged"):
        reg.decision_inputs("old")
    assert reg.decision_inputs("recent") == {"ssn": "456"}
    assert reg.gc().blobs_removed == 1  # the old input blob only
    assert reg.decision_inputs("recent") == {"ssn": "456"}
    entries = [e for e in reg.audit_log("model:credit-risk")
               if e["kind"] == "decisions.inputs_purged"]  # fmt: skip
    assert [(e["change"]["count"], e["change"]["first"]) for e in entries] == [(1, "old")]
    assert reg.audit_verify().ok
    # PostgreSQL keeps inputs apart from the records (see docs/backends.md).
    inputs_table = "decisions" if _dialect(reg) == "sqlite" else "decision_inputs"
    with pytest.raises(Refused, match="purged"):
        raw_execute(reg, f"UPDATE {inputs_table} SET inputs = '{{}}' WHERE decision_id > ''")
    with pytest.raises(Refused, match="never changes"):
        raw_execute(reg, "UPDATE decisions SET output = '2' WHERE decision_id = 'recent'")
    with pytest.raises(Refused, match="never deleted"):
        raw_execute(reg, "DELETE FROM decisions")
    assert recent.version == 1


def _dialect(reg: Registry) -> str:
    return str(getattr(reg.backend.metadata, "dialect", "memory"))


def test_cli_retention(run: Run, artifact: Path, tmp_path: Path) -> None:
    run("register", "credit-risk", str(artifact), "--no-code")
    doc = run("decisions", "policy", "credit-risk", "--inputs", "inline", "--retention-days",
              "1", "--json").json  # fmt: skip
    assert doc["retention_days"] == 1
    old = tmp_path / "old.jsonl"
    old.write_text(json.dumps({"model": "credit-risk", "version": 1, "decision_id": "o-1",
                               "inputs": {"a": 1}, "output": 0,
                               "decided_at": "2020-01-01T00:00:00Z"}))  # fmt: skip
    run("decisions", "import", str(old))
    assert run("decisions", "purge", "--json").json == {"purged": {"credit-risk": 1}}
    assert run("decisions", "purge", "--json").json == {"purged": {}}
    assert run("decision", "show", "o-1", "--json").json["inputs"] is None
    assert run("decisions", "policy", "credit-risk", "--inputs", "x", ok=False).code == 2


def test_a_batch_across_a_switch_is_checked_decision_by_decision(
    reg: Registry, artifact: Path
) -> None:
    """The history is read once per batch; each decision still gets the version (and the
    flags) of the moment it was made, and a batch may mix models, ids and input forms."""
    first = reg.deploy("credit-risk", 1, env="production").event
    second = reg.deploy("credit-risk", 2, env="production").event
    assert first and second
    before, after = first.effective_at, second.effective_at
    reg.register("other", artifact, code=False)
    reg.set_decision_inputs("other", "digest")
    digest = "sha256:" + "ab" * 32
    records: list[dict[str, object]] = [
        {"model": "credit-risk", "environment": "production", "decided_at": before,
         "inputs": {"i": 0}, "output": 0, "decision_id": "r-0"},
        {"model": "credit-risk", "environment": "production", "decided_at": after,
         "inputs": {"i": 1}, "output": 1},
        {"model": "credit-risk", "environment": "production", "version": 1, "decided_at": after,
         "inputs": {"i": 2}, "output": 2, "decision_id": "g-1", "metadata": {"k": "v"}},
        {"model": "credit-risk", "environment": "production", "version": 1, "decided_at": before,
         "inputs": {"i": 3}, "output": 3, "decision_id": "g-0"},
        {"model": "other", "version": 1, "inputs_digest": digest, "output": None,
         "decision_id": "o-1"},
        {"model": "other", "version": 1, "inputs": {"x": 1}, "output": None,
         "decision_id": "o-2"},
    ]  # fmt: skip
    assert reg.log_decisions(records[:4]) == 4
    assert reg.log_decisions(records[4:]) == 2
    stored = {d.decision_id: d for d in reg.decisions("credit-risk")}
    assert stored["r-0"].version == 1 and stored["r-0"].version_source == "resolved"
    (generated,) = [d for k, d in stored.items() if k not in ("r-0", "g-1", "g-0")]
    assert (generated.version, generated.flags, generated.inputs) == (2, (), {"i": 1})
    assert stored["g-1"].flags == ("not_live",) and stored["g-1"].metadata == {"k": "v"}
    assert stored["g-0"].flags == ()
    others = {d.decision_id: d for d in reg.decisions("other")}
    assert others["o-1"].inputs_digest == digest
    assert others["o-1"].flags == ("no_environment",)
    assert others["o-2"].inputs is None and others["o-2"].inputs_mode == "digest"
    assert reg.audit_verify().ok
    batch = reg.report_decision("g-1")["audit"]["decision_batch"]
    assert (batch["count"], batch["rows_match"]) == (4, True)
    both = [  # one batch, two models: filed under "models" in the audit log
        {"model": "credit-risk", "version": 1, "inputs": {"i": 9}, "output": 9,
         "decision_id": "m-1"},
        {"model": "other", "version": 1, "inputs": {"x": 9}, "output": None,
         "decision_id": "m-2"},
    ]  # fmt: skip
    assert reg.log_decisions(both) == 2
    for decision_id in ("m-1", "m-2"):
        mixed = reg.report_decision(decision_id)["audit"]["decision_batch"]
        assert (mixed["count"], mixed["rows_match"]) == (2, True), decision_id
        assert mixed["status"] != "not found"


def test_bulk_refusals_name_the_problem(reg: Registry) -> None:
    reg.deploy("credit-risk", 1, env="production")
    reg.set_decision_inputs("credit-risk", "digest")
    ok = {"model": "credit-risk", "version": 1, "output": 0, "inputs_digest": "sha256:" + "0" * 64}
    cases: list[tuple[dict[str, object], str]] = [
        ({"inputs_digest": "sha256:" + "A" * 64}, "invalid inputs digest"),
        ({"inputs_digest": None}, "needs its inputs"),
        ({"decision_id": "a b"}, "invalid decision id"),
        ({"version": 0}, "invalid version 0"),
        ({"version": True}, "invalid version True"),
        ({"version": 1.0}, "invalid version 1.0"),
        ({"model": "a/b"}, "invalid model name"),
        ({"environment": "two words"}, "invalid environment name"),
        ({"decided_at": "2026-03-01T10:00:00"}, "no time zone"),
        ({"decided_at": 5}, "invalid decision time"),
        ({"output": {1, 2}}, "not JSON"),
        ({"metadata": "x"}, "metadata must be a JSON object"),
    ]
    for change, message in cases:
        batch = [{**ok, "decision_id": f"ok-{i}"} for i in range(3)]
        batch.insert(1, {**ok, **change})
        with pytest.raises(InvalidInput, match=message):
            reg.log_decisions(batch)
    with pytest.raises(InvalidInput, match="must be a JSON object"):
        reg.log_decisions([ok, ["not", "a", "mapping"]])  # type: ignore[list-item]
    reg.set_decision_inputs("credit-risk", "inline")
    with pytest.raises(InvalidInput, match="keeps decision inputs"):
        reg.log_decisions([ok])
    assert reg.decisions("credit-risk") == []
    assert reg.log_decisions([]) == 0


def test_columns_make_the_same_decisions_as_records(reg: Registry) -> None:
    deployed = reg.deploy("credit-risk", 1, env="production").event
    assert deployed
    times = [deployed.effective_at + timedelta(seconds=i) for i in range(3)]
    assert (
        reg.log_decision_columns(
            "credit-risk",
            environment="production",
            decided_at=times,
            inputs=[{"i": i} for i in range(3)],
            outputs=(0.5, [1], {"p": 2}),
            decision_ids=["c-0", "c-1", "c-2"],
            metadata={"channel": "batch"},
        )
        == 3
    )
    reg.log_decisions(
        {"model": "credit-risk", "environment": "production", "decided_at": t,
         "inputs": {"i": i}, "output": o, "decision_id": f"r-{i}",
         "metadata": {"channel": "batch"}}
        for i, (t, o) in enumerate(zip(times, (0.5, [1], {"p": 2}), strict=True))
    )  # fmt: skip
    for i in range(3):
        by_columns = reg.backend.metadata.get_decision(f"c-{i}")
        by_records = reg.backend.metadata.get_decision(f"r-{i}")
        fields = ("version", "version_source", "decided_at", "inputs_digest", "inputs",
                  "output", "metadata", "flags")  # fmt: skip
        assert [getattr(by_columns, f) for f in fields] == [getattr(by_records, f) for f in fields]
    reg.set_decision_inputs("credit-risk", "digest")
    digests = ["sha256:" + f"{i:064x}" for i in range(4)]
    assert reg.log_decision_columns("credit-risk", version=3, inputs_digests=digests,
                                    outputs=[None] * 4) == 4  # fmt: skip
    flagged = reg.decisions("credit-risk")[-1]
    assert (flagged.version, flagged.flags, flagged.inputs_digest) == (
        3,
        ("no_environment",),
        digests[-1],
    )
    with pytest.raises(InvalidInput, match="one value per decision"):
        reg.log_decision_columns("credit-risk", version=1, outputs=[1, 2],
                                 inputs_digests=digests)  # fmt: skip
    with pytest.raises(InvalidInput, match="one value per decision"):
        reg.log_decision_columns("credit-risk", version=1, outputs="ab", inputs_digests=digests)
    with pytest.raises(InvalidInput, match="not both"):
        reg.log_decision_columns("credit-risk", version=1, outputs=[1], inputs=[{}],
                                 inputs_digests=digests[:1])  # fmt: skip
    with pytest.raises(InvalidInput, match="nothing was live"):
        reg.log_decision_columns(
            "credit-risk",
            environment="production",
            outputs=[1],
            inputs_digests=digests[:1],
            decided_at=[deployed.effective_at - timedelta(days=1)],
        )
    assert len(reg.decisions("credit-risk")) == 10
    assert reg.audit_verify().ok


def test_import_parquet_digest_only_with_millisecond_times(reg: Registry, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    reg.deploy("credit-risk", 2, env="production")
    reg.set_decision_inputs("credit-risk", "digest")
    when = datetime(2026, 3, 3, 10, 0, 0, 123000, tzinfo=UTC)
    table = pa.table(
        {
            "model": ["credit-risk"] * 2,
            "environment": ["production"] * 2,
            "decision_id": ["pq-1", "pq-2"],
            "decided_at": pa.array([when, None], type=pa.timestamp("ms", tz="Europe/Paris")),
            "inputs_digest": ["sha256:" + "1" * 64, "sha256:" + "2" * 64],
            "output": [0.25, 0.75],
            "metadata_json": ['{"b": 1, "a": 2}', None],
        }
    )
    path = tmp_path / "digests.parquet"
    pq.write_table(table, path)
    assert reg.import_decisions(path) == 2
    first, second = (reg.backend.metadata.get_decision(f"pq-{i}") for i in (1, 2))
    assert (first.decided_at, first.version, first.output, first.metadata) == (
        when,
        2,
        0.25,
        {"a": 2, "b": 1},
    )
    assert second.decided_at < second.recorded_at and second.metadata == {}  # now, by the clock
    assert second.inputs_digest == "sha256:" + "2" * 64 and second.inputs is None


def test_columns_from_arrow_and_numpy(reg: Registry) -> None:
    from datetime import UTC, datetime

    import numpy as np
    import pyarrow as pa

    reg.set_decision_inputs("credit-risk", "digest")
    when = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    count = reg.log_decision_columns(
        "credit-risk",
        version=2,
        decision_ids=pa.array(["a-1", "a-2"]),
        decided_at=pa.array([when, when], type=pa.timestamp("us", tz="UTC")),
        inputs_digests=pa.array(["sha256:" + "a" * 64, "sha256:" + "b" * 64]),
        outputs=np.array([0.25, 0.5]),
    )
    assert count == 2
    stored = reg.backend.metadata.get_decision("a-2")
    assert (stored.decided_at, stored.output, stored.version) == (when, 0.5, 2)


def test_a_large_mixed_batch_reads_back_as_sent(reg: Registry, artifact: Path) -> None:
    """Hundreds of decisions in one batch (several multi-row statements and a remainder),
    with values shared by all, by some, or by none: each reads back exactly as sent, a
    repeated id far into the batch refuses all of it, and the audit digest matches the rows."""
    first = reg.deploy("credit-risk", 1, env="production").event
    second = reg.deploy("credit-risk", 2, env="production").event
    assert first and second
    reg.register("other", artifact, code=False)
    count = 3 * 256 + 37
    records = [
        {"model": "credit-risk" if i % 5 else "other", "version": 1 + i % 3,
         "environment": "production" if i % 7 else None,
         "decided_at": (first if i < count // 2 else second).effective_at
         + timedelta(microseconds=i),
         "inputs": {"i": i}, "output": {"p": i / 7, "label": "é" * (i % 3)},
         "decision_id": f"mix-{i:0{1 + i % 4}d}",
         "metadata": {"n": i} if i % 11 == 0 else None}
        for i in range(count)
    ]  # fmt: skip
    with pytest.raises(Conflict, match="'mix-0' is already recorded"):
        reg.log_decisions([*records, {**records[-1], "decision_id": "mix-0"}])
    assert reg.decisions("credit-risk") == []
    assert reg.log_decisions(records) == count
    for i, record in enumerate(records):
        stored = reg.backend.metadata.get_decision(str(record["decision_id"]))
        live = 1 if i < count // 2 else 2
        flags = ("version_unknown",) if record["model"] == "other" and record["version"] > 1 else ()
        if record["environment"] is None:
            flags = (*flags, "no_environment")
        elif record["model"] == "other" or record["version"] != live:
            flags = (*flags, "not_live")
        assert (stored.model, stored.version, stored.environment, stored.decided_at) == (
            record["model"], record["version"], record["environment"], record["decided_at"],
        )  # fmt: skip
        assert (stored.inputs, stored.output, stored.metadata, stored.version_source) == (
            record["inputs"], record["output"], record["metadata"] or {}, "given",
        )  # fmt: skip
        assert stored.flags == flags, record
    assert reg.audit_verify().ok
    (entry,) = [e for e in reg.audit_log("models") if e["kind"] == "decisions.logged"]
    rows = reg.backend.metadata.decision_batch(entry["change"]["first"], entry["change"]["last"])
    assert len(rows) == entry["change"]["count"] == count
    assert entry["change"]["rows_sha256"] == rows_digest(
        [(d.decision_id, d.model, d.environment, d.version, to_micros(d.decided_at),
          d.inputs_digest, canonical_json(d.output), canonical_json(d.metadata) if d.metadata
          else "{}", json.dumps(list(d.flags))) for d in rows]
    )  # fmt: skip
    same = [{"model": "credit-risk", "version": 1, "inputs": {}, "output": 0,
             "decision_id": f"same-{i}"} for i in range(300)]  # fmt: skip
    odd = {"model": "credit-risk", "version": 1, "inputs": {}, "output": 0, "metadata": {"x": 1}}
    assert reg.log_decisions([*same, odd]) == 301  # as many fields as the others, not the same
    assert reg.backend.metadata.get_decision("same-299").metadata == {}
    assert [d.metadata for d in reg.decisions("credit-risk", limit=10**4)[-2:]] == [{}, {"x": 1}]
    report = reg.report_decision("same-0")["audit"]["decision_batch"]
    assert (report["count"], report["rows_match"]) == (301, True)
