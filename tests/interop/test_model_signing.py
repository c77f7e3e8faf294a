"""The stock OpenSSF `model_signing` CLI, a separate tool and not our code, verifies the
folders a download of a signed version writes, and rejects them after one byte changes, one
file is added or one is removed.

The verifier comes from the pinned side environment `.signing-venv`
(tests/interop/model-signing.txt, built by `make signing-venv`, which `make test` runs); a
missing one fails the test rather than skipping it, so CI never passes without the check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelrepo import CodeRef, Registry

from ..conftest import scaleout_registry

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("MODELREPO_SIGNING_VENV", ROOT / ".signing-venv"))
MODEL_SIGNING = VENV / "bin" / "model_signing"
ACCEPTED = "Verification succeeded"
PASSWORD = b"correct horse"
WHY_REJECTED = {
    "changed byte": "Hash mismatch for 'weights/layer-1/kernel.bin'",
    "added file": "Extra files found in model 'added-file': weights/extra.bin",
    "removed file": "Missing files in model 'removed-file': docs/README.md",
    "changed model.sig file": "Hash mismatch for 'model.sig'",
    "signed by another key": "Key mismatch",
}
"""What the stock verifier says for each change: it rejects for that reason, not another."""


@dataclass
class Store:
    """A registry under test and how the `modelrepo` command reaches the same store."""

    registry: Registry
    cli_args: list[str]
    cli_env: dict[str, str]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, store_dir: Path, tmp_path: Path) -> Iterator[Store]:
    """The embedded store (its key in its folder), or PostgreSQL + S3 on moto (its key in
    $MODELREPO_SIGNING_KEY_FILE)."""
    if not MODEL_SIGNING.exists():
        pytest.fail(f"no model_signing side environment at {VENV}: run `make signing-venv`")
    if request.param == "sqlite":
        reg = Registry(store_dir, user="alice")
        reg.create_store()
        found = Store(reg, ["--store", str(store_dir)], dict(os.environ))
    else:
        env = request.getfixturevalue("pg_env")
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setenv("MODELREPO_SIGNING_KEY_FILE", str(tmp_path / "version-key.pem"))
        reg = scaleout_registry(env, user="alice")
        reg.create_store()
        found = Store(reg, [], {**os.environ, **env})
    yield found
    found.registry.close()


def _model_folder(root: Path) -> Path:
    """Several files in nested folders, one of them binary (every byte value, twice)."""
    (root / "weights" / "layer-1").mkdir(parents=True)
    (root / "weights" / "layer-1" / "kernel.bin").write_bytes(bytes(range(256)) * 2)
    (root / "weights" / "bias.npy").write_bytes(b"\x93NUMPY\x01\x00" + bytes(120))
    (root / "config.json").write_text('{"layers": 2}\n')
    (root / "docs").mkdir()
    (root / "docs" / "README.md").write_text("# a model\n")
    return root


def _download_with_cli(store: Store, ref: str, dest: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelrepo", *store.cli_args, "download", ref, str(dest)],
        capture_output=True,
        text=True,
        env=store.cli_env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _tampered(folder: Path, signature: str, work: Path) -> dict[str, Path]:
    """Copies of a downloaded folder, each with one change the signature must catch."""
    copies = {}
    for what in ("changed byte", "added file", "removed file"):
        copies[what] = work / what.replace(" ", "-")
        shutil.copytree(folder, copies[what])
    kernel = copies["changed byte"] / "weights" / "layer-1" / "kernel.bin"
    data = bytearray(kernel.read_bytes())
    data[300] ^= 0x01
    kernel.write_bytes(bytes(data))
    (copies["added file"] / "weights" / "extra.bin").write_bytes(b"\x00")
    (copies["removed file"] / "docs" / "README.md").unlink()
    assert all((copy / signature).is_file() for copy in copies.values())
    return copies


def _verdicts(folders: dict[str, Path], signature: str, public_pem: Path) -> dict[str, str]:
    """The stock CLI's verdict on each folder ('ok' or its error output), run concurrently."""
    running = {}
    for what, folder in folders.items():
        command = ["verify", "key", str(folder), "--signature", str(folder / signature)]
        running[what] = subprocess.Popen(
            [str(MODEL_SIGNING), *command, "--public_key", str(public_pem)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    verdicts = {}
    for what, process in running.items():
        out, _ = process.communicate(timeout=120)
        accepted = process.returncode == 0 and ACCEPTED in out
        said = out.strip().splitlines() or [f"exit status {process.returncode}"]
        verdicts[what] = "ok" if accepted else said[-1]
    return verdicts


def _expect(verdicts: dict[str, str], accepted: set[str]) -> None:
    for what, verdict in verdicts.items():
        if what in accepted:
            assert verdict == "ok", f"the stock verifier rejected the {what} download: {verdict}"
        else:
            assert verdict != "ok", f"the stock verifier accepted the folder: {what}"
            assert WHY_REJECTED[what] in verdict.replace("\\'", "'"), verdict


def _pem(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _p384_key_file(path: Path) -> tuple[Path, str]:
    """A P-384 private key, encrypted, and its public PEM."""
    key = ec.generate_private_key(ec.SECP384R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public.decode()


@pytest.mark.slow
def test_the_stock_verifier_accepts_downloads_and_rejects_one_change(
    store: Store, tmp_path: Path
) -> None:
    reg = store.registry
    version = reg.register(
        "fraud", _model_folder(tmp_path / "model"), code=CodeRef("a" * 40, dirty=False)
    )
    signed = reg.sign("fraud", version.version, reason="release")
    assert {s.kind for s in signed} == {"model", "provenance"}
    (store_key,) = reg.signing_keys()
    assert store_key.key_id == signed[0].key_id
    store_pem = _pem(tmp_path / "store-key.pem", store_key.public_pem)

    sdk = reg.download("fraud", version.version, tmp_path / "sdk")
    cli = tmp_path / "cli"
    _download_with_cli(store, f"fraud@{version.version}", cli)
    assert (sdk / "model.sig").read_bytes() == (cli / "model.sig").read_bytes()
    folders = {"sdk": sdk, "cli": cli, **_tampered(sdk, "model.sig", tmp_path / "store-key")}
    _expect(_verdicts(folders, "model.sig", store_pem), accepted={"sdk", "cli"})

    # A P-384 key of the team's own, trusted first: the newest valid signature is written.
    key_file, team_public = _p384_key_file(tmp_path / "team-key.pem")
    team = reg.trust_signing_key(team_public, label="release team")
    by_team = reg.sign("fraud", version.version, key_file=key_file, key_password=PASSWORD)
    assert {s.key_id for s in by_team} == {team.key_id}
    team_pem = _pem(tmp_path / "team-key.pub.pem", team_public)
    sdk = reg.download("fraud", version.version, tmp_path / "sdk-team", verify_signature=True)
    cli = tmp_path / "cli-team"
    _download_with_cli(store, f"fraud@{version.version}", cli)
    folders = {"sdk": sdk, "cli": cli, **_tampered(cli, "model.sig", tmp_path / "team-key")}
    _expect(_verdicts(folders, "model.sig", team_pem), accepted={"sdk", "cli"})
    wrong_key = _verdicts({"signed by another key": sdk}, "model.sig", store_pem)
    _expect(wrong_key, accepted=set())


@pytest.mark.slow
def test_a_version_holding_git_files_and_a_model_sig_file(store: Store, tmp_path: Path) -> None:
    """The stock verifier leaves top-level Git files out of a folder, and the signature goes
    beside a file of the version called `model.sig` rather than over it."""
    folder = _model_folder(tmp_path / "model")
    (folder / ".gitignore").write_text("*.tmp\n")
    (folder / "model.sig").write_bytes(b"the version's own file, not a signature\n")
    reg = store.registry
    version = reg.register("fraud", folder, code=False, environment=False, sign=True)
    (store_key,) = reg.signing_keys()
    public = _pem(tmp_path / "store-key.pem", store_key.public_pem)

    sdk = reg.download("fraud", version.version, tmp_path / "sdk", verify_signature=True)
    cli = tmp_path / "cli"
    _download_with_cli(store, f"fraud@{version.version}", cli)
    signature = "model.sig.modelrepo"
    for folder in (sdk, cli):
        assert (folder / ".gitignore").read_text() == "*.tmp\n"
        assert (folder / "model.sig").read_bytes().startswith(b"the version's own file")
    folders = {"sdk": sdk, "cli": cli, **_tampered(sdk, signature, tmp_path / "copies")}
    folders["changed model.sig file"] = shutil.copytree(sdk, tmp_path / "own-sig")
    own = folders["changed model.sig file"] / "model.sig"
    own.write_bytes(own.read_bytes().replace(b"own", b"0wn"))  # one of the signed files
    _expect(_verdicts(folders, signature, public), accepted={"sdk", "cli"})
