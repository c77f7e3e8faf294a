"""The hottest route is tried first, and only while that cannot change which route answers."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from modelrepo import Registry
from modelrepo.server import create_app
from modelrepo.server.app import HOT_PATHS, _hot_first


def test_the_live_route_is_tried_first() -> None:
    app = create_app(Registry.in_memory(user="routing"))
    assert [getattr(r, "path", None) for r in app.router.routes[: len(HOT_PATHS)]] == list(
        HOT_PATHS
    )


def test_a_route_that_would_answer_the_same_path_stops_the_reordering() -> None:
    def endpoint() -> None:
        return None

    routes = [
        APIRoute("/api/v1/models/{name}/environments/{env}/{what}", endpoint),
        APIRoute(HOT_PATHS[0], endpoint),
    ]
    with pytest.raises(RuntimeError, match="also matched"):
        _hot_first(routes)  # type: ignore[arg-type]
    assert routes[0].path.endswith("{what}")  # left as it was
