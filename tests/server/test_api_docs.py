"""The interactive API docs on a network with no way out: /docs and /redoc load every script,
stylesheet and icon from this server, without a token."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.server import create_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Registry.in_memory(user="server")))


def referenced(page: str) -> list[str]:
    """Every URL a page loads: scripts, stylesheets, icons, ReDoc's spec (`src=`, `href=`,
    `spec-url=`), and the addresses its inline script hands to Swagger UI (`url: '...'`)."""
    found = re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", page)
    return found + re.findall(r"""url:\s*['"]([^'"]+)['"]""", page)


@pytest.mark.parametrize(
    ("page", "kinds"),
    [("/docs", {"text/javascript", "text/css", "image/png"}), ("/redoc", {"text/javascript"})],
)
def test_the_docs_load_nothing_from_another_host(
    client: TestClient, page: str, kinds: set[str]
) -> None:
    reply = client.get(page)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    html = reply.text
    assert re.findall(r"https?://|//[a-z0-9-]+\.[a-z]", html, flags=re.I) == [], page
    urls = referenced(html)
    assert "/openapi.json" in urls
    served = set()
    for url in urls:
        assert url.startswith("/"), url
        asset = client.get(url)  # no token
        assert asset.status_code == 200, url
        served.add(asset.headers["content-type"].split(";")[0])
    assert kinds <= served, served
    # What the bundles would still ask of another host, the browser is told not to.
    csp = reply.headers["content-security-policy"]
    assert "img-src 'self' data:" in csp and "connect-src 'self'" in csp


def test_swagger_ui_sends_the_spec_to_no_validator(client: TestClient) -> None:
    """Swagger UI's default badge sends the spec's address to validator.swagger.io."""
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_docs_files_are_the_bundled_swagger_ui_and_redoc(client: TestClient) -> None:
    swagger = client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in swagger.text[:2000]
    assert len(swagger.content) > 500_000
    assert client.get("/docs/assets/swagger-ui.css").text.startswith((".swagger-ui", "@"))
    assert "Redoc" in client.get("/docs/assets/redoc.standalone.js").text[:5000]
    assert client.get("/docs/assets/missing.js").status_code == 401  # no catch-all
