"""Large files sent to a real `modelrepo serve` in parts: the SDK and the CLI send them as
resumable uploads; a registration stopped half way resumes in a later run, sending only the
parts the server does not hold; the stored version is byte-identical."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelrepo import Registry
from modelrepo.cli import cli as main
from modelrepo.remote import RemoteRegistry
from modelrepo.remote.uploads import PartUploads

from ..serving import serve

pytestmark = pytest.mark.sqlite_only  # the transport is under test; the stores elsewhere

PART = 256 << 10


def model_folder(root: Path, size: int) -> tuple[Path, bytes]:
    root.mkdir(parents=True)
    data = os.urandom(size)
    (root / "weights.bin").write_bytes(data)
    (root / "config.json").write_text('{"layers": 2}\n')
    return root, data


def test_the_sdk_and_the_cli_send_large_files_in_parts(store_dir: Path, tmp_path: Path) -> None:
    with Registry(store_dir, user="ops") as local:
        _, token = local.create_token("carl", "contributor")
    folder, data = model_folder(tmp_path / "model", 5 * PART + 17)
    with (
        serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _),
        Registry(url, token=token, cache_dir=tmp_path / "cache") as reg,
    ):
        assert isinstance(reg, RemoteRegistry)
        made = reg.register("llm", folder, code=False, part_size=PART)
        assert {f.path: f.size for f in made.files} == {
            "weights.bin": len(data),
            "config.json": 14,
        }
        assert reg.read_file("llm", made.version, "weights.bin") == data
        assert not list((tmp_path / "cache" / "uploads").glob("*.json"))  # nothing left to resume

        cli = CliRunner().invoke(
            main,
            ["--store", url, "register", "llm", str(folder), "--no-code", "--part-size", "256KiB"],
            env={"MODELREPO_TOKEN": token, "MODELREPO_CACHE_DIR": str(tmp_path / "cache")},
        )
        assert cli.exit_code == 0, cli.output
        again = reg.get("llm", 2)
        assert again.digest == made.digest
    refused = CliRunner().invoke(
        main, ["--store", str(store_dir), "register", "llm", str(folder), "--part-size", "1MiB"]
    )
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: --part-size is for registering to a server")
    assert refused.stderr.count("\n") == 1


def test_a_stopped_registration_resumes_with_the_parts_missing(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Registry(store_dir, user="ops") as local:
        _, token = local.create_token("carl", "contributor")
    folder, data = model_folder(tmp_path / "model", 8 * PART)
    sent: list[str] = []
    real_send = PartUploads._send_part

    def send(self: PartUploads, url: str, body: bytes, sha: bytes) -> None:
        if len(sent) == 3 and stopping:
            raise KeyboardInterrupt  # the process is stopped after three parts
        sent.append(url.rsplit("/", 1)[-1])
        real_send(self, url, body, sha)

    monkeypatch.setattr(PartUploads, "_send_part", send)
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):
        stopping = True
        with (
            Registry(url, token=token, cache_dir=tmp_path / "cache") as reg,
            pytest.raises(KeyboardInterrupt),
        ):
            reg.register("llm", folder, code=False, part_size=PART)
        assert sent == ["1", "2", "3"]
        with Registry(url, token=token, cache_dir=tmp_path / "cache") as reg:
            assert not _exists(reg, "llm")  # nothing visible from the stopped run
            stopping = False
            made = reg.register("llm", folder, code=False, part_size=PART)
            assert sorted(sent, key=int) == [str(n) for n in range(1, 9)]  # none of 1-3 again
            assert reg.read_file("llm", made.version, "weights.bin") == data

            # A file changed since the interrupted run is a new upload, never mixed parts.
            sent.clear()
            stopping = True
            with pytest.raises(KeyboardInterrupt):
                reg.register("llm", folder, code=False, part_size=PART)
            changed = bytearray(data)
            changed[-1] ^= 0xFF
            (folder / "weights.bin").write_bytes(bytes(changed))
            os.utime(folder / "weights.bin", ns=(1, 1))
            stopping = False
            sent.clear()
            newer = reg.register("llm", folder, code=False, part_size=PART)
            assert sorted(sent, key=int) == [str(n) for n in range(1, 9)]
            assert reg.read_file("llm", newer.version, "weights.bin") == bytes(changed)


def _exists(reg: Any, name: str) -> bool:
    return any(m.name == name for m in reg.models())


MiB = 1 << 20


def _upload_through_cuts(
    store_dir: Path, tmp_path: Path, size: int, part: int, cuts: int, cut_after: tuple[int, int]
) -> None:
    """Register a `size`-byte file through a proxy that cuts the connection `cuts` times,
    each after a number of bytes in `cut_after`: every cut costs at most the part in flight
    sent again, and the version holds the file byte for byte."""
    import hashlib

    from modelrepo.testing.proxy import DroppingProxy

    assert cut_after[0] > part and cuts * cut_after[1] < size
    with Registry(store_dir, user="ops") as local:
        _, token = local.create_token("carl", "contributor")
    folder = tmp_path / "model"
    folder.mkdir()
    digest = hashlib.sha256()
    with open(folder / "weights.bin", "wb") as out:
        for left in range(size, 0, -16 * MiB):
            block = os.urandom(min(left, 16 * MiB))
            digest.update(block)
            out.write(block)
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):
        port = int(url.rsplit(":", 1)[1])
        with DroppingProxy(
            ("127.0.0.1", port),
            cut_after=cut_after,
            directions=("upstream",),
            max_cuts=cuts,
            seed=size,
            reset=True,
        ) as proxy:
            with Registry(proxy.url, token=token, cache_dir=tmp_path / "cache") as reg:
                made = reg.register("llm", folder, code=False, part_size=part)
            assert proxy.cuts == cuts  # every cut came inside the file
            assert proxy.upstream < size + cuts * part + MiB  # one part again per cut, at most
    assert [(f.path, f.sha256) for f in made.files] == [("weights.bin", digest.hexdigest())]
    with (
        Registry(store_dir, user="ops") as local,
        local.open_file("llm", made.version, "weights.bin")[1] as stored,
    ):
        check = hashlib.sha256()
        while block := stored.read(16 * MiB):
            check.update(block)
    assert check.hexdigest() == digest.hexdigest()


def test_an_upload_cut_at_random_points_resumes_each_time(store_dir: Path, tmp_path: Path) -> None:
    _upload_through_cuts(store_dir, tmp_path, 256 * MiB, 16 * MiB, 4, (17 * MiB, 60 * MiB))


@pytest.mark.slow
def test_a_one_gib_upload_cut_eight_times_resumes_each_time(
    store_dir: Path, tmp_path: Path
) -> None:
    _upload_through_cuts(store_dir, tmp_path, 1024 * MiB, 32 * MiB, 8, (33 * MiB, 120 * MiB))
