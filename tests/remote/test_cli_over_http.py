"""The CLI with `--store http://...`: decisions import, token create/list/revoke, input
policy, purge, audit log and consistency, webhooks, against a real `modelrepo serve`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelrepo import Registry
from modelrepo.cli import cli as main

from ..cli.conftest import Result, Run
from ..serving import serve

pytestmark = pytest.mark.sqlite_only


def test_decisions_tokens_and_audit_through_a_real_server(
    store_dir: Path, tmp_path: Path, run: Run, artifact: Path
) -> None:
    run("init")
    admin = run("token", "create", "--user", "alice", "--role", "admin", "--json").json["token"]
    scoped = run(
        "token", "create", "--user", "fraud-lead", "--role", "admin", "--model", "fraud-*",
        "--json",
    ).json["token"]  # fmt: skip
    options = ["--import-limit", "4KiB"]
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log", options) as (url, _):

        def cli(*args: str, token: str = admin, ok: bool = True) -> Result:
            """The CLI in-process (Click's runner), talking HTTP to the server process."""
            done = CliRunner().invoke(
                main, ["--store", url, *args], env={"MODELREPO_TOKEN": token},
                catch_exceptions=False,
            )  # fmt: skip
            result = Result(done.exit_code, done.stdout, done.stderr)
            assert (result.code == 0) == ok, result
            if not ok:
                assert result.err.startswith("error: ") and result.err.count("\n") == 1
            return result

        with Registry(url, token=admin) as reg:
            reg.register("credit-risk", artifact, code=False)
            reg.deploy("credit-risk", 1, env="production")

        # decisions import: streamed to the server, recorded there in one transaction
        records = [{"model": "credit-risk", "environment": "production", "inputs": {"i": i},
                    "output": i % 2, "decision_id": f"loan-{i}"} for i in range(20)]  # fmt: skip
        small = tmp_path / "march.jsonl"
        small.write_text("".join(json.dumps(r) + "\n" for r in records))
        assert json.loads(cli("decisions", "import", str(small), "--json").out) == {"imported": 20}
        shown = json.loads(cli("decision", "show", "loan-7", "--json").out)
        assert (shown["version"], shown["matches_history"], shown["flags"]) == (1, True, [])
        again = cli("decisions", "import", str(small), ok=False)
        assert "loan-0" in again.err
        big = tmp_path / "april.jsonl"
        big.write_text(
            "".join(json.dumps({**r, "decision_id": f"big-{n}"}) + "\n" for n, r in
                    enumerate(records * 5))
        )  # fmt: skip
        refused = cli("decisions", "import", str(big), ok=False)
        assert "larger than the limit of 4096 bytes" in refused.err
        broken = tmp_path / "may.jsonl"
        broken.write_text(json.dumps({**records[0], "decision_id": "x"}) + "\n{\n")
        assert "may.jsonl:2: not JSON" in cli("decisions", "import", str(broken), ok=False).err
        listed = json.loads(cli("decisions", "list", "credit-risk", "--json").out)
        assert len(listed["decisions"]) == 20

        # tokens: shown once, listed without secrets, revoked; never beyond the caller's rights;
        # for oneself or a service account, never for another person
        made = json.loads(
            cli("token", "create", "--user", "svc:bob", "--role", "deployer", "--model", "fraud-*",
                "--json").out
        )  # fmt: skip
        assert made["token"].startswith(f"mr_{made['token_id']}_") and made["created_by"] == "alice"
        human = cli("token", "create", "--role", "viewer")
        assert human.out.strip().startswith("mr_") and "not shown again" in human.err
        assert "for alice" in human.err
        refused = cli("token", "create", "--user", "carol", "--role", "viewer", ok=False)
        assert "acts as the identity that mints it" in refused.err
        tokens = cli("token", "list", "--json").out
        assert made["token"] not in tokens and human.out.strip() not in tokens
        assert {t["user"] for t in json.loads(tokens)} == {"alice", "fraud-lead", "svc:bob"}
        assert "revoked" in cli("token", "revoke", made["token_id"]).out
        assert "already revoked" in cli("token", "revoke", made["token_id"], ok=False).err
        active = json.loads(cli("token", "list", "--active", "--json").out)
        assert made["token_id"] not in {t["token_id"] for t in active}
        wider = cli("token", "create", "--role", "viewer", token=scoped, ok=False)
        assert "scoped to 'fraud-*'" in wider.err
        inside = cli(
            "token", "create", "--user", "svc:eve", "--role", "viewer", "--model", "fraud-cards",
            token=scoped,
        )  # fmt: skip
        assert inside.out.startswith("mr_")

        # inputs policy, purge, the audit log and a consistency proof
        cli("decisions", "policy", "credit-risk", "--inputs", "blob", "--retention-days", "30")
        assert "Nothing to purge" in cli("decisions", "purge").out
        log = json.loads(cli("audit", "log", "--model", "credit-risk", "--json").out)
        kinds = [e["kind"] for e in log["entries"]]
        assert kinds[-1] == "decisions.policy_set" and kinds.count("decisions.logged") == 1
        size = len(json.loads(cli("audit", "log", "--json").out)["entries"])
        proof = json.loads(cli("audit", "consistency", "3").out)
        assert (proof["old_size"], proof["new_size"]) == (3, size)

        # webhooks
        hook = json.loads(
            cli("webhook", "add", "https://hooks.example/mr", "--event", "deployed",
                "--json").out
        )  # fmt: skip
        assert hook["secret"].startswith("whsec_")
        assert hook["secret"] not in cli("webhook", "list", "--json").out
        cli("webhook", "disable", hook["webhook_id"])
        assert json.loads(cli("webhook", "deliveries", "--attempts", "--json").out) == []
