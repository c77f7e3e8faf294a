"""What a new user meets first: typos, long lists, pipes, and the words the CLI uses."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from modelrepo.flavors import FLAVORS

from .conftest import MODELREPO, Run


def test_register_refuses_an_unknown_flavor_or_files_the_flavor_cannot_load(
    run: Run, artifact: Path
) -> None:
    typo = run("register", "credit-risk", str(artifact), "--no-code", "--flavor", "sklern",
               ok=False)  # fmt: skip
    assert typo.code == 1
    assert typo.err.startswith("error: unknown flavor 'sklern': known flavors are generic, ")
    empty = run("register", "credit-risk", str(artifact), "--no-code", "--flavor", "sklearn",
                ok=False)  # fmt: skip
    assert empty.err == (
        "error: a sklearn version needs exactly one .skops file, found 0; register it as "
        "flavor 'generic' to keep the files without a loader\n"
    )
    assert run("models", "--json", ok=False).err.startswith("error: no modelrepo store at ")
    assert (
        run("register", "credit-risk", str(artifact), "--no-code", "--json").json["flavor"]
        == "generic"
    )
    listed = " ".join(run("register", "--help").out.split())
    assert all(name in listed for name in FLAVORS), listed


def _decisions(run: Run, artifact: Path, tmp_path: Path, count: int) -> None:
    run("register", "credit-risk", str(artifact), "--no-code")
    records = [
        json.dumps({"model": "credit-risk", "version": 1, "decision_id": f"d-{i}",
                    "inputs": {"income": i}, "output": i,
                    "decided_at": f"2026-03-03T10:{i:02}:00Z"})
        for i in range(count)
    ]  # fmt: skip
    (tmp_path / "decisions.jsonl").write_text("\n".join(records) + "\n")
    run("decisions", "import", str(tmp_path / "decisions.jsonl"))


def test_a_list_that_stops_at_its_limit_says_so_and_gives_the_next_cursor(
    run: Run, artifact: Path, tmp_path: Path
) -> None:
    _decisions(run, artifact, tmp_path, 7)
    first = run("decisions", "list", "credit-risk", "--limit", "3")
    assert [line.split()[1] for line in first.out.splitlines()] == ["d-0", "d-1", "d-2"]
    assert first.err == (
        "note: showing 3 of more; pass --cursor 3 for the next page, or a larger --limit\n"
    )
    second = run("decisions", "list", "credit-risk", "--limit", "3", "--cursor", "3", "--json")
    assert [d["decision_id"] for d in second.json["decisions"]] == ["d-3", "d-4", "d-5"]
    assert second.json["next_cursor"] == "6" and second.err == ""
    last = run("decisions", "list", "credit-risk", "--limit", "3", "--cursor", "6")
    assert last.out.split()[1] == "d-6" and last.err == ""
    assert run("decisions", "list", "credit-risk", "--json").json["next_cursor"] is None
    bad = run("decisions", "list", "credit-risk", "--cursor", "x", ok=False)
    assert bad.code == 1 and bad.err.startswith("error: invalid cursor 'x'")


def test_a_reader_that_leaves_early_ends_the_command_quietly(
    run: Run, artifact: Path, tmp_path: Path, store_dir: Path
) -> None:
    _decisions(run, artifact, tmp_path, 50)
    for form in ((), ("--json",)):
        # The reading end is closed before the command writes, as `| head -1` does.
        reader, writer = os.pipe()
        os.close(reader)
        try:
            done = subprocess.run(
                [MODELREPO, "--store", str(store_dir), "decisions", "list", "credit-risk", *form],
                stdout=writer,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            os.close(writer)
        assert (done.returncode, done.stderr) == (141, ""), form
    piped = subprocess.run(
        f"{MODELREPO} --store {store_dir} decisions list credit-risk | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert piped.stdout.split()[1] == "d-0" and piped.stderr == ""


def test_delete_needs_a_reason(run: Run, artifact: Path) -> None:
    run("register", "credit-risk", str(artifact), "--no-code")
    missing = run("delete", "credit-risk@1", ok=False)
    assert missing.code == 2 and "--reason" in missing.err
    blank = run("delete", "credit-risk@1", "--reason", " ", ok=False)
    assert blank.code == 1
    assert blank.err == "error: deleting a version needs a reason (it is recorded)\n"
    assert run("show", "credit-risk@1", "--json").json["deleted_at"] is None
    run("delete", "credit-risk@1", "--reason", "registered by mistake")


def test_the_same_content_again_is_noted_and_if_changed_makes_no_version(
    run: Run, artifact: Path, store_dir: Path
) -> None:
    first = run("register", "credit-risk", str(artifact), "--no-code", "--json")
    assert first.err == f"note: created a new store at {store_dir}\n"
    again = run("register", "credit-risk", str(artifact), "--no-code")
    digest = first.json["digest"]
    assert again.out.startswith(f"Registered credit-risk@2 {digest} ")
    assert again.err == f"note: credit-risk@2 has the same content as @1 ({digest})\n"
    kept = run("register", "credit-risk", str(artifact), "--no-code", "--if-changed", "--json")
    assert kept.json["version"] == 2
    assert kept.err == (
        f"note: credit-risk@2, the latest version, holds exactly these files ({digest}); "
        "no new version was made\n"
    )
    (artifact / "features.csv").write_text("name,type\nincome,double\nage,int\n")
    changed = run("register", "credit-risk", str(artifact), "--no-code", "--if-changed")
    assert changed.out.startswith("Registered credit-risk@3 ") and changed.err == ""
    assert run("models", "--json").json["models"][0]["version_count"] == 3


def test_usage_errors_are_one_line_like_every_other_error(run: Run, sh: Run) -> None:
    run("init")
    served = sh("serve", "--import-limit", "0", ok=False)
    assert (served.code, served.out) == (2, "")
    assert served.err == (
        "error: Invalid value for '--import-limit': '0' is outside 1KiB..1PiB "
        "(see modelrepo serve --help)\n"
    )
    for args in (("nosuch",), ("delete", "m@1"), ("decisions", "list"), ("--bogus", "models")):
        refused = run(*args, ok=False)
        assert refused.code == 2 and refused.err.startswith("error: "), refused
        assert refused.err.count("\n") == 1 and "Usage:" not in refused.err, refused


def test_proving_an_entry_past_the_end_of_the_log_names_its_size(run: Run, artifact: Path) -> None:
    run("register", "credit-risk", str(artifact), "--no-code")
    size = len(run("audit", "log", "--json").json["entries"])
    checkpoints = run("audit", "verify", "--json").json
    refused = run("audit", "prove", "999", ok=False)
    assert refused.code == 1
    assert refused.err == f"error: audit entry 999 does not exist: the log has {size} entries\n"
    assert run("audit", "verify", "--json").json == checkpoints, "a checkpoint was signed"
    assert run("audit", "prove", str(size), "--json").json["index"] == size - 1


def test_a_filter_on_a_key_no_version_has_says_which_keys_there_are(
    run: Run, artifact: Path
) -> None:
    run("register", "credit-risk", str(artifact), "--no-code", "--metric", "auc=0.9",
        "--metric", "f1=0.7", "--param", "C=1")  # fmt: skip
    typo = run("versions", "credit-risk", "--where", "metrics.acu>=0.8")
    assert typo.out == "No matching versions.\n"
    assert typo.err == "note: no version has metric 'acu'; known metrics: auc, f1\n"
    both = run("versions", "credit-risk", "--where", "params.c=1", "--where", "tags.x=y",
               "--json")  # fmt: skip
    assert both.json["versions"] == []
    assert both.err == (
        "note: no version has param 'c'; known params: C\n"
        "note: no version has tag 'x'; known tags: none\n"
    )
    fine = run("versions", "credit-risk", "--where", "metrics.auc>=0.95")
    assert fine.out == "No matching versions.\n" and fine.err == ""


READS = (
    ("models",),
    ("versions", "credit-risk"),
    ("show", "credit-risk@1"),
    ("live", "credit-risk", "--env", "production"),
    ("history", "credit-risk"),
    ("audit", "verify"),
    ("audit", "log"),
    ("decisions", "list", "credit-risk"),
    ("fsck",),
)


def test_a_read_on_a_path_with_no_store_is_refused_and_creates_nothing(
    sh: Run, tmp_path: Path
) -> None:
    typo = tmp_path / "stroe"
    for args in READS:
        refused = sh("--store", str(typo), *args, ok=False)
        assert refused.code == 1, (args, refused)
        assert refused.err == (
            f"error: no modelrepo store at {typo}: run 'modelrepo init' to create one there, "
            "or give the folder of an existing store with --store (or $MODELREPO_STORE)\n"
        ), args
        assert not typo.exists(), args
    assert not (tmp_path / ".modelrepo").exists()


def test_a_register_that_fails_before_writing_leaves_no_store(
    sh: Run, artifact: Path, tmp_path: Path
) -> None:
    new = tmp_path / "new-store"
    for args in (
        (str(tmp_path / "no-such-model"),),
        (str(artifact), "--flavor", "sklern"),
        (str(artifact), "--flavor", "sklearn"),
        (str(artifact), "--param", "C"),
    ):
        failed = sh("--store", str(new), "register", "credit-risk", *args, "--no-code", ok=False)
        assert failed.code in (1, 2) and failed.err.startswith("error: "), failed
        assert "note:" not in failed.err and not new.exists(), args
    first = sh("--store", str(new), "register", "credit-risk", str(artifact), "--no-code")
    assert first.err == f"note: created a new store at {new}\n"
    second = sh("--store", str(new), "register", "credit-risk", str(artifact), "--no-code")
    assert "created" not in second.err
    assert sh("--store", str(new), "audit", "verify").code == 0


def test_init_says_where_it_created_the_store_and_only_the_first_time(
    sh: Run, tmp_path: Path
) -> None:
    where = tmp_path / "fresh"
    made = sh("--store", str(where), "init")
    assert made.out.startswith(f"Store ready at {where} (SQLite ")
    assert made.err == f"note: created a new store at {where}\n"
    again = sh("--store", str(where), "init")
    assert again.out.startswith(f"Store ready at {where} ") and again.err == ""
    assert sh("--store", str(where), "models").out == "No models.\n"
