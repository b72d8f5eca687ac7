"""The app on a real loopback server, and one headless Debian Chromium, shared by the page tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from service.config import Settings
from service.engine import Engine
from service.store.db import Database, open_database
from service.store.feedback import FeedbackStore
from tests.live_server import serving_engine

CHROMIUM = "/usr/bin/chromium"
# Headless, and nothing that would reach off the machine (updates, sync, field trials, QUIC probes).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@pytest.fixture(scope="session")
def base_url(settings: Settings, embedded_engine: Engine) -> Iterator[str]:
    """The app with the embedded engine (no LLM), served on loopback."""
    with serving_engine(settings, embedded_engine) as (url, _http):
        yield url


@dataclass(frozen=True)
class FeedbackSite:
    """The app served on its own empty database, and that database's feedback read back."""

    url: str
    database: Database
    store: FeedbackStore


@pytest.fixture
def feedback_site(settings: Settings, embedded_engine: Engine, tmp_path: Path) -> Iterator[FeedbackSite]:
    """A fresh database per test, so a test counts exactly the feedback it sent."""
    own = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'feedback.db'}"})
    with serving_engine(own, embedded_engine) as (url, _http):
        database = open_database(own.database_url)
        try:
            yield FeedbackSite(url=url, database=database, store=FeedbackStore(database))
        finally:
            database.dispose()


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        yield http


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread while it is
# open, and the asyncio tests of a later folder (tests/api) could not start theirs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Errors the page logged; a test that provokes some on purpose clears them."""
    return []


@pytest.fixture
def page(browser: Browser, base_url: str, console_errors: list[str]) -> Iterator[Page]:
    """A fresh page; any console error (a CSP violation, a script error) fails the test."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    yield page
    context.close()
    assert console_errors == []


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
