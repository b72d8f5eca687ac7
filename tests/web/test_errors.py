"""A browser posting the page's forms gets its errors as a page in plain words; the API keeps its JSON."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from service.api.deps import get_feedback_store
from service.app import create_app
from service.config import Settings
from service.engine import Engine
from service.errors import EngineBroken, ModelStopped, NotReady
from service.schemas import ErrorBody
from service.store.db import open_database
from service.store.feedback import FeedbackStore
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
from service.web.goals_text import MAX_GOALS
from tests.live_server import running, serving_engine, wait_until_loaded
from tests.web.conftest import FeedbackSite

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
FULL_PASTE = "\n".join(f"Close {n} deals per month" for n in range(1, MAX_GOALS + 1))


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


@pytest.fixture
def limited(settings: Settings, embedded_engine: Engine, tmp_path: Path) -> Iterator[FeedbackSite]:
    """A server whose page takes one full paste a minute from each client address: the goals of a paste
    come back a minute after it."""
    own = settings.model_copy(
        update={
            "page_rate_limit_per_minute": MAX_GOALS,
            "page_rate_limit_burst": MAX_GOALS,
            "database_url": f"sqlite:///{tmp_path / 'feedback.db'}",
        }
    )
    with serving_engine(own, embedded_engine) as (url, _http):
        database = open_database(own.database_url)
        try:
            yield FeedbackSite(url=url, database=database, store=FeedbackStore(database))
        finally:
            database.dispose()


def test_a_paste_over_the_budget_says_how_long_to_wait_and_keeps_the_goals(limited: FeedbackSite) -> None:
    with httpx.Client(base_url=limited.url, timeout=60) as http:
        assert http.post("/rewrite-form", data={"goals": FULL_PASTE}).status_code == 200
        refused = http.post("/rewrite-form", data={"goals": "Read one report a week"}, headers=BROWSER)
        api = http.post("/v1/classify", json={"goal": "Read one report a week"})
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 60
    assert f"You have checked many goals in a short time. Wait {wait} seconds, then press" in refused.text
    assert 'id="error-message"' in refused.text
    assert "Read one report a week" in refused.text.split("<textarea", 1)[1], "the paste stays in the form"
    assert "API key" not in refused.text
    assert api.status_code == 200, "the API's budgets are the keys', apart from the page's"


def test_each_client_address_has_its_own_budget(limited: FeedbackSite) -> None:
    with httpx.Client(base_url=limited.url, timeout=60) as http:
        assert http.post("/rewrite-form", data={"goals": FULL_PASTE}).status_code == 200
        assert http.post("/rewrite-form", data={"goals": "sell more"}).status_code == 429
    other = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=limited.url, timeout=60, transport=other) as http:
        assert http.post("/rewrite-form", data={"goals": "sell more"}).status_code == 200


def test_feedback_over_the_budget_is_not_recorded_and_says_how_long_to_wait(limited: FeedbackSite) -> None:
    with httpx.Client(base_url=limited.url, timeout=60) as http:
        assert http.post("/rewrite-form", data={"goals": FULL_PASTE}).status_code == 200
        refused = http.post("/feedback-form", data=FEEDBACK, headers=BROWSER)
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert f"You have used the goal rewriter a lot in a short time. Wait {wait} seconds" in refused.text
    assert "Your feedback was not recorded" in refused.text
    assert limited.store.count() == 0


def test_a_page_limit_of_zero_a_minute_turns_it_off(settings: Settings, embedded_engine: Engine) -> None:
    unlimited = settings.model_copy(update={"page_rate_limit_per_minute": 0, "page_rate_limit_burst": 10})
    with serving_engine(unlimited, embedded_engine) as (_url, http):
        for _ in range(3):
            assert http.post("/rewrite-form", data={"goals": FULL_PASTE}).status_code == 200


def test_the_page_burst_holds_at_least_one_full_paste() -> None:
    Settings(_env_file=None, page_rate_limit_burst=MAX_GOALS)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="page_rate_limit_burst"):
        Settings(_env_file=None, page_rate_limit_burst=MAX_GOALS - 1)  # type: ignore[call-arg]
