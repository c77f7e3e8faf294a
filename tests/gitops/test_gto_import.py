"""`modelrepo import gto`: a registry GTO itself wrote, imported version by version and event
by event, then imported again with nothing duplicated; hostile repositories refused."""

from __future__ import annotations

import hashlib
import json
import shutil
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelrepo import Registry
from modelrepo.gitrepo import list_tags
from modelrepo.importers.gto import import_gto, parse_tag

from ..cli.conftest import Run
from ..conftest import OpenRegistry
from .gitrepo import commit, git, init

gto_api = pytest.importorskip("gto.api")

CHURN_V1 = '{"features": ["tenure"], "coefficients": {"tenure": -0.3}, "intercept": 0.1}\n'
CHURN_V2 = '{"features": ["tenure"], "coefficients": {"tenure": -0.4}, "intercept": 0.2}\n'
FRAUD_V1 = b"fraud weights v1\n"
FRAUD_V2 = b"fraud weights v2, never pushed to any remote\n"


CHURN_HISTORY = [
    ("staging", "deploy", 1, "2026-01-10T10:00"),
    ("prod", "deploy", 1, "2026-01-15T10:00"),
    ("staging", "deploy", 2, "2026-02-03T10:00"),
    ("prod", "deploy", 2, "2026-02-10T10:00"),
    ("prod", "deploy", 1, "2026-02-20T10:00"),  # v1.1.0 unassigned: v1.0.0 again
    ("prod", "undeploy", None, "2026-03-01T10:00"),  # v1.0.0 deregistered
    ("staging", "undeploy", None, "2026-03-05T10:00"),  # the artifact deprecated
]


def dvc_pointer(content: bytes, path: str) -> str:
    md5 = hashlib.md5(content).hexdigest()
    return f"outs:\n- md5: {md5}\n  size: {len(content)}\n  hash: md5\n  path: {path}\n"


class TagClock:
    """GTO tags through Dulwich, which stamps them with `time.time()`: this sets that time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 0.0
        fake = types.SimpleNamespace(time=lambda: self.now)
        monkeypatch.setattr("dulwich.porcelain.tag.time", fake)
        monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00+0000")  # the zone only

    def at(self, iso: str) -> TagClock:
        self.now = datetime.fromisoformat(iso).timestamp()
        return self


@pytest.fixture(scope="module")
def gto_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Built once per module (GTO takes seconds); each test gets its own copy."""
    base = tmp_path_factory.mktemp("gto")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("HOME", str(base / "home"))
        yield build_gto_repo(base / "registry", monkeypatch)


@pytest.fixture
def gto_repo(gto_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(gto_template, tmp_path / "registry", symlinks=True))


