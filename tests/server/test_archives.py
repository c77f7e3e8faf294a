"""Versions uploaded as one archive: unpacked only when every member is safe; a refused
archive leaves no version, no audit entry and no file behind."""

from __future__ import annotations

import io
import re
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.archives import ArchiveLimits
from modelrepo.domain.errors import NotFound
from modelrepo.server import create_app

from .conftest import Api

URL = "/api/v1/models/credit-risk/versions/archive"
# The unpacking is under test here; the stores behind it are covered by the SDK contract.
pytestmark = pytest.mark.sqlite_only


def tar_bytes(*members: tuple[tarfile.TarInfo, bytes | None], mode: str = "w:gz") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def member(name: str, data: bytes = b"x", **fields: object) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    for key, value in fields.items():
        setattr(info, key, value)
    return info, data


def special(name: str, kind: bytes, **fields: object) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info, None


def zip_bytes(*entries: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


def symlink_zip() -> bytes:
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return zip_bytes(("ok.txt", b"fine"), (info, b"/etc/passwd"))


def upload(api: Api, data: bytes, who: str = "contributor", **extra: object) -> object:
    return api.client.post(
        URL, headers=api.as_(who), files=[("archive", ("upload.bin", data))], **extra
    )


def _scratch() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("modelrepo-archive-*")}


