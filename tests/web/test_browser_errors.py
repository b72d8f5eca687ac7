"""Every error the page can meet, in Debian's Chromium with JavaScript on and off: the person reads what
happened and what to do, never a status code, JSON or the operator's detail."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from service.app import create_app
from service.classifier import Classifier
from service.config import Settings
from service.engine import Engine, build_engine, openai_llm
from service.errors import ArtifactError
from service.web.errors import CROSS_SITE, NOT_WORKING, STILL_STARTING, TOO_LARGE
from service.web.goals_text import MAX_GOALS
from tests.live_server import running, serving_engine, wait_until_loaded
from tests.web.test_browser import serious_violations

JS = pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
FULL_PASTE = "\n".join(f"Close {n} deals per month" for n in range(1, MAX_GOALS + 1))
# What a person must never be shown: a status code, raw JSON, or what only an operator can act on.
JARGON = re.compile(r"error \d{3}|\{\s*\"|\"error\"|restart|\blog|traceback|make train|GOAL_", re.IGNORECASE)
# Chromium logs each answer with an error status; anything else on the console (a CSP violation, a script
# error) fails the test.
FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of \d{3}")

Visit = Callable[[str, bool], Page]


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    """Opens a page of `url` with JavaScript on or off; fails the test on an unexpected console error."""
    errors: list[str] = []
    contexts: list[BrowserContext] = []

    def open_page(url: str, js: bool) -> Page:
        context = browser.new_context(
            base_url=url, java_script_enabled=js, viewport={"width": 1100, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert [error for error in errors if not FAILED_LOAD.match(error)] == []


def check_goals(page: Page, goals: str) -> None:
    page.goto("/")
    page.get_by_label("Your goals").fill(goals)
    page.get_by_role("button", name="Check my goals").click()


def assert_told(page: Page, message: str | re.Pattern[str], artifacts: Path, shot: str, js: bool) -> None:
    """The message is on screen in plain words, and nothing on screen is jargon."""
    expect(page.get_by_text(message)).to_be_visible()
    shown = page.locator("body").inner_text()
    assert JARGON.search(shown) is None, JARGON.search(shown)
    page.screenshot(path=artifacts / f"error-{shot}-js-{'on' if js else 'off'}.png", full_page=True)


@pytest.fixture(scope="module")
def starting_url(settings: Settings, embedded_engine: Engine) -> Iterator[str]:
    """A server whose engine goes on loading until the module's tests are done."""
    release = threading.Event()

    def blocked_loader(_: Settings) -> Engine:
        release.wait(timeout=120)
        return embedded_engine

    with running(create_app(settings, loader=blocked_loader)) as url:
        try:
            yield url
        finally:
            release.set()


@pytest.fixture(scope="module")
def broken_url(settings: Settings) -> Iterator[str]:
    """A server whose engine failed to load."""

    def broken_loader(_: Settings) -> Engine:
        raise ArtifactError("No classifier head at /nowhere. Run `make train`, then restart the service.")

    with running(create_app(settings, loader=broken_loader)) as url, httpx.Client(base_url=url) as http:
        assert wait_until_loaded(http).json()["status"] == "failed"
        yield url


@JS
def test_a_service_still_starting_says_to_wait_and_press_again(
    visit: Visit, starting_url: str, artifacts: Path, js: bool
) -> None:
    page = visit(starting_url, js)
    check_goals(page, "Close 20 deals per month")
    assert_told(page, STILL_STARTING, artifacts, "not-ready", js)
    expect(page.get_by_label("Your goals")).to_have_value("Close 20 deals per month")


@JS
def test_a_service_that_failed_to_start_says_to_tell_the_helpdesk(
    visit: Visit, broken_url: str, artifacts: Path, js: bool
) -> None:
    page = visit(broken_url, js)
    check_goals(page, "Close 20 deals per month")
    assert_told(page, NOT_WORKING, artifacts, "not-working", js)


@pytest.fixture
def limited_url(settings: Settings, embedded_engine: Engine) -> Iterator[str]:
    """A server whose page takes one full paste a minute from each address; the test's own paste (from
    127.0.0.1, as the browser's) has spent the paste."""
    limited = settings.model_copy(
        update={"page_rate_limit_per_minute": MAX_GOALS, "page_rate_limit_burst": MAX_GOALS}
    )
    with serving_engine(limited, embedded_engine) as (url, http):
        assert http.post("/rewrite-form", data={"goals": FULL_PASTE}).status_code == 200
        yield url