def build_gto_repo(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """churn: two versions through staging and prod, an unassignment, a deregistration and
    the artifact's deprecation; fraud: tracked by DVC, one version in the local cache and one
    whose content is nowhere here. Every tag is written by GTO at a distinct instant."""
    repo = init(path)
    clock = TagClock(monkeypatch)
    who = {"author": "Bob Builder", "author_email": "bob@bank.example"}
    declared = (
        "churn:\n  type: model\n  path: models/churn\n  description: churn propensity\n"
        "fraud:\n  type: model\n  path: fraud.bin\n"
    )
    c1 = commit(
        repo,
        {
            "artifacts.yaml": declared,
            "models/churn/coefficients.json": CHURN_V1,
            "models/churn/README": "churn model\n",
            "fraud.bin.dvc": dvc_pointer(FRAUD_V1, "fraud.bin"),
            ".dvc/config": "[core]\n    autostage = true\n",
            "dvc.lock": (
                "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n"
                "    - path: data/train.csv\n      hash: md5\n"
                "      md5: 0123456789abcdef0123456789abcdef\n      size: 10\n"
            ),
        },
        "first models",
        at="2026-01-02T09:00:00Z",
    )
    md5 = hashlib.md5(FRAUD_V1).hexdigest()
    cached = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(FRAUD_V1)  # the local cache is untracked, as DVC leaves it
    c2 = commit(
        repo,
        {
            "models/churn/coefficients.json": CHURN_V2,
            "fraud.bin.dvc": dvc_pointer(FRAUD_V2, "fraud.bin"),
            ".gitignore": "/.dvc/cache\n",
        },
        "retrained",
        at="2026-01-30T09:00:00Z",
    )
    c3 = commit(
        repo, {"notes.txt": "not a registered version\n"}, "notes", at="2026-03-09T09:00:00Z"
    )
    steps = [
        ("2026-01-05T10:00:00", gto_api.register, ("churn",), {"ref": c1, "version": "v1.0.0"}),
        ("2026-01-06T10:00:00", gto_api.register, ("fraud",), {"ref": c1, "version": "v0.1.0"}),
        ("2026-01-10T10:00:00", gto_api.assign, ("churn", "staging"), {"version": "v1.0.0"}),
        ("2026-01-15T10:00:00", gto_api.assign, ("churn", "prod"), {"version": "v1.0.0"}),
        ("2026-01-16T10:00:00", gto_api.assign, ("fraud", "prod"), {"version": "v0.1.0"}),
        ("2026-02-01T10:00:00", gto_api.register, ("churn",), {"ref": c2, "version": "v1.1.0"}),
        ("2026-02-02T10:00:00", gto_api.register, ("fraud",), {"ref": c2, "version": "v0.2.0"}),
        ("2026-02-03T10:00:00", gto_api.assign, ("churn", "staging"), {"version": "v1.1.0"}),
        ("2026-02-10T10:00:00", gto_api.assign, ("churn", "prod"), {"version": "v1.1.0"}),
        (
            "2026-02-20T10:00:00",
            gto_api.unassign,
            ("churn",),
            {"stage": "prod", "version": "v1.1.0"},
        ),
        ("2026-03-01T10:00:00", gto_api.deregister, ("churn",), {"version": "v1.0.0"}),
        ("2026-03-05T10:00:00", gto_api.deprecate, ("churn",), {}),
        (
            "2026-03-10T10:00:00",
            gto_api.assign,
            ("fraud", "qa"),
            {"ref": c3, "skip_registration": True},
        ),
    ]
    for when, action, args, kwargs in steps:
        clock.at(when + "+00:00")
        action(repo, *args, **kwargs, **who)
    git(repo, "tag", "fraud#dev#99", c1)  # lightweight: GTO ignores it, so do we
    return repo


def test_tags_parse_as_gto_parses_them(gto_repo: Path) -> None:
    from gto.tag import parse_name

    for tag in list_tags(gto_repo):
        ours = parse_tag(tag)
        theirs = parse_name(tag.name)
        assert ours is not None, tag.name
        assert ours.artifact == theirs["name"]
        assert ours.action == theirs["action"].value
        assert ours.version == theirs.get("version")
        assert ours.stage == theirs.get("stage")


def history(reg: Registry, model: str) -> list[tuple[str, str, int | None, str]]:
    return [
        (
            e.environment,
            e.kind,
            e.versions[0].version if e.versions else None,
            e.effective_at.isoformat()[:16],
        )
        for e in reg.history(model)
    ]


def test_import_version_by_version_and_event_by_event(
    gto_repo: Path, run: Run, store_dir: Path
) -> None:
    doc = run("import", "gto", "--repo", str(gto_repo), "--json").json
    assert [(r["model"], r["version"], r["gto_version"]) for r in doc["registered"]] == [
        ("churn", 1, "v1.0.0"),
        ("churn", 2, "v1.1.0"),
        ("fraud", 1, "v0.1.0"),
        ("fraud", 2, "v0.2.0"),
    ]
    unmapped = "\n".join(doc["unmapped"])
    assert "fraud#dev#99: a lightweight tag" in unmapped
    assert "fraud#qa#" in unmapped and "no imported version of fraud" in unmapped
    assert "fraud@v0.2.0: fraud.bin is in DVC storage that is not reachable here" in unmapped

    with Registry(store_dir) as reg:
        v1, v2 = reg.versions("churn", include_deleted=True)
        assert reg.read_file("churn", 1, "coefficients.json").decode() == CHURN_V1
        assert reg.read_file("churn", 2, "coefficients.json").decode() == CHURN_V2
        assert sorted(f.path for f in v1.files) == ["README", "coefficients.json"]
        assert v1.lineage.code is not None
        assert v1.lineage.code.commit == git(gto_repo, "rev-list", "-n1", "churn@v1.0.0")
        assert v2.lineage.code is not None
        assert v2.lineage.code.commit == git(gto_repo, "rev-list", "-n1", "churn@v1.1.0")
        assert [(d.uri, d.digest) for d in v1.lineage.data] == [
            ("dvc://data/train.csv", "md5:0123456789abcdef0123456789abcdef")
        ]
        assert v1.tags["gto.version"] == "v1.0.0"
        assert v1.tags["gto.registered_by"] == "Bob Builder <bob@bank.example>"
        assert v1.tags["gto.registered_at"] == "2026-01-05T10:00:00.000000Z"
        assert v1.tags["gto.type"] == "model"
        assert "churn@v1.0.0" in v1.description and "churn propensity" in v1.description
        assert v1.deprecated and not v2.deprecated  # v1.0.0 was deregistered
        # fraud v0.1.0 came out of the local DVC cache; v0.2.0 is only a reference
        assert reg.read_file("fraud", 1, "fraud.bin") == FRAUD_V1
        f2 = reg.get("fraud", 2)
        assert [f.path for f in f2.files] == ["fraud.bin.dvc"]
        assert ("dvc://fraud.bin", "md5:" + hashlib.md5(FRAUD_V2).hexdigest()) in [
            (d.uri, d.digest) for d in f2.lineage.data
        ]

        assert history(reg, "churn") == CHURN_HISTORY
        assert history(reg, "fraud") == [("prod", "deploy", 1, "2026-01-16T10:00")]
        events = reg.history("churn")
        assert all(e.backfill for e in events)
        assert all(str(gto_repo) in (e.reason or "") for e in events)
        assert "churn#prod#2" in (events[1].reason or "")
        assert "churn@v1.0.0!" in (events[5].reason or "")

    def live(env: str, at: str) -> list[int]:
        state = run("live", "churn", "--env", env, "--at", at, "--json").json
        return [v["version"] for v in state["versions"]]

    assert live("prod", "2026-01-12T00:00:00Z") == []
    assert live("prod", "2026-01-20T00:00:00Z") == [1]
    assert live("prod", "2026-02-15T00:00:00Z") == [2]
    assert live("prod", "2026-02-25T00:00:00Z") == [1]
    assert live("prod", "2026-03-02T00:00:00Z") == []
    assert live("staging", "2026-02-01T00:00:00Z") == [1]
    assert live("staging", "2026-03-04T00:00:00Z") == [2]
    assert live("staging", "2026-03-06T00:00:00Z") == []


def test_import_twice_duplicates_nothing(gto_repo: Path, run: Run, store_dir: Path) -> None:
    first = run("import", "gto", "--repo", str(gto_repo), "--json").json
    with Registry(store_dir) as reg:
        before = (history(reg, "churn"), reg.versions("churn", include_deleted=True))
        audit_size = len(reg.audit_log())
    again = run("import", "gto", "--repo", str(gto_repo))
    assert "0 versions and 0 deployment events imported; 4 versions and 8 events" in again.out
    with Registry(store_dir) as reg:
        assert (history(reg, "churn"), reg.versions("churn", include_deleted=True)) == before
        assert len(reg.audit_log()) == audit_size
    assert len(first["events"]) == 8


def test_new_tags_import_only_what_is_new(
    gto_repo: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("import", "gto", "--repo", str(gto_repo))
    TagClock(monkeypatch).at("2026-03-20T10:00:00+00:00")
    gto_api.assign(gto_repo, "fraud", "staging", version="v0.1.0", author="Cy", author_email="c@x")
    doc = run("import", "gto", "--repo", str(gto_repo), "--json").json
    assert doc["registered"] == []
    assert [(e["model"], e["environment"], e["version"]) for e in doc["events"]] == [
        ("fraud", "staging", 1)
    ]
    assert doc["events"][0]["effective_at"] == "2026-03-20T10:00:00.000000Z"


def hostile_repo(tmp_path: Path, declared: str, files: dict[str, str | bytes]) -> Path:
    repo = init(tmp_path / "hostile")
    commit(repo, {"artifacts.yaml": declared, **files}, "models", at="2026-01-02T09:00:00Z")
    git(
        repo,
        "tag",
        "-a",
        "churn@v1.0.0",
        "-m",
        "Registering churn v1.0.0",
        at="2026-01-03T09:00:00Z",
    )
    return repo


def test_an_artifact_path_leaving_the_repository_is_refused(
    tmp_path: Path, run: Run, store_dir: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text('{"password": "hunter2"}')
    repo = hostile_repo(tmp_path, "churn:\n  path: ../outside/secret.json\n", {"m.json": "{}"})
    result = run("import", "gto", "--repo", str(repo), ok=False)
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "error: churn@v1.0.0: artifact churn: path '../outside/secret.json' escapes the repository"
    ]
    assert not store_dir.exists(), "nothing was imported: no store was made"


def test_an_artifact_that_is_a_symbolic_link_is_refused(
    tmp_path: Path, run: Run, store_dir: Path
) -> None:
    repo = init(tmp_path / "links")
    (repo / "model.json").symlink_to("/etc/passwd")
    commit(
        repo, {"artifacts.yaml": "churn:\n  path: model.json\n"}, "link", at="2026-01-02T09:00:00Z"
    )
    git(repo, "tag", "-a", "churn@v1.0.0", "-m", "register", at="2026-01-03T09:00:00Z")
    result = run("import", "gto", "--repo", str(repo), ok=False)
    assert result.code == 1
    assert "model.json is a symbolic link; links are refused" in result.err
    assert not store_dir.exists(), "nothing was imported: no store was made"


def test_not_a_repository(tmp_path: Path, run: Run) -> None:
    result = run("import", "gto", "--repo", str(tmp_path), ok=False)
    assert result.code == 1
    assert result.err == f"error: {tmp_path} is not a Git repository\n"


def test_importing_from_another_clone_is_recognised(
    gto_repo: Path, run: Run, tmp_path: Path
) -> None:
    run("import", "gto", "--repo", str(gto_repo))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(gto_repo), str(clone))
    doc = run("import", "gto", "--repo", str(clone), "--json").json
    assert (doc["registered"], doc["events"]) == ([], [])
    assert (len(doc["existing"]), doc["events_existing"]) == (4, 8)


def test_artifact_in_a_dvc_yaml_below_the_root_and_renamed(tmp_path: Path, run: Run) -> None:
    repo = init(tmp_path / "mono")
    c1 = commit(
        repo,
        {
            "teams/risk/dvc.yaml": (
                "artifacts:\n  churn:\n    path: out/model.json\n    type: model\n"
            ),
            "teams/risk/out/model.json": CHURN_V1,
        },
        "monorepo",
        at="2026-01-02T09:00:00Z",
    )
    git(
        repo,
        "tag",
        "-a",
        "teams/risk=churn@v1.0.0",
        "-m",
        "register",
        c1,
        at="2026-01-03T09:00:00Z",
    )
    git(
        repo,
        "tag",
        "-a",
        "teams/risk=churn#eu/prod#1",
        "-m",
        "assign",
        c1,
        at="2026-01-04T09:00:00Z",
    )
    git(repo, "tag", "-a", "teams/risk=churn#prod#2", "-m", "assign", c1, at="2026-01-05T09:00:00Z")
    plain = run("import", "gto", "--repo", str(repo), "--json").json
    assert plain["registered"] == []
    assert plain["unmapped"] == [
        "artifact teams/risk:churn: not a valid model name; give --model teams/risk:churn=NAME"
    ]
    doc = run(
        "import", "gto", "--repo", str(repo), "--model", "teams/risk:churn=churn", "--json"
    ).json
    assert [(r["model"], r["version"]) for r in doc["registered"]] == [("churn", 1)]
    assert doc["unmapped"] == [
        "teams/risk=churn#eu/prod#1: stage 'eu/prod' is not a valid environment name"
    ]
    assert [(e["environment"], e["version"]) for e in doc["events"]] == [("prod", 1)]
    shown = run("show", "churn@1", "--json").json
    assert [f["path"] for f in shown["files"]] == ["model.json"]
    assert shown["tags"]["gto.artifact"] == "teams/risk:churn"


def test_import_through_the_sdk_on_every_backend(
    gto_repo: Path, open_registry: OpenRegistry
) -> None:
    reg = open_registry(user="importer")
    before = datetime.now(UTC)
    report = import_gto(reg, gto_repo)
    assert [(r["model"], r["version"]) for r in report.registered] == [
        ("churn", 1),
        ("churn", 2),
        ("fraud", 1),
        ("fraud", 2),
    ]
    assert history(reg, "churn") == CHURN_HISTORY
    assert reg.read_file("fraud", 1, "fraud.bin") == FRAUD_V1
    assert reg.live("churn", env="prod", at="2026-02-15T00:00:00Z").versions[0].version == 2
    # backfills: asked as the registry knew it before the import, nothing was live
    assert (
        reg.live("churn", env="prod", at="2026-02-15T00:00:00Z", as_known_at=before).versions == ()
    )
    again = import_gto(reg, gto_repo)
    assert (again.registered, again.events, again.events_existing) == ([], [], 8)
    assert history(reg, "churn") == CHURN_HISTORY
    assert reg.history("churn")[0].actor == "importer"


def test_a_dvc_tracked_folder_comes_from_a_folder_remote(tmp_path: Path, run: Run) -> None:
    files = {"a.txt": b"alpha\n", "sub/b.txt": b"beta\n"}
    remote = tmp_path / "dvc-remote"
    listing = []
    for rel, content in files.items():
        md5 = hashlib.md5(content).hexdigest()
        listing.append({"md5": md5, "relpath": rel})
        stored = remote / "files" / "md5" / md5[:2] / md5[2:]
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(content)
    raw = json.dumps(listing, separators=(", ", ": ")).encode()
    dir_md5 = hashlib.md5(raw).hexdigest()
    stored = remote / "files" / "md5" / dir_md5[:2] / (dir_md5[2:] + ".dir")
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(raw)
    repo = init(tmp_path / "repo")
    c1 = commit(
        repo,
        {
            "artifacts.yaml": "embeddings:\n  path: emb\n",
            "emb.dvc": f"outs:\n- md5: {dir_md5}.dir\n  size: 11\n  nfiles: 2\n  hash: md5\n"
            "  path: emb\n",
            # DVC resolves a relative remote URL from the .dvc folder
            ".dvc/config": "[core]\n    remote = store\n['remote \"store\"']\n"
            "    url = ../../dvc-remote\n",
        },
        "embeddings",
        at="2026-01-02T09:00:00Z",
    )
    git(repo, "tag", "-a", "embeddings@v1.0.0", "-m", "register", c1, at="2026-01-03T09:00:00Z")
    doc = run("import", "gto", "--repo", str(repo), "--json").json
    assert doc["unmapped"] == []
    shown = run("show", "embeddings@1", "--json").json
    assert sorted(f["path"] for f in shown["files"]) == ["a.txt", "sub/b.txt"]
    out = tmp_path / "out"
    run("download", "embeddings@1", str(out))
    assert (out / "sub" / "b.txt").read_bytes() == b"beta\n"
