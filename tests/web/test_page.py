"""The page and its form post over HTTP: answers per goal, errors in place, text always escaped."""

from __future__ import annotations

import html
import re
import socket
import threading

import httpx
import pytest

from service.app import create_app
from service.classifier import Classifier
from service.config import PACKAGE_DIR, Settings
from service.engine import Engine, build_engine, openai_llm
from service.errors import ArtifactError
from service.llm.client import ChatReply, ChatRequest, FunctionLLM, TransportError
from service.taxonomy import KINDS
from service.web.errors import NOT_WORKING, STILL_STARTING
from service.web.goals_text import MAX_GOALS
from service.web.page import DEGRADED_WORDS
from tests.live_server import running, serving_engine, wait_until_loaded


def test_page_explains_the_three_kinds_from_the_taxonomy(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = html.unescape(response.text)
    for info in KINDS.values():
        assert info.title in text
        assert info.definition in text
        for example in info.examples:
            assert example in text
    assert 'action="/rewrite-form"' in response.text
    assert "//" not in response.text, "nothing loads from off the app"


def test_static_files_are_served_by_the_app(client: httpx.Client) -> None:
    assert client.get("/static/page.css").headers["content-type"].startswith("text/css")
    assert "javascript" in client.get("/static/page.js").headers["content-type"]


def test_form_post_answers_each_goal_with_its_kind_and_rewrites(client: httpx.Client) -> None:
    goals = (
        "1. Close 20 deals per month\n2. Be better at influencing senior people\n3. Read one report a week"
    )
    response = client.post("/rewrite-form", data={"goals": goals})
    assert response.status_code == 200
    page = response.text
    assert page.count('<article class="goal"') == 3
    for badge in ("badge-performance", "badge-outcome", "badge-mastery"):
        assert f'class="badge {badge}"' in page
    assert page.count('class="rewrite-text"') >= 6
    assert "Progress measure" in page
    assert "Cadence" in page
    assert "Answered by the built-in engine." in page
    assert page.count('action="/feedback-form"') == page.count('class="rewrite-text"'), "each can be judged"
    assert "Close 20 deals per month" in page.split("<textarea", 1)[1], "the paste stays in the form"


def test_pages_holding_goals_are_never_stored_by_the_browser_and_the_empty_page_may_be(
    client: httpx.Client,
) -> None:
    holding = [
        client.post("/rewrite-form", data={"goals": "Close 20 deals per month"}),
        client.post("/rewrite-form", data={"goals": "x" * 1001 + "\nread a book"}),
        client.post("/rewrite-form", data={"goals": "\n".join(["Close a deal"] * (MAX_GOALS + 1))}),
        client.post(
            "/feedback-form",
            data={
                "goal": "Close 20 deals per month",
                "rewrite": "Review two lost deals each Friday.",
                "verdict": "accepted",
                "goal_kind": "performance",
                "engine": "embedded",
            },
        ),
        client.post("/feedback-form", data={"goal": "Close 20 deals per month"}),
    ]
    for answer in holding:
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    assert "cache-control" not in client.get("/").headers


def test_a_bad_goal_gets_its_error_in_place_and_the_others_are_answered(client: httpx.Client) -> None:
    response = client.post("/rewrite-form", data={"goals": "sell more\nfix\x00bugs"})
    assert response.status_code == 200
    assert response.text.count('<article class="goal"') == 2
    assert "This goal could not be checked: the goal contains a control character" in response.text
    assert "badge-" in response.text.split("Goal 2:", 1)[0]


def test_too_many_goals_get_a_clear_message(client: httpx.Client) -> None:
    goals = "\n".join(f"goal number {i}" for i in range(MAX_GOALS + 2))
    response = client.post("/rewrite-form", data={"goals": goals})
    assert response.status_code == 422
    assert f"You pasted {MAX_GOALS + 2} goals; the page takes up to {MAX_GOALS}" in response.text
    assert 'role="alert"' in response.text


def test_an_empty_or_missing_paste_says_what_to_do(client: httpx.Client) -> None:
    for data in ({"goals": "  \n "}, {}):
        response = client.post("/rewrite-form", data=data)
        assert response.status_code == 422
        assert "Paste at least one goal" in response.text


def test_goal_text_is_escaped_everywhere(client: httpx.Client) -> None:
    goal = '<script>alert("x")</script> <img src=x onerror=alert(1)>'
    page = client.post("/rewrite-form", data={"goals": goal}).text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_form_post_while_the_model_loads_says_to_wait_and_press_again(
    settings: Settings, embedded_engine: Engine
) -> None:
    release = threading.Event()

    def slow_loader(_: Settings) -> Engine:
        release.wait(timeout=30)
        return embedded_engine

    app = create_app(settings, loader=slow_loader)
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        try:
            response = http.post("/rewrite-form", data={"goals": "sell more"})
            api = http.post("/v1/classify", json={"goal": "sell more"})
        finally:
            release.set()
    assert response.status_code == 503
    assert html.escape(STILL_STARTING, quote=False) in response.text
    assert 'id="error-message"' in response.text
    assert "sell more" in response.text.split("<textarea", 1)[1], "the paste stays in the form"
    assert "retry in a few seconds" not in response.text
    assert "still loading; retry in a few seconds" in api.json()["message"], "the API keeps its words"


def test_a_failed_load_tells_people_to_ask_for_help_and_keeps_the_cause_for_operators(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_loader(_: Settings) -> Engine:
        raise ArtifactError("No classifier head at /nowhere. Run `make train`.")

    with (
        running(create_app(settings, loader=broken_loader)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert wait_until_loaded(http).json()["status"] == "failed"
        response = http.post("/rewrite-form", data={"goals": "sell more"})
        api = http.post("/v1/classify", json={"goal": "sell more"})
    assert response.status_code == 503
    assert html.escape(NOT_WORKING, quote=False) in response.text
    for operator_words in ("classifier head", "make train", "failed to load", "restart"):
        assert operator_words not in response.text
    assert "No classifier head at /nowhere" in api.json()["message"]
    assert any("No classifier head at /nowhere" in r.getMessage() for r in caplog.records)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_page_stays_usable_when_the_llm_is_down(classifier: Classifier) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        llm_base_url=f"http://127.0.0.1:{_closed_port()}/v1",
        llm_max_attempts=1,
        llm_deadline_s=5,
        cascade_threshold=1.0,
    )
    engine = build_engine(settings, classifier=classifier, llm=openai_llm(settings))
    app = create_app(settings, loader=lambda _: engine)
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert wait_until_loaded(http).status_code == 200
        response = http.post("/rewrite-form", data={"goals": "Close 20 deals per month"})
    assert response.status_code == 200
    assert 'class="badge badge-performance"' in response.text
    assert response.text.count('class="rewrite-text"') == 3
    assert "Answered by the built-in engine: the AI service was asked, but it could not be reached." in (
        " ".join(response.text.split())
    )


def test_every_degraded_code_the_service_gives_has_plain_words() -> None:
    # Each code is a string literal where an LLM error is raised or a fallback chosen.
    codes = {
        code
        for path in PACKAGE_DIR.rglob("*.py")
        for code in re.findall(r'"(llm_[a-z_]+)"', path.read_text(encoding="utf-8"))
        if path != PACKAGE_DIR / "web" / "page.py"
    }
    assert "llm_connection" in codes
    assert codes <= DEGRADED_WORDS.keys()
    assert all("_" not in words for words in DEGRADED_WORDS.values())


def test_a_degraded_code_without_words_is_never_shown_as_it_is(
    settings: Settings, classifier: Classifier
) -> None:
    async def failing(_: ChatRequest) -> ChatReply:
        raise TransportError("a failure of a new kind", code="llm_something_new", retryable=False)

    with_llm = settings.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1", "cascade_threshold": 1.0})
    engine = build_engine(with_llm, classifier=classifier, llm=FunctionLLM(failing))
    with serving_engine(with_llm, engine) as (_url, http):
        response = http.post("/rewrite-form", data={"goals": "Close 20 deals per month"})
    shown = " ".join(response.text.split())
    assert "llm_something_new" not in shown
    assert "the AI service was asked, but it gave no usable answer. You can use these answers" in shown


def test_the_job_title_picks_practices_from_that_line_of_work(client: httpx.Client) -> None:
    goal = "be more organised this year"
    plain = client.post("/rewrite-form", data={"goals": goal})
    with_role = client.post("/rewrite-form", data={"goals": goal, "role": "staff nurse on a surgical ward"})
    assert with_role.status_code == 200
    assert 'value="staff nurse on a surgical ward"' in with_role.text, "the job stays in the form"
    ward_words = ("patient", "ward", "shift", "handover", "bay")

    def ward_rewrites(page: str) -> int:
        texts = page.split('class="rewrite-text"')[1:]
        return sum(any(w in t.split("</")[0].lower() for w in ward_words) for t in texts)

    assert ward_rewrites(with_role.text) > ward_rewrites(plain.text)


def test_a_job_title_that_cannot_be_used_says_why(client: httpx.Client) -> None:
    response = client.post("/rewrite-form", data={"goals": "sell more", "role": "x" * 101})
    assert response.status_code == 422
    assert "Your job title could not be used: it is over 100 characters" in response.text
    assert 'role="alert"' in response.text
