"""POST /v1/batch and Idempotency-Key over a real server: order kept, item errors contained, retries free."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from evals.dataset import load_goals
from service.app import create_app
from service.classifier import Classifier
from service.config import Settings
from service.engine import Engine, build_engine
from service.llm.client import ChatReply, ChatRequest, FunctionLLM
from service.schemas import Classification
from service.serving.batch import BatchResponse
from tests.live_server import running, serving_engine, wait_until_loaded


@pytest.fixture(scope="module")
def client(settings: Settings, embedded_engine: Engine) -> Iterator[httpx.Client]:
    with serving_engine(settings, embedded_engine, timeout_s=120) as (_base_url, http):
        yield http


def test_a_batch_of_100_goals_is_classified_in_one_call_in_order(client: httpx.Client) -> None:
    rows = load_goals()[:100]
    items = [{"op": "classify", "id": f"hr-{row.id}", "goal": row.text} for row in rows]
    answer = client.post("/v1/batch", json={"items": items})
    assert answer.status_code == 200
    batch = BatchResponse.model_validate(answer.json())
    assert [item.id for item in batch.items] == [item["id"] for item in items]
    assert all(item.status == "ok" and item.classification is not None for item in batch.items)
    # The batch answers what the single endpoint answers, goal by goal.
    for row, item in list(zip(rows, batch.items, strict=True))[::20]:
        single = Classification.model_validate(client.post("/v1/classify", json={"goal": row.text}).json())
        assert item.classification is not None
        assert item.classification.kind == single.kind
        assert item.classification.confidence == pytest.approx(single.confidence, abs=1e-6)


def test_a_bad_item_fails_alone(client: httpx.Client) -> None:
    items = [
        {"op": "classify", "id": "ok-1", "goal": "Close 20 deals per month"},
        {"op": "classify", "id": "empty", "goal": "   "},
        {"op": "rewrite", "id": "long", "goal": "x" * 1500},
        {"op": "rewrite", "id": "ok-2", "goal": "be a better listener", "n": 2},
        {"op": "classify", "id": "nul", "goal": "Close \x00 deals"},
    ]
    batch = BatchResponse.model_validate(client.post("/v1/batch", json={"items": items}).json())
    by_id = {item.id: item for item in batch.items}
    assert [item.id for item in batch.items] == ["ok-1", "empty", "long", "ok-2", "nul"]
    assert by_id["ok-1"].status == by_id["ok-2"].status == "ok"
    assert by_id["ok-2"].rewrite is not None
    assert len(by_id["ok-2"].rewrite.rewrites) == 2
    for bad in ("empty", "long", "nul"):
        error = by_id[bad].error
        assert by_id[bad].status == "error"
        assert error is not None
        assert error.error == "invalid_goal"
    assert "empty" in (by_id["empty"].error.message if by_id["empty"].error else "")
    assert "1500 characters" in (by_id["long"].error.message if by_id["long"].error else "")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"items": []}, "at least 1"),
        ({"items": [{"op": "classify", "id": str(n), "goal": "g"} for n in range(101)]}, "at most 100"),
        (
            {
                "items": [
                    {"op": "classify", "id": "a", "goal": "g"},
                    {"op": "classify", "id": "a", "goal": "h"},
                ]
            },
            "own id",
        ),
        ({"items": [{"op": "translate", "id": "a", "goal": "g"}]}, "op"),
        ({"items": [{"op": "classify", "goal": "g"}]}, "id"),
    ],
    ids=["empty", "too-many", "repeated-id", "unknown-op", "missing-id"],
)
def test_a_malformed_batch_is_a_422(client: httpx.Client, body: dict[str, object], says: str) -> None:
    answer = client.post("/v1/batch", json=body)
    assert answer.status_code == 422
    assert says in answer.json()["message"]


class CountingLLM:
    """An LLM that says every goal is mastery, counts its calls, and can be held until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.release.set()

    async def answer(self, request: ChatRequest) -> ChatReply:
        self.calls += 1
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        content = json.dumps({"reason": "It names the person's own practice.", "kind": "mastery"})
        return ChatReply(content=content, finish_reason="stop", prompt_tokens=10, completion_tokens=5)


