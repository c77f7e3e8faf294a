"""Worker processes a test starts at once: every one is waited for (and its pipes closed)
before any is judged, so one that fails leaves no other running behind the test."""

from __future__ import annotations

import subprocess


def outputs(procs: list[subprocess.Popen[str]], timeout: float = 300) -> list[str]:
    """Each worker's standard output, once all have ended; fails if any did not succeed."""
    done: list[tuple[int, str]] = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        done.append((proc.returncode, out))
    failed = [i for i, (code, _) in enumerate(done) if code != 0]
    assert not failed, f"workers {failed} failed (exit codes {[done[i][0] for i in failed]})"
    return [out for _, out in done]
