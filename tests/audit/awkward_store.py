"""An embedded store whose records hold every awkward JSON value canonical JSON must keep.

`python -m tests.audit.awkward_store DIR` builds one; `fixtures/pre-canonical-store.tar.gz` is
one built this way before canonical JSON was written in one module, and must verify for ever.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from modelrepo import ManualClock, Registry

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

PARAMS = {
    "label": "naïve Bayes — 日本語 🙂",
    "layers": [64, {"units": 32, "dropout": 0.1}],
    "seed": 10**30,
    "ratios": [1.0, -0.0, 1e20, 1e-07, 123456789.125],
    "escapes": 'tab\t newline\n quote" backslash\\ ctl\x1f sep\u2028',
    "none": None,
    "flags": [True, False],
}


def build(store: Path, artifact: Path) -> None:
    """Versions, tags, splits, decisions and webhook deliveries, all with awkward values."""
    clock = ManualClock(T0, step=timedelta(seconds=1))
    reg = Registry(store, user="ålice", clock=clock, checkpoint_every=5)
    reg.add_webhook(
        "https://hooks.example.com/ü", events=["registered", "deployed"], model_pattern="*"
    )
    artifact.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        (artifact / "coefficients.json").write_text(f'{{"income": {0.25 * (i + 1)}}}\n')
        (artifact / "données-ü.csv").write_text(f"nom,valeur\nrevenu,{i}\n")
        reg.register(
            "credit-risk",
            artifact,
            params={**PARAMS, "i": i},
            metrics={"auc": 0.9 + i / 100, "loss": 1.0, "big": 1e20},
            tags={"owner": "zoë", "note": "<script>alert(1)</script>"},
            description="modèle de crédit ✓",
            signature={"inputs": [{"name": "revenu €", "type": "double"}]},
            code=False,
            environment=i == 0,  # one snapshot of the Python packages, stored by digest
        )
    reg.tag("credit-risk", 1, "validated", "oui ✓")
    reg.deploy("credit-risk", 1, env="production", reason="première mise en ligne")
    reg.deploy_split("credit-risk", {2: 0.75, 3: 0.25}, env="production", reason="canari 🐤")
    reg.log_decisions(
        {
            "decision_id": f"d-{n}",
            "model": "credit-risk",
            "environment": "production",
            "version": 2 + n % 2,
            "inputs": {"revenu": 1234.5 + n, "nom": "Zoë", "nested": {"b": [1, 2.0], "a": None}},
            "output": {"score": 0.125 * n, "classe": "accordé ✓", "big": 2**64},
            "metadata": {"canal": "agence-été"},
        }
        for n in range(4)
    )
    reg.deliverer().fan_out()  # webhook bodies, as stored for sending
    reg.audit_checkpoint()
    reg.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as work:
        build(Path(sys.argv[1]), Path(work) / "artifact")