def test_a_tar_and_a_zip_register_with_their_executable_bits(api: Api) -> None:
    script = member("bin/score.sh", b"#!/bin/sh\n", mode=0o755)
    made = upload(api, tar_bytes(member("./model.json", b"{}"), script))
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    files = {f["path"]: f["executable"] for f in made.json()["files"]}  # type: ignore[attr-defined]
    assert files == {"bin/score.sh": True, "model.json": False}
    zipped = upload(api, zip_bytes(("model.json", b"{}"), ("bin/score.sh", b"#!/bin/sh\n")))
    assert zipped.status_code == 201, zipped.text  # type: ignore[attr-defined]
    assert zipped.json()["created_by"] == "contributor-user"  # type: ignore[attr-defined]
    assert api.registry.read_file("credit-risk", 2, "model.json") == b"{}"


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "absolute path": (lambda: tar_bytes(member("/etc/cron.d/x")), "must be relative"),
    "dot-dot": (lambda: tar_bytes(member("a/../../escape")), r"'\.\.'"),
    "dot-dot first": (lambda: tar_bytes(member("../escape")), r"'\.\.'"),
    "backslash": (lambda: tar_bytes(member("a\\..\\b")), "backslash"),
    "symlink": (lambda: tar_bytes(special("link", tarfile.SYMTYPE, linkname="/etc/passwd")),
                "a link"),
    "hard link": (lambda: tar_bytes(member("a"), special("b", tarfile.LNKTYPE, linkname="a")),
                  "a link"),
    "device": (lambda: tar_bytes(special("dev", tarfile.CHRTYPE, devmajor=1, devminor=3)),
               "special file"),
    "fifo": (lambda: tar_bytes(special("pipe", tarfile.FIFOTYPE)), "special file"),
    "twice": (lambda: tar_bytes(member("a", b"1"), member("a", b"2")), "twice"),
    "file and folder": (lambda: tar_bytes(member("a", b"1"), member("a/b", b"2")), "twice"),
    "zip dot-dot": (lambda: zip_bytes(("../../escape", b"x")), r"'\.\.'"),
    "zip absolute": (lambda: zip_bytes(("/abs", b"x")), "relative"),
    "zip symlink": (symlink_zip, "a link"),
    "not an archive": (lambda: b"just some bytes", "not a tar or zip"),
    "truncated tar": (lambda: tar_bytes(member("a", b"x" * 5000), mode="w")[:1000],
                      "cannot be read"),
    "empty": (lambda: tar_bytes(), "no files"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_and_nothing_is_written(api: Api, case: str) -> None:
    api.upload("credit-risk")
    size, before = api.registry.ready(), _scratch()
    build, message = HOSTILE[case]
    reply = upload(api, build())
    assert reply.status_code == 422, reply.text  # type: ignore[attr-defined]
    body = reply.json()  # type: ignore[attr-defined]
    assert body["code"] == "invalid_input"
    assert re.search(message, body["message"]), body["message"]
    assert api.registry.model("credit-risk").version_count == 1
    assert api.registry.ready() == size
    assert _scratch() <= before, "the staging folder was left behind"


@pytest.fixture
def small(registry: Registry) -> Api:
    limits = ArchiveLimits(members=5, total_bytes=100_000)
    api = Api(TestClient(create_app(registry, archive_limits=limits)), registry)
    api.token("contributor", "contributor-user", "contributor")
    return api


def test_a_zip_bomb_stops_at_the_limit(small: Api) -> None:
    bomb = zip_bytes(("zeros.bin", b"\0" * 50_000_000))
    assert len(bomb) < 100_000  # it fits under the limit packed, not unpacked
    reply = upload(small, bomb)
    assert reply.status_code == 422  # type: ignore[attr-defined]
    assert "more than 100000 bytes" in reply.json()["message"]  # type: ignore[attr-defined]
    tar_bomb = tar_bytes(member("zeros.bin", b"\0" * 5_000_000))
    reply = upload(small, tar_bomb)
    assert reply.status_code == 422  # type: ignore[attr-defined]
    assert "more than 100000 bytes" in reply.json()["message"]  # type: ignore[attr-defined]


def test_a_lying_zip_size_is_caught_while_unpacking(small: Api) -> None:
    packed = bytearray(zip_bytes(("a.bin", b"\0" * 50_000)))
    # Rewrite the central directory's uncompressed size of a.bin to 10 bytes.
    central = packed.rfind(b"PK\x01\x02")
    packed[central + 24 : central + 28] = (10).to_bytes(4, "little")
    reply = upload(small, bytes(packed))
    assert reply.status_code == 422, reply.text  # type: ignore[attr-defined]
    message = reply.json()["message"]  # type: ignore[attr-defined]
    assert re.search("larger than it declares|Bad CRC", message), message
    with pytest.raises(NotFound):
        small.registry.model("credit-risk")


def test_too_many_members(small: Api) -> None:
    many = tar_bytes(*(member(f"f{i}") for i in range(6)))
    reply = upload(small, many)
    assert reply.status_code == 422  # type: ignore[attr-defined]
    assert "more than 5 members" in reply.json()["message"]  # type: ignore[attr-defined]
    reply = upload(small, zip_bytes(*((f"f{i}", b"x") for i in range(6))))
    assert "more than 5 members" in reply.json()["message"]  # type: ignore[attr-defined]


def test_archive_uploads_need_the_register_role_and_scope(api: Api) -> None:
    data = tar_bytes(member("a.txt"))
    for who in ("viewer", "deployer"):
        assert upload(api, data, who=who).status_code == 403  # type: ignore[attr-defined]
    outside = upload(api, data, who="fraud-admin")  # the model is not in its scope: absent
    assert outside.status_code == 404  # type: ignore[attr-defined]
    assert upload(api, data, who="admin").status_code == 201  # type: ignore[attr-defined]


def test_an_archive_made_by_the_tar_command_of_a_folder(api: Api, tmp_path: Path) -> None:
    """`tar -czf v.tgz -C folder .` names the folder itself `./` and its files `./...`."""
    import subprocess

    folder = tmp_path / "folder"
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "weights.json").write_text("[1, 2]")
    subprocess.run(["tar", "-czf", str(tmp_path / "v.tgz"), "-C", str(folder), "."], check=True)
    made = upload(api, (tmp_path / "v.tgz").read_bytes())
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    assert [f["path"] for f in made.json()["files"]] == ["model/weights.json"]  # type: ignore[attr-defined]
