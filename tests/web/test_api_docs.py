"""The API docs (`/docs`, `/redoc`) work with nothing but the app: in a real browser whose every request to
another host is refused, and under a CSP that any inline script or outside file would break."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

# ReDoc's side menu credits Redocly with a logo from cdn.redoc.ly: the CSP refuses it before it is
# requested, and Chromium logs the refusal as an error.
REDOCLY_LOGO_REFUSED = re.compile(r"^Loading the image 'https://cdn\.redoc\.ly/[^']*' violates")


def refuse_other_hosts(page: Page, base_url: str) -> list[str]:
    """Abort every request that is not to the test server; the returned list fills with their URLs."""
    server = urlsplit(base_url)[:2]
    refused: list[str] = []

    def handle(route: Route) -> None:
        if urlsplit(route.request.url)[:2] == server:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return refused


def test_swagger_ui_renders_and_runs_a_request_with_other_hosts_refused(
    page: Page, base_url: str, artifacts: Path
) -> None:
    refused = refuse_other_hosts(page, base_url)
    page.goto("/docs")
    classify = page.locator(".opblock-summary-path[data-path='/v1/classify']")
    expect(classify).to_be_visible()
    classify.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table td.response-col_status:not(.col_header)")).to_have_text("200")
    page.screenshot(path=artifacts / "docs.png", full_page=True)
    assert refused == []


def test_redoc_renders_and_searches_with_other_hosts_refused(
    page: Page, base_url: str, artifacts: Path, console_errors: list[str]
) -> None:
    refused = refuse_other_hosts(page, base_url)
    page.goto("/redoc")
    expect(page.get_by_role("heading", name="goal-rewriter (0.1.0)")).to_be_visible()
    expect(page.get_by_role("button", name="post /v1/classify")).to_be_visible()
    # The search index runs in a worker, which the page's CSP has to allow.
    page.get_by_placeholder("Search...").fill("feedback")
    search = page.get_by_role("search")
    expect(search.get_by_role("menuitem", name="Record Feedback")).to_be_visible()
    page.screenshot(path=artifacts / "redoc.png")
    assert refused == []
    console_errors[:] = [error for error in console_errors if not REDOCLY_LOGO_REFUSED.match(error)]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_files_of_the_app(client: httpx.Client, path: str) -> None:
    html = client.get(path).text
    assert "<script>" not in html
    sources = re.findall(r'(?:src|href|spec-url|data-openapi-url)="([^"]*)"', html)
    assert sources
    assert all(source.startswith("/") and not source.startswith("//") for source in sources)
    for source in sources:
        assert client.get(source).status_code == 200, source