@pytest.fixture(scope="module")
def llm_client(classifier: Classifier, settings: Settings) -> Iterator[tuple[httpx.Client, CountingLLM]]:
    counting = CountingLLM()
    llm_settings = settings.model_copy(
        update={"cascade_threshold": 1.0, "llm_base_url": "http://fake.invalid"}
    )
    engine = build_engine(llm_settings, classifier=classifier, llm=FunctionLLM(counting.answer))
    app = create_app(llm_settings, loader=lambda _: engine)
    with running(app) as base_url, httpx.Client(base_url=base_url, timeout=60) as http:
        assert wait_until_loaded(http).status_code == 200
        yield http, counting


def test_a_retried_batch_with_the_same_idempotency_key_costs_nothing(
    llm_client: tuple[httpx.Client, CountingLLM],
) -> None:
    http, llm = llm_client
    items = [
        {"op": "classify", "id": str(n), "goal": f"Get {n} five-star reviews this quarter"} for n in range(10)
    ]
    first = http.post("/v1/batch", json={"items": items}, headers={"Idempotency-Key": "cycle-2026-run-1"})
    assert first.status_code == 200
    assert llm.calls == 10
    assert "idempotent-replayed" not in first.headers
    again = http.post("/v1/batch", json={"items": items}, headers={"Idempotency-Key": "cycle-2026-run-1"})
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert llm.calls == 10, "the retry made no LLM call"
    other = http.post("/v1/batch", json={"items": items[:2]}, headers={"Idempotency-Key": "cycle-2026-run-1"})
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    assert llm.calls == 10


def test_a_retry_while_the_first_request_runs_is_a_409(llm_client: tuple[httpx.Client, CountingLLM]) -> None:
    http, llm = llm_client
    llm.release.clear()
    before = llm.calls
    headers = {"Idempotency-Key": "slow-one"}
    body = {"goal": "Become the top seller in my region"}
    first: list[httpx.Response] = []
    thread = threading.Thread(
        target=lambda: first.append(http.post("/v1/classify", json=body, headers=headers))
    )
    thread.start()
    try:
        for _ in range(2000):
            if llm.calls > before:
                break
            threading.Event().wait(0.005)
        assert llm.calls == before + 1, "the first request reached the LLM"
        clash = httpx.post(http.base_url.join("/v1/classify"), json=body, headers=headers, timeout=30)
        assert clash.status_code == 409
        assert clash.headers["retry-after"] == "1"
    finally:
        llm.release.set()
        thread.join(timeout=60)
    assert first[0].status_code == 200
    replay = http.post("/v1/classify", json=body, headers=headers)
    assert replay.json() == first[0].json()
    assert llm.calls == before + 1


def test_idempotency_keys_must_be_sane_and_a_final_422_is_kept(
    llm_client: tuple[httpx.Client, CountingLLM],
) -> None:
    http, _ = llm_client
    bad = http.post("/v1/classify", json={"goal": "Close 20 deals"}, headers={"Idempotency-Key": "has space"})
    assert bad.status_code == 400
    assert "printable ASCII" in bad.json()["message"]
    too_long = http.post(
        "/v1/classify", json={"goal": "Close 20 deals"}, headers={"Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 400
    # A 422 is the request's final answer (unlike a 409 or 429), so a retry gets it back.
    first = http.post("/v1/classify", json={"goal": ""}, headers={"Idempotency-Key": "k-invalid"})
    assert first.status_code == 422
    assert (
        http.post("/v1/classify", json={"goal": ""}, headers={"Idempotency-Key": "k-invalid"}).headers[
            "idempotent-replayed"
        ]
        == "true"
    )
