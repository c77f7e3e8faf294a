"""modelrepo end to end: train three credit-scoring models, register, audit and deploy them.

Run from anywhere: `.venv/bin/python examples/demo.py` (or `make demo`). Everything it
writes goes to `.demo/` under the repository root, which is deleted first so that two runs
produce the same data, the same artifacts and therefore the same version digests. The registry
runs on a manual clock (four simulated weeks from 2026-02-02), so every recorded time, and
hence the deployment history, is the same on every run too.

Nothing is downloaded and nothing is pickled: each model is saved as plain-text coefficients
that a reviewer can read, diff and re-score with a few lines of arithmetic.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from urllib.request import url2pathname

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, roc_auc_score, roc_curve

from modelrepo import DeploymentOutcome, Forbidden, LiveState, ManualClock, ModelVersion, Registry
from modelrepo.lineage import capture_code

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO_ROOT / ".demo"
STORE = DEMO_DIR / "store"
DATA_DIR = DEMO_DIR / "data"
MODEL = "credit-risk"
FLAVOR = "text-coefficients"
AUTHOR = "alice@bank.example"  # ML engineer: trains, registers, asks for deployments
REVIEWER = "bob@bank.example"  # model risk: validates, signs off, approves production changes
AUDITOR = "dora@regulator.example"  # asks why a decision was made
SRE = "carol@bank.example"  # site reliability: runs canaries, asks for rollbacks
SEED = 20240917
N_TRAIN, N_HOLDOUT = 5_000, 1_250
# The validation policy: discriminates well enough AND is calibrated (PDs feed pricing/capital).
POLICY = ("metrics.auc>=0.835", "metrics.brier<=0.12")
TARGET = "default"
PROD = "production"


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of the simulated story (all in 2026, UTC)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


START = utc(2, 2, 9)  # Monday: the registry is set up and the candidates are registered
SIGNED_OFF = utc(2, 2, 10)
# Before the registry existed, the oldest candidate had served production since this instant;
# change ticket CHG-1234 says so, and the history is backfilled from it.
BACKFILL_FROM, BACKFILL_RECORDED = utc(1, 5, 8), utc(2, 2, 11)
CLI_LIVE_AT = utc(2, 13, 12)  # after the approval of the chosen version, before the rollback


class Feature(NamedTuple):
    """How one synthetic column looks in the CSV, and its true effect on default."""

    centre: float
    spread: float
    low: float
    high: float
    decimals: int
    effect: float  # on the log-odds of default, per standard deviation


# The generator draws correlated standard scores, sets the default outcome from the true
# effects, then puts each score into plausible units; a fitted model should recover the signs.
FEATURES = {
    "income": Feature(58_000, 16_000, 9_000, 400_000, 0, -0.8),
    "debt_ratio": Feature(0.35, 0.12, 0.0, 2.0, 3, 0.7),
    "age": Feature(44, 11, 18, 90, 0, -0.2),
    "credit_history_months": Feature(120, 45, 6, 600, 0, -0.4),
    "open_credit_lines": Feature(6, 2.5, 0, 40, 0, 0.1),
    "late_payments_12m": Feature(1.2, 1.1, 0, 24, 0, 0.9),
    "utilization": Feature(0.40, 0.18, 0.0, 1.0, 3, 0.6),
    "loan_amount": Feature(15_000, 6_000, 1_000, 100_000, 0, 0.3),
}
BASE_LOG_ODDS = -2.3  # roughly one applicant in six defaults
CORRELATED = {("income", "age"): 0.3, ("age", "credit_history_months"): 0.6,
              ("debt_ratio", "utilization"): 0.4, ("income", "loan_amount"): 0.3}  # fmt: skip
FEATURE_NAMES = list(FEATURES)


@dataclass(frozen=True)
class Candidate:
    """One training configuration; the registry records it as the version's params."""

    C: float
    class_weight: str | None
    solver: str = "lbfgs"
    max_iter: int = 1_000

    def params(self) -> dict[str, Any]:
        return {
            "C": self.C,
            "class_weight": self.class_weight,
            "solver": self.solver,
            "max_iter": self.max_iter,
        }


CANDIDATES = (
    Candidate(C=0.001, class_weight=None),
    Candidate(C=0.1, class_weight="balanced"),
    Candidate(C=1.0, class_weight=None),
)

Matrix = NDArray[np.float64]


def heading(title: str) -> None:
    """Sections make the output skimmable for a reviewer who did not write the code."""
    print(f"\n== {title} " + "=" * max(0, 76 - len(title)))


def indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.rstrip("\n").split("\n"))


