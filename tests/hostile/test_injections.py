"""Every string of the injection corpus, to the API and the page, with the embedded engine and with an LLM
that obeys them: a valid answer or a clear 4xx, never a 500, and the system prompt's canary never shown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from service.app import create_app
from service.config import Settings
from service.engine import Engine
from service.schemas import Classification, RewriteResponse
from service.taxonomy import KINDS
from tests.hostile.checks import SYSTEM_CANARY, Injection, check_api_answer, check_page, load_corpus
from tests.live_server import running, wait_until_loaded

CORPUS = load_corpus()
CATEGORIES = {
    "ignore_previous",
    "roleplay",
    "fake_turns",
    "tag_closing",
    "json_breaking",
    "markup",
    "reveal_prompt",
    "multilingual",
    "embedded_in_goal",
    "unicode",
    "repetition",
}


def serve(settings: Settings, engine: Engine) -> Iterator[httpx.Client]:
    app = create_app(settings, loader=lambda _: engine)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert wait_until_loaded(http).status_code == 200
        yield http


@pytest.fixture(scope="module")
def embedded(settings: Settings, embedded_engine: Engine) -> Iterator[httpx.Client]:
    yield from serve(settings, embedded_engine)


@pytest.fixture(scope="module")
def with_llm(leaky_settings: Settings, leaky_engine: Engine) -> Iterator[httpx.Client]:
    yield from serve(leaky_settings, leaky_engine)


@pytest.fixture(params=["embedded", "with_llm"])
def client(request: pytest.FixtureRequest) -> httpx.Client:
    http: httpx.Client = request.getfixturevalue(request.param)
    return http


def test_the_corpus_is_big_and_covers_every_kind_of_attack() -> None:
    assert len(CORPUS) >= 50
    assert len({row.id for row in CORPUS}) == len(CORPUS)
    assert set(Counter(row.category for row in CORPUS)) == CATEGORIES


@pytest.mark.parametrize("row", CORPUS, ids=[row.id for row in CORPUS])
def test_the_api_answers_every_injection_or_refuses_it_clearly(client: httpx.Client, row: Injection) -> None:
    classified = client.post("/v1/classify", json={"goal": row.text})
    check_api_answer(classified, Classification)
    rewritten = client.post("/v1/rewrite", json={"goal": row.text, "context": {"role": "account executive"}})
    check_api_answer(rewritten, RewriteResponse)
    assert classified.status_code == rewritten.status_code
    for response in (classified, rewritten):
        assert SYSTEM_CANARY not in response.text
    if classified.status_code == 200:
        # The reason is always the service's own words, whatever the goal or the LLM said.
        answer = Classification.model_validate(classified.json())
        info = KINDS[answer.kind]
        assert answer.reason.endswith(f"{info.title}: {info.controllable.lower()}"), answer.reason


@pytest.mark.parametrize("row", CORPUS, ids=[row.id for row in CORPUS])
def test_the_page_shows_every_injection_as_text(client: httpx.Client, row: Injection) -> None:
    response = client.post("/rewrite-form", data={"goals": row.text})
    check_page(response, row.text)
    assert SYSTEM_CANARY not in response.text
