"""A browser posting the page's forms gets its errors as a page in plain words; the API keeps its JSON."""

from __future__ import annotations

import html
from collections.abc import Iterator

import httpx
import pytest

from service.api.deps import get_feedback_store
from service.app import create_app
from service.config import Settings
from service.engine import Engine
from service.errors import EngineBroken, ModelStopped, NotReady
from service.schemas import ErrorBody
from service.web.errors import (
    CROSS_SITE,
    NO_SUCH_PAGE,
    NOT_WORKING,
    SERVER_ERROR,
    STILL_STARTING,
    TOO_LARGE,
    PageError,
    not_ready,
    wants_html,
)
from tests.live_server import running, wait_until_loaded

# What Chromium sends with a form post or a link.
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CROSS_SITE_BROWSER = {**BROWSER, "sec-fetch-site": "cross-site", "origin": "http://localhost:9"}
FEEDBACK = {
    "goal": "Close 20 deals per month",
    "rewrite": "I will call five lapsed customers every Monday.",
    "goal_kind": "performance",
    "engine": "embedded",
    "verdict": "accepted",
}


def shows(response: httpx.Response, error: PageError) -> None:
    """The answer is the error page, with the message in the element page.js reads."""
    assert response.headers["content-type"].startswith("text/html")
    assert f'<h2 id="error-title">{error.title}</h2>' in response.text
    assert f'id="error-message" class="alert" role="alert">{html.escape(error.message)}<' in response.text
    assert 'href="/"' in response.text


@pytest.mark.parametrize(
    ("path", "accept", "page"),
    [
        ("/rewrite-form", "text/html,application/xhtml+xml,*/*;q=0.8", True),
        ("/feedback-form", "text/html", True),
        ("/rewrite-form", "*/*", False),
        ("/rewrite-form", None, False),
        ("/v1/rewrite", "text/html", False),
        ("/v1", "text/html", False),
        ("/v1x", "text/html", True),
    ],
)
def test_a_page_answers_only_a_browser_off_the_api(path: str, accept: str | None, page: bool) -> None:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    assert wants_html({"type": "http", "path": path, "headers": headers}) is page


def test_waiting_helps_only_while_the_engine_starts() -> None:
    assert not_ready(NotReady("The embedded engine is still loading")) == STILL_STARTING
    assert not_ready(EngineBroken("The embedded engine failed to load: boom")) == NOT_WORKING
    assert not_ready(ModelStopped("exit code -9")) == NOT_WORKING


@pytest.mark.parametrize("path", ["/rewrite-form", "/feedback-form"])
def test_a_cross_site_form_post_from_a_browser_gets_a_page(client: httpx.Client, path: str) -> None:
    response = client.post(path, data={"goals": "sell more", **FEEDBACK}, headers=CROSS_SITE_BROWSER)
    assert response.status_code == 403
    shows(response, CROSS_SITE)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_cross_site_api_post_gets_json_whatever_it_accepts(client: httpx.Client) -> None:
    response = client.post("/v1/rewrite", json={"goal": "sell more"}, headers=CROSS_SITE_BROWSER)
    assert response.status_code == 403
    assert ErrorBody.model_validate(response.json()).error == "cross_site_request"


def test_a_form_post_too_large_for_the_server_gets_a_page(client: httpx.Client) -> None:
    too_large = b"goals=" + b"x" * Settings.model_fields["max_body_bytes"].default
    headers = {**BROWSER, "content-type": "application/x-www-form-urlencoded"}
    response = client.post("/rewrite-form", content=too_large, headers=headers)
    assert response.status_code == 413
    shows(response, TOO_LARGE)
    assert "bytes" not in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    api = client.post(
        "/v1/rewrite", content=too_large, headers={**headers, "content-type": "application/json"}
    )
    assert api.status_code == 413
    assert "1 MiB" in ErrorBody.model_validate(api.json()).message, "the API keeps the sizes"


@pytest.mark.parametrize(("path", "status"), [("/no-such-page", 404), ("/rewrite-form", 405)])
def test_an_address_that_is_not_a_page_says_where_the_page_is(
    client: httpx.Client, path: str, status: int
) -> None:
    response = client.get(path, headers=BROWSER)
    assert response.status_code == status
    shows(response, NO_SUCH_PAGE)
    assert client.get(path).json()["error"] == f"http_{status}"


class BrokenStore:
    """A feedback store whose database has gone."""

    def record(self, *_: object, **__: object) -> None:
        raise RuntimeError("database is locked (sqlite3.OperationalError)")


@pytest.fixture
def broken_feedback_url(settings: Settings, embedded_engine: Engine) -> Iterator[str]:
    app = create_app(settings, loader=lambda _: embedded_engine)
    app.dependency_overrides[get_feedback_store] = BrokenStore
    with running(app) as url:
        yield url


def test_an_unexpected_error_on_a_form_post_gets_a_page_and_the_log_gets_the_cause(
    broken_feedback_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(base_url=broken_feedback_url, timeout=30) as http:
        assert wait_until_loaded(http).status_code == 200
        response = http.post("/feedback-form", data=FEEDBACK, headers=BROWSER)
    assert response.status_code == 500
    shows(response, SERVER_ERROR)
    assert "database is locked" not in response.text
    assert any(r.exc_info is not None and "database is locked" in str(r.exc_info[1]) for r in caplog.records)
