"""Mistakes an MLflow client can make against the registry API, each with the answer MLflow's
own server gives (status and `error_code`, as MLflow 3.17's `mlflow server` answers them):
the HTTP test checks modelrepo gives the same, the interop test compares both servers live.

Every case runs against a registry holding the model `probe` with one version, `1`, no tags
and no aliases. `DELIBERATE` lists where modelrepo answers otherwise, and why (shown in
docs/interop.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RM = "/api/2.0/mlflow/registered-models"
MV = "/api/2.0/mlflow/model-versions"


@dataclass(frozen=True)
class Case:
    mistake: str
    method: str
    path: str
    sent: dict[str, Any]
    status: int
    code: str | None  # None: a success, `{}`

    def send(self, request: Callable[..., Any]) -> tuple[int, str | None]:
        """(status, error_code) of the case sent with `request(method, path, **kwargs)`,
        the fields as the query (GET) or the JSON body, as MLflow's client sends them."""
        key = "params" if self.method == "GET" else "json"
        reply = request(self.method, self.path, **{key: self.sent})
        body = reply.json() if reply.content else {}
        return reply.status_code, body.get("error_code") if isinstance(body, dict) else None


INVALID, MISSING = "INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"

CASES = (
    Case("missing model", "GET", f"{RM}/get", {"name": "nope"}, 404, MISSING),
    Case(
        "missing model (update)",
        "PATCH",
        f"{RM}/update",
        {"name": "nope", "description": "d"},
        404,
        MISSING,
    ),
    Case(
        "missing model (set tag)",
        "POST",
        f"{RM}/set-tag",
        {"name": "nope", "key": "k", "value": "v"},
        404,
        MISSING,
    ),
    Case(
        "missing model (latest versions)",
        "POST",
        f"{RM}/get-latest-versions",
        {"name": "nope"},
        404,
        MISSING,
    ),
    Case("missing version", "GET", f"{MV}/get", {"name": "probe", "version": "9"}, 404, MISSING),
    Case(
        "version of a missing model",
        "GET",
        f"{MV}/get",
        {"name": "nope", "version": "1"},
        404,
        MISSING,
    ),
    Case(
        "version of a missing model (create)",
        "POST",
        f"{MV}/create",
        {"name": "nope", "source": "s3://b/m"},
        404,
        MISSING,
    ),
    Case(
        "missing version (update)",
        "PATCH",
        f"{MV}/update",
        {"name": "probe", "version": "9", "description": "d"},
        404,
        MISSING,
    ),
    Case(
        "missing version (download uri)",
        "GET",
        f"{MV}/get-download-uri",
        {"name": "probe", "version": "9"},
        404,
        MISSING,
    ),
    Case(
        "missing version (stage)",
        "POST",
        f"{MV}/transition-stage",
        {"name": "probe", "version": "9", "stage": "Staging", "archive_existing_versions": False},
        404,
        MISSING,
    ),
    Case(
        "missing version (alias)",
        "POST",
        f"{RM}/alias",
        {"name": "probe", "alias": "champion", "version": "9"},
        404,
        MISSING,
    ),
    Case("version 0", "GET", f"{MV}/get", {"name": "probe", "version": "0"}, 404, MISSING),
    Case("negative version", "GET", f"{MV}/get", {"name": "probe", "version": "-1"}, 404, MISSING),
    Case("bad version string", "GET", f"{MV}/get", {"name": "probe", "version": "x"}, 400, INVALID),
    Case("missing alias", "GET", f"{RM}/alias", {"name": "probe", "alias": "nope"}, 400, INVALID),
    Case(
        "alias of a missing model",
        "GET",
        f"{RM}/alias",
        {"name": "nope", "alias": "a"},
        404,
        MISSING,
    ),
    Case("the latest alias", "GET", f"{RM}/alias", {"name": "probe", "alias": "latest"}, 200, None),
    Case(
        "deleting a missing alias",
        "DELETE",
        f"{RM}/alias",
        {"name": "probe", "alias": "nope"},
        200,
        None,
    ),
    Case(
        "reserved alias latest",
        "POST",
        f"{RM}/alias",
        {"name": "probe", "alias": "Latest", "version": "1"},
        400,
        INVALID,
    ),
    Case(
        "reserved alias v1",
        "POST",
        f"{RM}/alias",
        {"name": "probe", "alias": "v1", "version": "1"},
        400,
        INVALID,
    ),
    Case(
        "reserved alias V12",
        "POST",
        f"{RM}/alias",
        {"name": "probe", "alias": "V12", "version": "1"},
        400,
        INVALID,
    ),
    Case(
        "alias with a space",
        "POST",
        f"{RM}/alias",
        {"name": "probe", "alias": "a b", "version": "1"},
        400,
        INVALID,
    ),
    Case(
        "deleting a missing model tag",
        "DELETE",
        f"{RM}/delete-tag",
        {"name": "probe", "key": "nope"},
        200,
        None,
    ),
    Case(
        "deleting a missing version tag",
        "DELETE",
        f"{MV}/delete-tag",
        {"name": "probe", "version": "1", "key": "nope"},
        200,
        None,
    ),
    Case(
        "deleting a tag of a missing model",
        "DELETE",
        f"{RM}/delete-tag",
        {"name": "nope", "key": "k"},
        404,
        MISSING,
    ),
    Case(
        "deleting a tag of a missing version",
        "DELETE",
        f"{MV}/delete-tag",
        {"name": "probe", "version": "9", "key": "k"},
        404,
        MISSING,
    ),
    Case("empty name", "GET", f"{RM}/get", {"name": ""}, 400, INVALID),
    Case("duplicate", "POST", f"{RM}/create", {"name": "probe"}, 400, "RESOURCE_ALREADY_EXISTS"),
    Case(
        "invalid stage",
        "POST",
        f"{MV}/transition-stage",
        {"name": "probe", "version": "1", "stage": "Shipped", "archive_existing_versions": False},
        400,
        INVALID,
    ),
    Case(
        "invalid stage (latest versions)",
        "POST",
        f"{RM}/get-latest-versions",
        {"name": "probe", "stages": ["Shipped"]},
        400,
        INVALID,
    ),
    Case(
        "archiving others into a stage that does not serve",
        "POST",
        f"{MV}/transition-stage",
        {"name": "probe", "version": "1", "stage": "Archived", "archive_existing_versions": True},
        500,
        "INTERNAL_ERROR",
    ),
    Case(
        "a tracking endpoint", "GET", "/api/2.0/mlflow/runs/get", {"run_id": "0a1b"}, 404, MISSING
    ),
    Case(
        "a tracking search",
        "POST",
        "/api/2.0/mlflow/experiments/search",
        {"max_results": 1},
        200,
        None,
    ),
)

DELIBERATE: dict[str, tuple[int, str, str]] = {
    "archiving others into a stage that does not serve": (
        400,
        INVALID,
        "a mistake of the caller, refused as one: MLflow's 500 would make its client retry",
    ),
    "a tracking endpoint": (
        404,
        "ENDPOINT_NOT_FOUND",
        "tracking is not served here: the message says so and where to go",
    ),
    "a tracking search": (
        404,
        "ENDPOINT_NOT_FOUND",
        "tracking is not served here: the message says so and where to go",
    ),
}
"""Mistakes modelrepo answers otherwise than MLflow: (status, error_code, why)."""


def modelrepo_answer(case: Case) -> tuple[int, str | None]:
    """What modelrepo answers `case` with: MLflow's answer unless a deliberate difference."""
    if case.mistake in DELIBERATE:
        status, code, _ = DELIBERATE[case.mistake]
        return status, code
    return case.status, case.code
