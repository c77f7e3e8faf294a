"""A tree model's decisions replay through the CLI over HTTP, against a real `modelrepo serve`:
its trusted type is recorded with the version (`register --trust`, or `trust` later, admin
only), and neither the client nor the replay names it again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from modelrepo import Registry
from modelrepo.cli import cli as main

from ..cli.conftest import Result, Run
from ..serving import serve

pytestmark = pytest.mark.sqlite_only

TREE = "sklearn.tree._tree.Tree"


def test_a_forest_trusted_on_the_server_replays_through_the_cli(
    store_dir: Path, tmp_path: Path, run: Run
) -> None:
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(9)
    x = rng.normal(size=(60, 3))
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0)
    folder = tmp_path / "forest"
    folder.mkdir()
    sio.dump(forest.fit(x, (x[:, 1] > 0).astype(int)), folder / "model.skops")
    run("init")
    admin = run("token", "create", "--user", "alice", "--role", "admin", "--json").json["token"]
    maker = run("token", "create", "--user", "carl", "--role", "contributor", "--json").json
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):

        def cli(*args: str, token: str = admin, ok: bool = True) -> Result:
            done = CliRunner().invoke(
                main, ["--store", url, *args], env={"MODELREPO_TOKEN": token},
                catch_exceptions=False,
            )  # fmt: skip
            result = Result(done.exit_code, done.stdout, done.stderr)
            assert (result.code == 0) == ok, result
            return result

        register = ("register", "forest", str(folder), "--flavor", "sklearn", "--no-code")
        refused = cli(*register, "--trust", TREE, token=maker["token"], ok=False)
        assert "role contributor may not trust" in refused.err
        cli(*register, token=maker["token"])  # v1, nothing trusted
        cli(*register, "--trust", TREE)  # v2, trusted at registration by the admin
        denied = cli("trust", "forest@1", TREE, "--reason", "x", token=maker["token"], ok=False)
        assert "may not trust" in denied.err
        cli("trust", "forest@1", TREE, "--reason", "validated by model risk")
        for version in (1, 2):
            cli("deploy", f"forest@{version}", "--env", f"env{version}")
            with Registry(url, token=admin, cache_dir=tmp_path / "cache") as reg:
                handle = reg.load_live("forest", env=f"env{version}")
                handle.predict([[0.1, 0.5, -0.3], [1.0, -1.0, 0.0]], decision_id=f"v{version}")
                handle.close()
            replayed = cli("decision", "replay", f"v{version}", "--json", token=maker["token"])
            assert '"match": true' in replayed.out
