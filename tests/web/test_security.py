"""Security headers on every answer, and form posts from other sites refused."""

from __future__ import annotations

import httpx
import pytest

from service.schemas import ErrorBody
from service.web.security import PAGE_POLICY, REDOC_POLICY, SWAGGER_POLICY


@pytest.mark.parametrize(
    "path", ["/", "/static/page.js", "/v1/kinds", "/healthz", "/docs-assets/swagger-ui-bundle.js"]
)
def test_answers_carry_the_security_headers(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(("path", "policy"), [("/docs", SWAGGER_POLICY), ("/redoc", REDOC_POLICY)])
def test_api_docs_keep_scripts_to_the_apps_own_files(client: httpx.Client, path: str, policy: str) -> None:
    response = client.get(path)
    assert response.headers["content-security-policy"] == policy
    directives = dict(directive.split(" ", 1) for directive in policy.split("; "))
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in policy
    assert "http" not in policy
    # Only what the bundles need is added to the page's own policy.
    page = dict(directive.split(" ", 1) for directive in PAGE_POLICY.split("; "))
    changed = {name for name, value in directives.items() if page.get(name) != value}
    assert changed <= {"img-src", "style-src", "worker-src"}


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site", "origin": "http://127.0.0.1"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
    ],
)
@pytest.mark.parametrize("path", ["/rewrite-form", "/feedback-form", "/v1/rewrite"])
def test_posts_from_another_site_are_refused(
    client: httpx.Client, path: str, headers: dict[str, str]
) -> None:
    response = client.post(path, data={"goals": "sell more"}, headers=headers)
    assert response.status_code == 403
    assert "another website" in ErrorBody.model_validate(response.json()).message
    assert response.headers["x-content-type-options"] == "nosniff"


def test_posts_from_the_page_itself_and_from_api_clients_are_answered(client: httpx.Client) -> None:
    origin = str(client.base_url).rstrip("/")
    same_origin = {"sec-fetch-site": "same-origin", "origin": origin}
    assert client.post("/rewrite-form", data={"goals": "sell more"}, headers=same_origin).status_code == 200
    assert (
        client.post("/rewrite-form", data={"goals": "sell more"}, headers={"origin": origin}).status_code
        == 200
    )
    # A typed URL or a bookmark: "none" is the user's own doing.
    assert (
        client.post("/rewrite-form", data={"goals": "x"}, headers={"sec-fetch-site": "none"}).status_code
        == 200
    )
    # HR tools send neither header.
    assert client.post("/v1/classify", json={"goal": "sell more"}).status_code == 200


def test_a_cross_site_get_is_still_served(client: httpx.Client) -> None:
    assert client.get("/", headers={"sec-fetch-site": "cross-site"}).status_code == 200
