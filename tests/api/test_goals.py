"""POST /v1/classify and GET /v1/kinds over a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from service.config import Settings
from service.engine import Engine
from service.schemas import MAX_GOAL_CHARS, Classification, ErrorBody, RewriteResponse
from service.taxonomy import KINDS
from tests.live_server import serving_engine


@pytest.fixture(scope="module")
def client(settings: Settings, embedded_engine: Engine) -> Iterator[httpx.Client]:
    with serving_engine(settings, embedded_engine) as (_base_url, http):
        yield http


def test_deals_per_month_is_performance(client: httpx.Client) -> None:
    response = client.post("/v1/classify", json={"goal": "Close 20 deals per month"})
    assert response.status_code == 200
    answer = Classification.model_validate(response.json())
    assert answer.kind == "performance"
    assert answer.engine == "embedded"
    assert "20" in answer.reason


@pytest.mark.parametrize(
    ("goal", "kind"),
    [
        ("Be better at influencing people at a more senior level", "outcome"),
        ("get my proposal approved by the leadership team", "performance"),
        ("Stay up to date with all current products that we sell", "mastery"),
        ("I will call my branch network every month about sales referrals", "mastery"),
    ],
)
def test_source_examples_get_their_kind(client: httpx.Client, goal: str, kind: str) -> None:
    answer = Classification.model_validate(client.post("/v1/classify", json={"goal": goal}).json())
    assert answer.kind == kind
    probabilities = answer.probabilities
    assert abs(probabilities.outcome + probabilities.performance + probabilities.mastery - 1) < 1e-3
    assert answer.confidence == max(probabilities.outcome, probabilities.performance, probabilities.mastery)


def test_goal_is_trimmed_before_classifying(client: httpx.Client) -> None:
    padded = client.post("/v1/classify", json={"goal": "   Close 20 deals per month \n"}).json()
    plain = client.post("/v1/classify", json={"goal": "Close 20 deals per month"}).json()
    assert padded == plain


def test_kinds_come_from_the_taxonomy(client: httpx.Client) -> None:
    body = client.get("/v1/kinds").json()
    assert [k["kind"] for k in body] == [k.value for k in KINDS]
    assert body[0]["definition"] == KINDS[next(iter(KINDS))].definition


def test_openapi_document_and_docs_are_served(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/classify" in spec["paths"]
    assert "Classification" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


# (case, body, content type, words the message must hold); every one is a 422 but undecodable bytes (400).
BAD_BODIES: list[tuple[str, bytes, str, str]] = [
    ("empty goal", b'{"goal": ""}', "application/json", "empty"),
    ("blank goal", b'{"goal": "   \\n\\t "}', "application/json", "empty"),
    ("too long", ('{"goal": "' + "a" * (MAX_GOAL_CHARS + 1) + '"}').encode(), "application/json", "limit"),
    ("NUL", b'{"goal": "close deals\\u0000 now"}', "application/json", "control character"),
    ("escape char", b'{"goal": "close \\u001b[31m deals"}', "application/json", "control character"),
    ("number", b'{"goal": 20}', "application/json", "must be text"),
    ("list", b'{"goal": ["a", "b"]}', "application/json", "must be text"),
    ("null", b'{"goal": null}', "application/json", "must be text"),
    ("missing", b"{}", "application/json", "required"),
    ("misspelt field", b'{"goals": "close deals"}', "application/json", "not a field"),
    ("array body", b'["close deals"]', "application/json", "JSON object"),
    ("broken JSON", b'{"goal": "close', "application/json", "not valid JSON"),
    ("not UTF-8", b'{"goal": "\xff\xfe close"}', "application/json", "encoded as UTF-8"),
    ("form body", b"goal=close+deals", "application/x-www-form-urlencoded", "JSON object"),
    ("plain text", b"close deals", "text/plain", "JSON object"),
]


@pytest.mark.parametrize("path", ["/v1/classify", "/v1/rewrite"])
@pytest.mark.parametrize(("name", "body", "content_type", "says"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_gets_a_422_a_person_understands(
    client: httpx.Client, path: str, name: str, body: bytes, content_type: str, says: str
) -> None:
    response = client.post(path, content=body, headers={"content-type": content_type})
    assert response.status_code == (400 if name == "not UTF-8" else 422), response.text
    error = ErrorBody.model_validate(response.json())
    assert says in error.message, error.message
    assert "Traceback" not in response.text


def test_rewrite_answers_with_ranked_controllable_goals(client: httpx.Client) -> None:
    response = client.post(
        "/v1/rewrite",
        json={"goal": "Close 20 deals per month", "n": 2, "context": {"role": "account executive"}},
    )
    assert response.status_code == 200
    answer = RewriteResponse.model_validate(response.json())
    assert answer.classification.kind == "performance"
    assert len(answer.rewrites) == 2
    mastery = [r.scores.controllability >= 0.5 for r in answer.rewrites]
    assert mastery == sorted(mastery, reverse=True), "rewrites judged mastery come first"
    assert all(r.progress_measure and r.cadence and r.engine == "embedded" for r in answer.rewrites)
    assert all(r.scores.fluency_faults == [] and "20" not in r.text for r in answer.rewrites)


@pytest.mark.parametrize(
    "body", [{"goal": "x y", "n": 0}, {"goal": "x y", "n": 6}, {"goal": "x y", "context": {"age": 3}}]
)
def test_rewrite_options_are_checked(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post("/v1/rewrite", json=body)
    assert response.status_code == 422
    assert ErrorBody.model_validate(response.json()).details


def test_non_english_goal_is_answered_not_rejected(client: httpx.Client) -> None:
    response = client.post("/v1/classify", json={"goal": "Mejorar mis ventas este año 🚀"})
    assert response.status_code == 200
    Classification.model_validate(response.json())
