"""Trust over HTTP: only a role allowed to trust may record it (at registration or later), and
a remote client loads, decides and replays with the recorded trust, retyping nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from modelrepo import Forbidden, InvalidInput, Registry
from modelrepo.remote import RemoteRegistry

from .conftest import Api

pytestmark = pytest.mark.sqlite_only  # the transport is under test; stores: the contract suites

TREE = "sklearn.tree._tree.Tree"
ROW = [0.2, -0.4, 1.1]


@pytest.fixture(scope="module")
def forest_bytes() -> bytes:
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 3))
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0)
    return bytes(sio.dumps(forest.fit(x, (x[:, 0] > 0).astype(int))))


def _upload(api: Api, who: str, forest: bytes, **metadata: object) -> object:
    return api.client.post(
        "/api/v1/models/forest/versions",
        headers=api.as_(who),
        files=[("files", ("model.skops", forest))],
        data={"metadata": json.dumps({"flavor": "sklearn", **metadata})},
    )


def test_only_a_role_that_may_trust_records_trust(api: Api, forest_bytes: bytes) -> None:
    refused = _upload(api, "contributor", forest_bytes, trusted_types=[TREE])
    assert refused.status_code == 403, refused.text  # type: ignore[attr-defined]
    assert "may not trust" in refused.json()["message"]  # type: ignore[attr-defined]
    assert api.client.get("/api/v1/models/forest/versions", headers=api.as_("admin")).status_code \
        == 404  # fmt: skip  # nothing was registered
    plain = _upload(api, "contributor", forest_bytes)
    assert plain.status_code == 201  # type: ignore[attr-defined]
    path = "/api/v1/models/forest/versions/1/trust"
    body = {"types": [TREE], "reason": "validated"}
    assert api.client.post(path, json=body, headers=api.as_("contributor")).status_code == 403
    assert api.client.post(path, json=body, headers=api.as_("deployer")).status_code == 403
    empty = api.client.post(path, json={"types": [], "reason": "x"}, headers=api.as_("admin"))
    assert empty.status_code == 422
    bad = api.client.post(path, json={"types": ["a b"], "reason": "x"}, headers=api.as_("admin"))
    assert bad.status_code == 422 and "invalid trusted type" in bad.json()["message"]
    blank = api.client.post(path, json={"types": [TREE], "reason": " "}, headers=api.as_("admin"))
    assert blank.status_code == 422 and "needs a reason" in blank.json()["message"]
    granted = api.client.post(path, json=body, headers=api.as_("admin"))
    assert granted.status_code == 200, granted.text
    assert granted.json() == {"model": "forest", "version": 1, "trusted_types": [TREE]}
    events = api.client.get(
        "/api/v1/models/forest/versions/1/events", headers=api.as_("viewer")
    ).json()
    assert [(e["kind"], e["key"], e["actor"], e["reason"]) for e in events] == [
        ("trusted", TREE, "admin-user", "validated")
    ]
    made = _upload(api, "admin", forest_bytes, trusted_types=[TREE])
    assert made.status_code == 201  # type: ignore[attr-defined]
    assert [e.key for e in api.registry.events("forest", 2)] == [TREE]
    assert api.registry.audit_verify().ok


@pytest.fixture
def remote(api: Api, tmp_path: Path) -> Iterator[RemoteRegistry]:
    with RemoteRegistry(
        "http://testserver",
        token=api.tokens["admin"],
        client=api.client,
        allow_insecure_http=True,
        cache_dir=tmp_path / "cache",
    ) as remote:
        yield remote


def test_a_remote_client_registers_trusts_decides_and_replays(
    remote: RemoteRegistry, api: Api, tmp_path: Path, forest_bytes: bytes
) -> None:
    folder = tmp_path / "forest"
    folder.mkdir()
    (folder / "model.skops").write_bytes(forest_bytes)
    remote.register("forest", folder, flavor="sklearn", code=False)
    with pytest.raises(InvalidInput, match=f"not trusted: {TREE}"):
        remote.load("forest", 1)
    with pytest.raises(InvalidInput, match="needs a reason"):
        remote.trust("forest", 1, [TREE], reason="")
    assert remote.trust("forest", 1, [TREE], reason="validated") == [TREE]
    remote.register("forest", folder, flavor="sklearn", code=False, trusted_types=[TREE])
    assert [e.key for e in remote.events("forest", 2)] == [TREE]
    remote.deploy("forest", 1, env="production")
    handle = remote.load_live("forest", env="production")
    handle.predict(ROW, decision_id="remote-1")
    handle.close()
    replayed = remote.replay("remote-1")  # on the server, with the recorded trust
    assert replayed["match"] is True and replayed["max_abs_diff"] == 0.0
    zipmap = {0: np.float32(0.25), 1: np.float64(0.75)}  # NumPy values travel in JSON form
    logged = remote.log_decision("forest", version=1, inputs=ROW, output=zipmap)
    assert logged.output == {"0": 0.25, "1": 0.75}
    assert (
        remote.log_decision_columns(
            "forest", version=1, inputs=[ROW], outputs=np.asarray([0.5], dtype=np.float32)
        )
        == 1
    )
    viewer = RemoteRegistry("http://testserver", token=api.tokens["viewer"], client=api.client,
                            allow_insecure_http=True, cache_dir=tmp_path / "c2")  # fmt: skip
    with pytest.raises(Forbidden):
        viewer.trust("forest", 2, ["numpy.dtype"], reason="x")
    assert viewer.replay("remote-1")["match"] is True  # replay is a read


def test_register_with_trust_in_the_embedded_registry_checks_the_names(
    registry: Registry, tmp_path: Path
) -> None:
    folder = tmp_path / "g"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"w")
    with pytest.raises(InvalidInput, match="not one string"):
        registry.register("g", folder, code=False, trusted_types=TREE)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="invalid trusted type"):
        registry.register("g", folder, code=False, trusted_types=["os.system()"])
    assert registry.models() == []  # refused before anything was stored