@JS
def test_too_many_goals_in_a_short_time_says_how_long_to_wait(
    visit: Visit, limited_url: str, artifacts: Path, js: bool
) -> None:
    page = visit(limited_url, js)
    check_goals(page, "Read one report a week")
    waiting = re.compile(r"You have checked many goals in a short time\. Wait \d+ seconds, then press")
    assert_told(page, waiting, artifacts, "rate-limited", js)
    expect(page.get_by_label("Your goals")).to_have_value("Read one report a week")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def llm_down_url(settings: Settings, classifier: Classifier) -> Iterator[str]:
    """A server whose LLM is a closed loopback port; the breaker stays shut so every goal asks it."""
    down = settings.model_copy(
        update={
            "llm_base_url": f"http://127.0.0.1:{_closed_port()}/v1",
            "llm_max_attempts": 1,
            "llm_deadline_s": 5,
            "llm_breaker_failures": 1000,
            "cascade_threshold": 1.0,
        }
    )
    engine = build_engine(down, classifier=classifier, llm=openai_llm(down))
    with serving_engine(down, engine) as (url, _http):
        yield url


@JS
def test_an_llm_that_is_down_still_gets_answers_and_says_why(
    visit: Visit, llm_down_url: str, artifacts: Path, js: bool
) -> None:
    page = visit(llm_down_url, js)
    check_goals(page, "Close 20 deals per month")
    expect(page.locator("article.goal .rewrite-text")).to_have_count(3)
    assert_told(
        page,
        "Answered by the built-in engine: the AI service was asked, but it could not be reached. You can use "
        "these answers as they are, or check your goals again later.",
        artifacts,
        "llm-down",
        js,
    )


class _OtherSite(BaseHTTPRequestHandler):
    """Another website's page, holding a form that posts goals to the goal rewriter."""

    target = ""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><title>Win a prize</title>"
            f'<form method="post" action="{self.target}/rewrite-form">'
            '<input type="hidden" name="goals" value="Close 20 deals per month">'
            "<button>Claim your prize</button></form>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture(scope="module")
def other_site(base_url: str) -> Iterator[str]:
    """The other website, on loopback as `localhost`: another site than the app's 127.0.0.1."""
    handler = type("OtherSite", (_OtherSite,), {"target": base_url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@JS
def test_a_form_posted_from_another_website_is_refused_in_plain_words(
    visit: Visit, other_site: str, base_url: str, artifacts: Path, js: bool
) -> None:
    page = visit(other_site, js)
    page.goto(other_site)
    page.get_by_role("button", name="Claim your prize").click()
    page.wait_for_url(f"{base_url}/rewrite-form")
    assert_told(page, CROSS_SITE.message, artifacts, "cross-site", js)
    expect(page.get_by_role("heading", name=CROSS_SITE.title)).to_be_visible()
    if js:
        assert serious_violations(page) == []
    page.get_by_role("link", name="Open the goal rewriter").click()
    expect(page.get_by_role("button", name="Check my goals")).to_be_visible()
    assert page.url == f"{base_url}/"


@pytest.fixture(scope="module")
def small_body_url(settings: Settings, embedded_engine: Engine) -> Iterator[str]:
    """A server that reads at most 1 KiB of a request."""
    small = settings.model_copy(update={"max_body_bytes": 1024})
    with serving_engine(small, embedded_engine) as (url, _http):
        yield url


@JS
def test_a_paste_too_large_for_the_server_says_to_send_less(
    visit: Visit, small_body_url: str, artifacts: Path, js: bool
) -> None:
    page = visit(small_body_url, js)
    goal = (
        "Call every customer who has not ordered for three months, ask what would bring them back, and "
        "write down what they say"
    )
    check_goals(page, "\n".join(f"{n}. {goal}" for n in range(1, MAX_GOALS + 1)))
    assert_told(page, TOO_LARGE.message, artifacts, "too-large", js)


@JS
def test_too_many_goals_at_once_says_how_many_the_page_takes(
    visit: Visit, base_url: str, artifacts: Path, js: bool
) -> None:
    page = visit(base_url, js)
    check_goals(page, "\n".join(f"Close {n} deals per month" for n in range(1, MAX_GOALS + 2)))
    message = (
        f"You pasted {MAX_GOALS + 1} goals; the page takes up to {MAX_GOALS} at a time. "
        f"Keep the first {MAX_GOALS} and check the rest afterwards."
    )
    assert_told(page, message, artifacts, "too-many-goals", js)