def sha256_file(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


# -- data -----------------------------------------------------------------------------------


def reset_demo_dir() -> None:
    """A fresh store and data folder each run, so digests are comparable between runs."""
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DATA_DIR.mkdir(parents=True)


def generate_credit_data() -> tuple[Matrix, NDArray[np.int64]]:
    """Synthetic applicants with plausible units and known true effects; fixed seed."""
    rng = np.random.default_rng(SEED)
    index = {name: i for i, name in enumerate(FEATURES)}
    corr = np.eye(len(FEATURES))
    for (a, b), rho in CORRELATED.items():
        corr[index[a], index[b]] = corr[index[b], index[a]] = rho
    z = rng.multivariate_normal(np.zeros(len(FEATURES)), corr, size=N_TRAIN + N_HOLDOUT)
    effects = np.array([f.effect for f in FEATURES.values()])
    p_default = 1.0 / (1.0 + np.exp(-(BASE_LOG_ODDS + z @ effects)))
    y = (rng.random(len(z)) < p_default).astype(np.int64)
    columns = [
        np.round(np.clip(f.centre + f.spread * z[:, j], f.low, f.high), f.decimals)
        for j, f in enumerate(FEATURES.values())
    ]
    return np.column_stack(columns), y


def write_csv(path: Path, x: Matrix, y: NDArray[np.int64]) -> None:
    """Fixed number formatting keeps the file, and hence its recorded sha256, byte-stable."""
    decimals = [f.decimals for f in FEATURES.values()]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*FEATURE_NAMES, TARGET])
        for row, label in zip(x, y, strict=True):
            cells = [f"{v:.{d}f}" for v, d in zip(row, decimals, strict=True)]
            writer.writerow([*cells, int(label)])


def read_csv(path: Path) -> tuple[Matrix, NDArray[np.int64]]:
    """Train and evaluate from the very files whose digests go into the lineage."""
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


def write_datasets() -> tuple[Path, Path]:
    x, y = generate_credit_data()
    train, holdout = DATA_DIR / "credit-train.csv", DATA_DIR / "credit-holdout.csv"
    write_csv(train, x[:N_TRAIN], y[:N_TRAIN])
    write_csv(holdout, x[N_TRAIN:], y[N_TRAIN:])
    return train, holdout


# -- training and the text artifact -------------------------------------------------------


