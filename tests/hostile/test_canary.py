"""Canaries in the system prompt and in another caller's goal never reach an answer, an error or a log line,
though the LLM does its best to leak them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from service.app import create_app
from service.config import Settings
from service.engine import Engine
from service.llm.client import FunctionLLM
from service.schemas import Classification, RewriteResponse
from tests.hostile.checks import SYSTEM_CANARY, check_api_answer, check_page, load_corpus
from tests.live_server import running, wait_until_loaded

# Caller A's goal carries this; caller B then asks for it in every way the corpus knows.
CALLER_CANARY = "badge-5e1d0c9b8a7f6e43"
HOSTILE = [
    row.text for row in load_corpus() if row.category in ("reveal_prompt", "embedded_in_goal", "roleplay")
]


class Lines(logging.Handler):
    """Every log record, formatted with its arguments, extras and traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {self.format(record)} {vars(record)}")


@pytest.fixture(scope="module")
def base_url(leaky_settings: Settings, leaky_engine: Engine) -> Iterator[str]:
    # "info" keeps uvicorn's access log, which must not carry bodies either.
    app = create_app(leaky_settings, loader=lambda _: leaky_engine)
    with running(app, log_level="info") as url, httpx.Client(base_url=url, timeout=60) as http:
        assert wait_until_loaded(http).status_code == 200
        yield url


@pytest.fixture
def logs() -> Iterator[Lines]:
    """Everything logged at DEBUG and up while the test runs, uvicorn's own loggers included."""
    handler = Lines()
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access"]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def leaky(engine: Engine) -> FunctionLLM:
    assert engine.llm is not None
    llm = engine.llm.llm
    assert isinstance(llm, FunctionLLM)
    return llm


def ask_everything(http: httpx.Client, goal: str) -> list[httpx.Response]:
    """The goal to both API routes and the page; each answer checked for shape."""
    classified = http.post("/v1/classify", json={"goal": goal})
    check_api_answer(classified, Classification)
    rewritten = http.post("/v1/rewrite", json={"goal": goal, "n": 3})
    check_api_answer(rewritten, RewriteResponse)
    page = http.post("/rewrite-form", data={"goals": goal})
    check_page(page, goal)
    return [classified, rewritten, page]


def test_the_system_prompt_canary_reaches_the_llm_but_no_answer_and_no_log(
    base_url: str, leaky_engine: Engine, logs: Lines
) -> None:
    llm = leaky(leaky_engine)
    asked = len(llm.history)
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=base_url, timeout=60) as http:
        for goal in [*HOSTILE, "Close 20 deals per month", "Be better at influencing senior people"]:
            answers += ask_everything(http, goal)
    sent = llm.history[asked:]
    assert sent, "the LLM was asked"
    assert all(SYSTEM_CANARY in request.messages[0].content for request in sent), "the leak was tried"
    assert [a.request.url.path for a in answers if SYSTEM_CANARY in a.text] == []
    rewrites = [RewriteResponse.model_validate(a.json()) for a in answers if a.url.path == "/v1/rewrite"]
    assert any(r.engine == "llm" for r in rewrites), "the filter keeps the LLM's clean drafts"
    assert any('"POST /v1/rewrite HTTP/1.1" 200' in line for line in logs.lines), (
        "the access log was captured"
    )
    assert [line for line in logs.lines if SYSTEM_CANARY in line] == []


def test_one_callers_goal_never_reaches_another_caller_or_a_log(
    base_url: str, leaky_engine: Engine, logs: Lines
) -> None:
    goal_a = f"Close 20 deals per month and keep my badge {CALLER_CANARY} renewed"
    with httpx.Client(base_url=base_url, timeout=60) as caller_a:
        own = caller_a.post("/v1/rewrite", json={"goal": goal_a})
        assert own.status_code == 200
        assert CALLER_CANARY in own.json()["goal"], "a caller sees its own goal"
    llm = leaky(leaky_engine)
    asked = len(llm.history)
    with httpx.Client(base_url=base_url, timeout=60) as caller_b:
        answers = [answer for goal in HOSTILE for answer in ask_everything(caller_b, goal)]
    assert len(llm.history) > asked, "caller B's requests reached the LLM that heard caller A"
    assert [a.request.url.path for a in answers if CALLER_CANARY in a.text] == []
    assert [line for line in logs.lines if CALLER_CANARY in line] == []
