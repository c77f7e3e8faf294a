"""`modelrepo role ...` and the remote registry's role bindings against a real `modelrepo
serve`: granted by the server as the calling token's user, never beyond its rights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelrepo import Registry
from modelrepo.cli import cli as main
from modelrepo.domain.errors import Forbidden, InvalidInput, NotFound, NotSupported

from ..cli.conftest import Result, Run
from ..serving import serve

pytestmark = pytest.mark.sqlite_only

IDP = "https://idp.bank.example"


def test_role_bindings_through_a_real_server(store_dir: Path, tmp_path: Path, run: Run) -> None:
    run("init")
    admin = run("token", "create", "--user", "alice", "--role", "admin", "--json").json["token"]
    scoped = run(
        "token", "create", "--user", "fraud-lead", "--role", "admin", "--model", "fraud-*",
        "--json",
    ).json["token"]  # fmt: skip
    viewer = run("token", "create", "--user", "vic", "--role", "viewer", "--json").json["token"]
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):

        def cli(*args: str, token: str = admin, ok: bool = True) -> Result:
            done = CliRunner().invoke(
                main, ["--store", url, *args], env={"MODELREPO_TOKEN": token},
                catch_exceptions=False,
            )  # fmt: skip
            result = Result(done.exit_code, done.stdout, done.stderr)
            assert (result.code == 0) == ok, result
            if not ok:
                assert result.err.startswith("error: ") and result.err.count("\n") == 1
            return result

        made = json.loads(
            cli("role", "grant", "erin@bank.example", "--role", "deployer", "--model",
                "fraud-*", "--issuer", IDP, "--json").out
        )  # fmt: skip
        assert (made["granted_by"], made["issuer"]) == ("alice", IDP)
        no_issuer = cli("role", "grant", "erin@bank.example", "--role", "viewer", ok=False)
        assert "no identity provider configured" in no_issuer.err
        wider = cli("role", "grant", "gus@bank.example", "--role", "viewer", "--issuer", IDP,
                    token=scoped, ok=False)  # fmt: skip
        assert "scoped to 'fraud-*'" in wider.err
        denied = cli("role", "list", token=viewer, ok=False)
        assert "role viewer may not tokens" in denied.err

        with Registry(url, token=admin) as reg:
            other = reg.grant_role("frank@bank.example", "viewer", issuer=IDP)
            assert [b.binding_id for b in reg.role_bindings()] == [
                made["binding_id"], other.binding_id,
            ]  # fmt: skip
            with pytest.raises(InvalidInput, match="service account"):
                reg.grant_role("svc:scorer", "viewer", issuer=IDP)
            with pytest.raises(NotSupported, match="grants_for"):
                reg.grants_for(IDP, "frank@bank.example")
        with Registry(url, token=scoped) as reg:
            assert [b.principal for b in reg.role_bindings()] == ["erin@bank.example"]
            with pytest.raises(NotFound):
                reg.revoke_role(other.binding_id)
            with pytest.raises(Forbidden):
                reg.grant_role("gus@bank.example", "admin", issuer=IDP)
            revoked = reg.revoke_role(made["binding_id"])
            assert (revoked.revoked_by, revoked.active) == ("fraud-lead", False)

        assert "already revoked" in cli("role", "revoke", made["binding_id"], ok=False).err
        active = json.loads(cli("role", "list", "--active", "--json").out)
        assert [b["principal"] for b in active] == ["frank@bank.example"]
        assert json.loads(cli("audit", "verify", "--json").out)["ok"] is True