def train(candidate: Candidate, x: Matrix, y: NDArray[np.int64]) -> dict[str, Any]:
    """Fit on standardised inputs and return the whole model as a JSON-able document."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    model = LogisticRegression(
        C=candidate.C,
        class_weight=candidate.class_weight,
        solver=candidate.solver,
        max_iter=candidate.max_iter,
    )
    model.fit((x - mean) / scale, y)

    def per_feature(values: Any) -> dict[str, float]:
        return {f: round(float(v), 4) for f, v in zip(FEATURE_NAMES, values, strict=True)}

    return {
        "format": "text-coefficients/1",
        "target": TARGET,
        "classes": [int(c) for c in model.classes_],
        "features": FEATURE_NAMES,
        "coefficients": per_feature(model.coef_[0]),
        "intercept": round(float(model.intercept_[0]), 4),
        "standardization": {"mean": per_feature(mean), "scale": per_feature(scale)},
        "score": "p(default) = 1 / (1 + exp(-(intercept + sum_f coef[f] * (x[f] - mean[f]) "
        "/ scale[f])))",
    }


def score(doc: dict[str, Any], x: Matrix) -> Matrix:
    """Probability of default computed from the saved text alone, as a validator would."""
    std = doc["standardization"]
    cols = doc["features"]
    mean = np.array([std["mean"][f] for f in cols])
    scale = np.array([std["scale"][f] for f in cols])
    coef = np.array([doc["coefficients"][f] for f in cols])
    logit = doc["intercept"] + ((x - mean) / scale) @ coef
    return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=np.float64)


def evaluate(doc: dict[str, Any], x: Matrix, y: NDArray[np.int64]) -> dict[str, float]:
    """Holdout metrics of the artifact (not the in-memory estimator) so they describe it."""
    p = score(doc, x)
    fpr, tpr, _ = roc_curve(y, p)
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "accuracy": round(float(accuracy_score(y, p >= 0.5)), 4),
        "ks": round(float(np.max(tpr - fpr)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
    }


def write_artifact(
    folder: Path,
    doc: dict[str, Any],
    candidate: Candidate,
    metrics: dict[str, float],
    train_csv: Path,
) -> None:
    """coefficients.json (sorted, indented: diffs line by line) and a human model card."""
    folder.mkdir(parents=True)
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    (folder / "coefficients.json").write_text(text, encoding="utf-8")
    card = [
        f"# {MODEL}: logistic regression (C={candidate.C}, class_weight={candidate.class_weight})",
        "",
        "- Purpose: probability of default for consumer loan applications (demo, synthetic).",
        f"- Training data: {train_csv.name} ({sha256_file(train_csv)})",
        f"- Holdout metrics: {', '.join(f'{k}={v}' for k, v in sorted(metrics.items()))}",
        "- Scoring: see `score` in coefficients.json; no pickle, no code needed.",
        "- Limitations: synthetic data; not for real credit decisions.",
    ]
    (folder / "model-card.md").write_text("\n".join(card) + "\n", encoding="utf-8")


def signature() -> dict[str, Any]:
    return {
        "inputs": [{"name": f, "type": "double"} for f in FEATURE_NAMES],
        "outputs": [{"name": "probability_default", "type": "double"}],
    }


def train_and_register(
    reg: Registry, clock: ManualClock, train_csv: Path, holdout_csv: Path
) -> list[ModelVersion]:
    """Each candidate becomes an immutable version carrying its params, metrics and lineage."""
    heading("Training and registering three candidates")
    x_train, y_train = read_csv(train_csv)
    x_hold, y_hold = read_csv(holdout_csv)
    print(
        f"  data: {len(y_train)} train rows, {len(y_hold)} holdout rows, "
        f"{len(FEATURE_NAMES)} features, default rate {y_train.mean():.1%}"
    )
    code = capture_code(REPO_ROOT)
    registered = []
    for i, candidate in enumerate(CANDIDATES, start=1):
        doc = train(candidate, x_train, y_train)
        metrics = evaluate(doc, x_hold, y_hold)
        folder = DEMO_DIR / "artifacts" / f"candidate-{i}"
        write_artifact(folder, doc, candidate, metrics, train_csv)
        version = reg.register(
            MODEL,
            folder,
            params=candidate.params(),
            metrics=metrics,
            tags={"team": "credit-risk", "stage": "candidate"},
            data=[str(train_csv), str(holdout_csv)],
            description=(
                f"Logistic regression (C={candidate.C}, class_weight={candidate.class_weight}) "
                f"on synthetic applicants, seed {SEED}"
            ),
            flavor=FLAVOR,
            signature=signature(),
            code=code or False,
        )
        registered.append(version)
        clock.advance(timedelta(minutes=1))
        print(
            f"  {version.ref}  {version.digest[:23]}...  C={candidate.C} "
            f"class_weight={candidate.class_weight}"
        )
    return registered


# -- what a reviewer looks at -------------------------------------------------------------


def metrics_text(metrics: Mapping[str, float]) -> str:
    return "  ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))


def show_versions(reg: Registry) -> None:
    heading(f"Versions of {MODEL}")
    for v in reg.versions(MODEL):
        weight = v.params["class_weight"] or "-"
        print(
            f"  @{v.version}  C={v.params['C']:<6} class_weight={weight:<9} "
            f"{metrics_text(v.metrics)}"
        )


def show_record(version: ModelVersion) -> None:
    """The evidence behind one version: content digest, lineage, environment, files."""
    heading(f"Full record of the chosen version {version.ref}")
    print(f"  digest       {version.digest}")
    print(f"  created by   {version.created_by} ({version.flavor})")
    print(f"  description  {version.description}")
    print(f"  params       {json.dumps(version.params, sort_keys=True)}")
    print(f"  metrics      {metrics_text(version.metrics)}")
    print(f"  tags         {json.dumps(version.tags, sort_keys=True)}")
    sig = version.signature or {}
    print(f"  signature    {len(sig.get('inputs', []))} double inputs -> probability_default")
    print("  lineage")
    for ref in version.lineage.data:
        local = Path(url2pathname(urlsplit(ref.uri).path))
        same = "matches file on disk" if sha256_file(local) == ref.digest else "DIFFERS on disk"
        print(f"    data   {ref.uri}")
        print(f"           {ref.digest}  ({same})")
    code = version.lineage.code
    if code:
        state = "dirty work tree" if code.dirty else "clean work tree"
        print(f"    code   commit {code.commit[:12]} on {code.branch or '(detached)'} ({state})")
    else:
        print("    code   (no Git commit recorded)")
    env = version.lineage.environment
    if env:
        print(f"    python {env.python} ({env.implementation}), {len(env.packages)} packages")
    print(f"  files ({version.size} bytes)")
    for f in version.files:
        print(f"    {f.sha256}  {f.size:>5}  {f.path}")


def apply_policy(reg: Registry) -> ModelVersion:
    """The registry's own filters decide who passes; the best passing AUC is chosen."""
    heading("Validation policy: " + " and ".join(POLICY))
    passing = {c: {v.version for v in reg.versions(MODEL, where=[c])} for c in POLICY}
    for v in reg.versions(MODEL):
        failed = [c for c in POLICY if v.version not in passing[c]]
        print(f"  {v.ref}  {'pass' if not failed else 'fail: ' + ', '.join(failed)}")
    eligible = reg.versions(MODEL, where=list(POLICY))
    if not eligible:
        raise SystemExit("no version passes the validation policy")
    chosen = max(eligible, key=lambda v: (v.metrics["auc"], -v.version))
    why = "the only one passing" if len(eligible) == 1 else "highest AUC of those passing"
    print(f"  chosen: {chosen.ref} ({why})")
    return chosen


def show_diff(reg: Registry, a: ModelVersion, b: ModelVersion) -> None:
    """Params, metrics and the line diff of the coefficients: what changed, and by how much."""
    heading(f"Diff {a.ref} -> {b.ref}")
    result = reg.diff((a.model, a.version), (b.model, b.version))
    for key, change in result.params.items():
        print(f"  params.{key}: {json.dumps(change.old)} -> {json.dumps(change.new)}")
    for key, change in result.metrics.items():
        delta = change.new - change.old
        print(f"  metrics.{key}: {change.old:.4f} -> {change.new:.4f} ({delta:+.4f})")
    print(f"  files modified: {', '.join(result.files_modified) or '(none)'}")
    print(indent(result.text_diffs.get("coefficients.json", "(coefficients identical)\n")))


def recompute_digest(folder: Path) -> tuple[str, bytes]:
    """The version digest from the files alone, per src/modelrepo/domain/manifest.py.

    Deliberately uses only hashlib and json (no modelrepo code): anyone can redo this.
    """
    files: list[dict[str, Any]] = []
    for path in sorted(
        (p for p in folder.rglob("*") if p.is_file()),
        key=lambda p: p.relative_to(folder).as_posix().encode("utf-8"),
    ):
        data = path.read_bytes()
        files.append(
            {
                "executable": bool(path.stat().st_mode & 0o100),
                "path": path.relative_to(folder).as_posix(),
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
        )
    document = {"files": files, "format": "modelrepo.manifest/1"}
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest(), canonical


def show_download(reg: Registry, version: ModelVersion, holdout_csv: Path) -> bool:
    """Download (every byte verified), then prove the digest and the metrics independently."""
    heading(f"Verified download of {version.ref} and independent digest check")
    target = reg.download(
        MODEL, version.version, DEMO_DIR / "downloaded" / f"{MODEL}-v{version.version}"
    )
    print(f"  downloaded to {target.relative_to(REPO_ROOT)}")
    digest, canonical = recompute_digest(target)
    print(f"  canonical manifest ({len(canonical)} bytes): {canonical[:88].decode()}...")
    print(f"  recorded digest    {version.digest}")
    print(f"  recomputed digest  {digest}")
    same = digest == version.digest
    print(
        f"  -> {'IDENTICAL: the files are exactly the registered version' if same else 'MISMATCH'}"
    )
    doc = json.loads((target / "coefficients.json").read_text(encoding="utf-8"))
    x_hold, y_hold = read_csv(holdout_csv)
    auc = round(float(roc_auc_score(y_hold, score(doc, x_hold))), 4)
    agrees = auc == version.metrics["auc"]
    print(
        f"  re-scored holdout from the downloaded coefficients: auc={auc:.4f} "
        f"({'matches' if agrees else 'DIFFERS from'} the recorded metric)"
    )
    return same and agrees


def show_fsck(reg: Registry) -> bool:
    heading("Store integrity (fsck)")
    report = reg.fsck()
    print(
        f"  ok={report.ok}  blobs checked={report.blobs_checked} ({report.bytes_checked} bytes)  "
        f"missing={len(report.missing)}  corrupt={len(report.corrupt)}  "
        f"orphaned={len(report.orphaned)}"
    )
    return report.ok


def sign_off(version: ModelVersion, clock: ManualClock) -> None:
    """The sign-off is a tag change, recorded with the reviewer's identity and time."""
    heading(f"Reviewer sign-off on {version.ref} (all checks above passed)")
    clock.set(SIGNED_OFF)
    with Registry(STORE, user=REVIEWER, clock=clock) as reg:
        reg.tag(MODEL, version.version, "stage", "approved")
    print(f"  {REVIEWER} set stage=approved at {iso(SIGNED_OFF)} (a change in `show` below)")


# -- four weeks of deployments, and the questions model risk asks afterwards ---------------


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%MZ")


def day(at: datetime) -> str:
    return at.strftime("%a %d %b %H:%M")


def who(user: str) -> str:
    return user.split("@")[0]


def versions_text(shares: Mapping[int, float]) -> str:
    if len(shares) == 1:
        return f"v{next(iter(shares))}"
    return " + ".join(f"v{v} {w:.0%}" for v, w in shares.items())


@dataclass(frozen=True)
class Expected:
    """What a question about production at `at` must return, and why it is interesting."""

    at: datetime
    label: str
    version: int | None
    kind: str | None = None
    approved_by: str | None = None
    backfill: bool = False
    as_known_at: datetime | None = None


class Story:
    """Three identities on one store and one manual clock; each step is logged and checked."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.regs = {
            user: Registry(STORE, user=user, clock=clock) for user in (AUTHOR, REVIEWER, SRE)
        }
        self.ok = True

    def close(self) -> None:
        for reg in self.regs.values():
            reg.close()

    def at(self, when: datetime) -> None:
        assert when >= self.clock.now(), "the story only moves forward"
        self.clock.set(when)

    def log(self, user: str, env: str, what: str) -> None:
        print(f"  {day(self.clock.now())}  {who(user):<5}  {env:<10}  {what}")

    def check(self, condition: bool, failure: str) -> None:
        if not condition:
            self.ok = False
            print(f"  !! UNEXPECTED: {failure}")

    def change(
        self, user: str, env: str, what: str, outcome: DeploymentOutcome, expect: str
    ) -> int:
        """Log a deploy/undeploy/rollback; returns its event id, or its request id if pending."""
        if outcome.event is not None:
            e = outcome.event
            backfill = f" since {day(e.effective_at)} (backfill)" if e.backfill else ""
            self.log(user, env, f"{what}{backfill} -> {outcome.status} [event {e.event_id}]")
            number = e.event_id
        else:
            assert outcome.request is not None
            r = outcome.request
            self.log(user, env, f"{what} -> {outcome.status}: request {r.request_id}")
            number = r.request_id
        self.check(outcome.status == expect, f"{what}: {outcome.status}, expected {expect}")
        return number

    def approve(self, request_id: int, reason: str) -> None:
        decided = self.regs[REVIEWER].approve(request_id, reason=reason)
        self.log(
            REVIEWER,
            decided.environment,
            f"approve {request_id} ({reason}) -> live [event {decided.event_id}]",
        )
        event = self.regs[REVIEWER].history(MODEL, env=decided.environment)[-1]
        self.check(
            decided.status == "approved"
            and event.event_id == decided.event_id
            and event.approved_by == REVIEWER,
            f"request {request_id} did not go live approved by {REVIEWER}",
        )

    def run(self, incumbent: int, challenger: int, chosen: int) -> None:
        alice, bob, carol = self.regs[AUTHOR], self.regs[REVIEWER], self.regs[SRE]
        heading(f"Four simulated weeks of deployments (manual clock from {iso(START)})")
        print(
            f"  {who(AUTHOR)} = ML engineer, {who(REVIEWER)} = model-risk approver, "
            f"{who(SRE)} = SRE (one store, one clock)"
        )
        print(f"  {'when':<16}  {'who':<5}  {'where':<10}  what")

        self.at(BACKFILL_RECORDED)
        self.change(
            AUTHOR,
            PROD,
            f"deploy v{incumbent}",
            alice.deploy(
                MODEL,
                incumbent,
                env=PROD,
                effective_at=BACKFILL_FROM,
                reason="backfilled from change ticket CHG-1234",
            ),
            "live",
        )
        self.at(utc(2, 3, 10))
        self.change(
            AUTHOR,
            "staging",
            f"deploy v{challenger}",
            alice.deploy(
                MODEL, challenger, env="staging", reason="shadow-score the high-AUC challenger"
            ),
            "live",
        )
        self.at(utc(2, 4, 10))
        split = {incumbent: 0.9, chosen: 0.1}
        self.change(
            SRE,
            "canary",
            f"deploy split {versions_text(split)}",
            carol.deploy_split(MODEL, split, env="canary", reason="canary for the candidate"),
            "live",
        )
        self.at(utc(2, 11, 10))
        self.change(
            SRE,
            "canary",
            "undeploy",
            carol.undeploy(MODEL, env="canary", reason="canary done: 7 days, no incidents"),
            "live",
        )

        self.at(utc(2, 11, 11))
        protected = bob.protect(MODEL, env=PROD)
        self.log(REVIEWER, PROD, f"protect -> protected={protected.protected} (four eyes)")
        self.at(utc(2, 11, 14))
        request = self.change(
            AUTHOR,
            PROD,
            f"deploy v{chosen}",
            alice.deploy(MODEL, chosen, env=PROD, reason="validated: passes the policy"),
            "pending",
        )
        try:
            alice.approve(request)
        except Forbidden as exc:
            self.log(AUTHOR, PROD, f"approve {request} -> refused (Forbidden):")
            print(indent(str(exc), "    "))
        else:
            self.check(False, f"{AUTHOR} approved her own request {request}")
        self.at(utc(2, 12, 9, 30))
        self.approve(request, "validation report VR-0042")

        self.at(utc(2, 17, 8, 15))
        request = self.change(
            SRE,
            PROD,
            "rollback",
            carol.rollback(MODEL, env=PROD, reason="PD drift alert INC-5678"),
            "pending",
        )
        self.at(utc(2, 17, 8, 40))
        self.approve(request, "emergency change")

        self.at(utc(2, 23, 10))
        request = self.change(
            AUTHOR,
            PROD,
            f"deploy v{chosen}",
            alice.deploy(MODEL, chosen, env=PROD, reason="INC-5678 was an upstream feed bug"),
            "pending",
        )
        self.at(utc(2, 23, 15))
        self.approve(request, "root cause fixed upstream")
        self.at(utc(2, 27, 17))

        model, now_live = bob.resolve(f"{MODEL}@{PROD}")
        print(f"  resolve('{MODEL}@{PROD}') on {day(self.clock.now())} -> {model}@{now_live}")
        self.check(now_live == chosen, f"production serves v{now_live}, not v{chosen}")

    def show_requests(self) -> None:
        heading("Four-eyes requests on production")
        for r in self.regs[REVIEWER].requests(MODEL):
            shares = versions_text({a.version: a.weight for a in r.versions})
            decided = r.status
            if r.decided_by is not None and r.decided_at is not None:
                decided += f" by {who(r.decided_by)} {day(r.decided_at)}"
            print(
                f"  #{r.request_id}  {r.kind:<8} {shares:<3}  asked by {who(r.requested_by):<5} "
                f"{day(r.requested_at)}  {decided} -> event {r.event_id}"
            )

    def answer(self, question: Expected) -> None:
        """'What was live in production at T?' with the evidence behind the answer."""
        state: LiveState = self.regs[REVIEWER].live(
            MODEL, env=PROD, at=question.at, as_known_at=question.as_known_at
        )
        known = f", as known at {iso(question.as_known_at)}" if question.as_known_at else ""
        print(f"  at {iso(question.at)}{known}  ({question.label})")
        e = state.event
        if e is None or not state.versions:
            print("    nothing was live")
        else:
            for v in state.versions:
                print(f"    v{v.version} {v.weight:.0%}  {v.digest}")
            backfill = f", a backfill recorded {iso(e.recorded_at)}" if e.backfill else ""
            print(f"    event {e.event_id}: {e.kind} effective {iso(e.effective_at)}{backfill}")
            actor = "recorded" if e.backfill else "deployed"
            print(f"    {actor} by {e.actor}, approved by {e.approved_by or '(nobody)'}")
            if e.reason:
                print(f"    reason: {e.reason}")
        got = state.versions[0].version if len(state.versions) == 1 else None
        self.check(
            got == question.version
            and (e.kind if e else None) == question.kind
            and (e.approved_by if e else None) == question.approved_by
            and (e.backfill if e else False) == question.backfill,
            f"expected v{question.version} ({question.kind}, approved by "
            f"{question.approved_by}), got {[v.version for v in state.versions]} "
            f"from event {e.event_id if e else None}",
        )

    def show_timeline(self) -> None:
        heading(f"Production timeline of {MODEL} (intervals)")
        for i in self.regs[REVIEWER].timeline(MODEL, env=PROD):
            end = iso(i.end) if i.end else "now"
            shares = versions_text({a.version: a.weight for a in i.versions})
            e = i.event
            notes = ", backfill" if e.backfill else ""
            notes += f", approved by {who(e.approved_by)}" if e.approved_by else ""
            print(
                f"  {iso(i.start)} -> {end:<17}  {shares}  event {e.event_id} "
                f"({e.kind} by {who(e.actor)}{notes})"
            )


def tell_deployment_story(
    clock: ManualClock, incumbent: ModelVersion, challenger: ModelVersion, chosen: ModelVersion
) -> bool:
    """The chosen version reaches production through staging, a canary and four-eyes approval."""
    if chosen.version == incumbent.version:
        raise SystemExit(f"the policy chose {chosen.ref}, which was already in production")
    story = Story(clock)
    try:
        story.run(incumbent.version, challenger.version, chosen.version)
        story.show_requests()
        heading(f"What was live in {PROD} at T, and who put it there?")
        questions = [
            Expected(utc(1, 20, 12), "backfilled period", incumbent.version, "deploy", None, True),
            Expected(utc(2, 13, 12), "after approval, before rollback", chosen.version, "deploy",
                     REVIEWER),
            Expected(utc(2, 19, 12), "after the rollback", incumbent.version, "rollback",
                     REVIEWER),
            Expected(utc(2, 26, 12), "redeployed", chosen.version, "deploy", REVIEWER),
            Expected(utc(1, 20, 12), "same instant, before the backfill", None,
                     as_known_at=BACKFILL_RECORDED - timedelta(minutes=30)),
        ]  # fmt: skip
        for question in questions:
            story.answer(question)
        story.show_timeline()
    finally:
        story.close()
    return story.ok


def run_cli(*args: str) -> bool:
    """The real console script, as an operator would type it, run from the repository root."""
    script = Path(sys.executable).parent / "modelrepo"
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "modelrepo"]
    command = ["modelrepo", "--store", str(STORE.relative_to(REPO_ROOT)), *args]
    heading("$ " + " ".join(command))
    done = subprocess.run(
        [*launcher, *command[1:]],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    print(indent(done.stdout + done.stderr))
    return done.returncode == 0


SERVING = "loan-service@bank.example"  # the scoring service that logs every decision
ROLLBACK_FROM, ROLLBACK_TO = utc(2, 17, 9), utc(2, 23, 15)  # the question: a refusal then


def log_decisions_over_weeks(clock: ManualClock, holdout_csv: Path) -> str:
    """Score applicants every business hour of the simulated weeks, with whatever production
    served then, and log each decision: the registry resolves the version from the history."""
    heading("Decision log: every loan decision tied to the version that made it")
    x, _ = read_csv(holdout_csv)
    with Registry(STORE, user=SERVING, clock=clock) as reg:
        coefficients: dict[int, dict[str, Any]] = {}
        records: list[dict[str, Any]] = []
        per_day: dict[Any, int] = {}
        day = utc(2, 2, 9)
        row = 0
        while day < utc(2, 28, 0):
            if day.weekday() < 5 and 9 <= day.hour < 17:
                state = reg.live(MODEL, env=PROD, at=day)
                if state.versions:
                    version = state.versions[0].version
                    if version not in coefficients:
                        text = reg.read_file(MODEL, version, "coefficients.json")
                        coefficients[version] = json.loads(text)
                    for k in range(12):
                        applicant = x[row % len(x)]
                        row += 1
                        p = float(score(coefficients[version], applicant.reshape(1, -1))[0])
                        per_day[day.date()] = per_day.get(day.date(), 0) + 1
                        stamp = f"{day:%Y-%m-%d}-{per_day[day.date()]:04d}"
                        records.append(
                            {
                                "model": MODEL,
                                "environment": PROD,
                                "decision_id": f"loan-{stamp}",
                                "decided_at": day + timedelta(minutes=5 * k),
                                "inputs": dict(zip(FEATURE_NAMES, map(float, applicant),
                                                   strict=True)),
                                "output": {"prediction": round(p, 12), "refused": p >= 0.5},
                                "metadata": {"channel": "branch" if k % 3 else "web"},
                            }
                        )  # fmt: skip
            day += timedelta(hours=1)
        reg.log_decisions(records)
        by_version: dict[int, int] = {}
        for d in reg.decisions(MODEL, env=PROD, limit=100_000):
            by_version[d.version] = by_version.get(d.version, 0) + 1
    refused = sum(1 for r in records if r["output"]["refused"])
    print(f"  {len(records)} decisions logged in one batch, {refused} refusals; by the version")
    print("  the registry resolved from the deployment history: " + ", ".join(
        f"v{v}: {n}" for v, n in sorted(by_version.items())
    ))  # fmt: skip
    in_rollback_week = [
        r
        for r in records
        if r["output"]["refused"] and ROLLBACK_FROM <= r["decided_at"] < ROLLBACK_TO
    ]
    return str(
        (in_rollback_week or [r for r in records if r["output"]["refused"]])[0]["decision_id"]
    )


def explain_decision(clock: ManualClock, decision_id: str) -> bool:
    """The question that arrives: a customer was refused on 19 February. Why?"""
    heading(f"Why was {decision_id} decided as it was?")
    with Registry(STORE, user=AUDITOR, clock=clock) as reg:
        story = reg.decision(decision_id)
        report = reg.report_decision(decision_id)
    from modelrepo.reports import render_decision_html

    out = DEMO_DIR / f"{decision_id}.html"
    out.write_text(render_decision_html(report))
    out.with_suffix(".json").write_text(json.dumps(report, indent=2, sort_keys=True))
    deployment = story["deployment"]
    print(
        f"  output {json.dumps(story['output'])} by {MODEL}@{story['version']} "
        f"({story['version_source']} from the history), digest {story['digest'][:23]}..."
    )
    print(
        f"  in force since {deployment['effective_at']}: event {deployment['event_id']} "
        f"({deployment['kind']}) by {who(deployment['actor'])}, approved by "
        f"{who(story['approval']['approved_by']) if story['approval'] else '(nobody)'}"
    )
    print("  trained on: " + ", ".join(Path(d["uri"]).name for d in story["lineage"]["data"]))
    batch = report["audit"]["decision_batch"]
    print(
        f"  audit: decision batch entry {batch['seq']} {batch['status']}, batch digest "
        f"{'matches' if batch['rows_match'] else 'DOES NOT MATCH'}; deployment entry "
        f"{report['audit']['deployment_entry']['status']}"
    )
    print(f"  evidence report: {out.relative_to(REPO_ROOT)} (and .json)")
    ok = story["matches_history"] and batch["rows_match"] and batch["status"] == "proved"
    shown = run_cli("decision", "show", decision_id)
    return ok and shown and run_cli("decision", "replay", decision_id, "--tolerance", "1e-9")


def show_audit(clock: ManualClock) -> bool:
    """End with what an auditor would do: verify the whole log, prove one entry offline."""
    heading("Audit trail: every change above is an entry in a signed Merkle log")
    with Registry(STORE, user=AUTHOR, clock=clock) as reg:
        entries = reg.audit_log(f"model:{MODEL}")
        kinds: dict[str, int] = {}
        for entry in entries:
            kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
        print(
            f"  {len(entries)} entries about {MODEL}: "
            + ", ".join(f"{kind} x{count}" for kind, count in sorted(kinds.items()))
        )
        checkpoint = reg.audit_checkpoint()
        root = checkpoint["root_hash"][:16]
        print(
            f"  signed checkpoint: size {checkpoint['size']}, root {root}..., "
            f"key {checkpoint['key_id']}"
        )
        approval = next(e for e in entries if e["kind"] == "request.approved")
        bundle = reg.audit_prove(approval["seq"])
        (DEMO_DIR / "audit-key.pem").write_text(reg.audit_key())
    proof_file = DEMO_DIR / f"proof-entry-{approval['seq']}.json"
    proof_file.write_text(json.dumps(bundle, indent=2))
    print(
        f"  inclusion proof of entry {approval['seq']} ({approval['kind']} by "
        f"{who(approval['actor'])}): {len(bundle['proof'])} hashes -> {proof_file.name}"
    )
    verifier = Path(sys.executable).parent / "modelrepo-verifier"
    offline = subprocess.run(
        [str(verifier), "inclusion", str(proof_file), "--key", str(DEMO_DIR / "audit-key.pem")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    print("  offline verifier: " + offline.stdout.strip())
    return offline.returncode == 0 and run_cli("audit", "verify")


def main() -> int:
    started = time.perf_counter()
    reset_demo_dir()
    train_csv, holdout_csv = write_datasets()
    clock = ManualClock(START)
    with Registry(STORE, user=AUTHOR, clock=clock) as reg:
        registered = train_and_register(reg, clock, train_csv, holdout_csv)
        show_versions(reg)
        best = apply_policy(reg)
        show_record(best)
        runner_up = max(
            (v for v in registered if v.version != best.version), key=lambda v: v.metrics["auc"]
        )
        show_diff(reg, runner_up, best)
        checks = [show_download(reg, best, holdout_csv), show_fsck(reg)]
    if not all(checks):
        heading("Done")
        print("  SOME CHECKS FAILED: no sign-off, no deployment")
        return 1
    sign_off(best, clock)
    checks.append(tell_deployment_story(clock, registered[0], runner_up, best))
    checks.append(run_cli("versions", MODEL))
    checks.append(run_cli("show", f"{MODEL}@{best.version}"))
    checks.append(run_cli("timeline", MODEL, "--env", PROD))
    checks.append(run_cli("live", MODEL, "--env", PROD, "--at", iso(CLI_LIVE_AT)))
    checks.append(run_cli("history", MODEL, "--env", PROD))
    questioned = log_decisions_over_weeks(clock, holdout_csv)
    checks.append(explain_decision(clock, questioned))
    checks.append(show_audit(clock))
    elapsed = time.perf_counter() - started
    verdict = "all checks passed" if all(checks) else "SOME CHECKS FAILED"
    heading("Done")
    print(f"  {verdict} in {elapsed:.1f}s; everything is under {DEMO_DIR.relative_to(REPO_ROOT)}/")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
