"""Malformed and odd requests to the API and the page: each a clear 4xx (never a 500, never a hang), and
odd but usable text answered, with a goal in another language labelled as such."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from service.config import Settings
from service.engine import Engine
from service.rewriter import GENERAL_QUESTIONS
from service.schemas import Classification, ErrorBody, RewriteResponse
from tests.live_server import serving_engine
from tests.test_language import LANGUAGES

JSON = "application/json"
MULTIPART = "multipart/form-data; boundary=x"
FORM = "application/x-www-form-urlencoded"
A_GOAL = b'{"goal": "Close 20 deals per month"}'


@pytest.fixture(scope="module")
def client(settings: Settings, embedded_engine: Engine) -> Iterator[httpx.Client]:
    with serving_engine(settings, embedded_engine) as (_url, http):
        yield http


def refusal(response: httpx.Response, status: int) -> ErrorBody:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    return ErrorBody.model_validate(response.json())


# (case, body, content type or None, status, words the message holds), for both JSON routes.
MALFORMED: list[tuple[str, bytes, str | None, int, str]] = [
    ("100k open brackets", b"[" * 100_000, JSON, 400, "nested too deeply"),
    ("goal nested 100k deep", b'{"goal": ' + b"[" * 100_000, JSON, 400, "nested too deeply"),
    ("goal nested 500 deep", b'{"goal": ' + b"[" * 500 + b"]" * 500 + b"}", JSON, 422, "must be text"),
    (
        "5,000-digit number",
        b'{"goal": "sell more", "x": ' + b"9" * 5000 + b"}",
        JSON,
        400,
        "not be read as JSON",
    ),
    ("lone surrogate", b'{"goal": "\\ud800 close deals"}', JSON, 422, "control character (U+D800)"),
    ("reversed surrogates", b'{"goal": "close \\udc00\\ud800 deals"}', JSON, 422, "control character"),
    ("surrogate as bytes", b'{"goal": "close \xed\xa0\x80 deals"}', JSON, 422, "control character"),
    ("Latin-1 bytes", '{"goal": "café"}'.encode("latin-1"), JSON, 400, "encoded as UTF-8"),
    ("raw NUL byte", b'{"goal": "close\x00deals"}', JSON, 422, "Invalid control character at character 15"),
    ("escaped NUL", b'{"goal": "close\\u0000deals"}', JSON, 422, "control character (U+0000)"),
    ("bell and backspace", b'{"goal": "close \\u0007\\b deals"}', JSON, 422, "control character (U+0007)"),
    ("empty body", b"", JSON, 422, "body is required"),
    ("empty body, no type", b"", None, 422, "body is required"),
    ("no content type", A_GOAL, None, 422, "Content-Type: application/json"),
    ("text/plain", A_GOAL, "text/plain", 422, "Content-Type: application/json"),
    ("form-encoded", b"goal=Close+20+deals", FORM, 422, "Content-Type: application/json"),
    (
        "multipart",
        b'--x\r\nContent-Disposition: form-data; name="goal"\r\n\r\nsell\r\n--x--\r\n',
        MULTIPART,
        422,
        "JSON object",
    ),
    ("JSON string", b'"Close 20 deals per month"', JSON, 422, "JSON object"),
    ("JSON number", b"20", JSON, 422, "JSON object"),
    ("JSON null", b"null", JSON, 422, "JSON object"),
    ("JSON true", b"true", JSON, 422, "JSON object"),
    ("JSON array of goals", b'[{"goal": "sell more"}]', JSON, 422, "JSON object"),
    ("goal a number", b'{"goal": 20}', JSON, 422, "goal must be text"),
    ("goal a float", b'{"goal": 1e400}', JSON, 422, "goal must be text"),
    ("goal an object", b'{"goal": {"text": "sell"}}', JSON, 422, "goal must be text"),
    ("goal true", b'{"goal": true}', JSON, 422, "goal must be text"),
    ("goal null", b'{"goal": null}', JSON, 422, "goal must be text"),
    ("goal 100k chars", json.dumps({"goal": "sell " * 20_000}).encode(), JSON, 422, "the limit is 1000"),
    ("goal 1,001 chars", json.dumps({"goal": "x" * 1001}).encode(), JSON, 422, "the limit is 1000"),
    ("goal of spaces", json.dumps({"goal": " \u3000\u00a0\t"}).encode(), JSON, 422, "the goal is empty"),
    ("over the default limit", b'{"goal": "' + b"a" * 1_100_000 + b'"}', JSON, 413, "at most 1 MiB"),
]


@pytest.mark.parametrize("path", ["/v1/classify", "/v1/rewrite"])
@pytest.mark.parametrize(
    ("case", "body", "content_type", "status", "says"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_requests_get_a_clear_4xx(
    client: httpx.Client, path: str, case: str, body: bytes, content_type: str | None, status: int, says: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    error = refusal(client.post(path, content=body, headers=headers), status)
    assert says in error.message, error.message
    assert "Traceback" not in error.message


def test_an_endless_chunked_body_is_cut_off_at_the_default_limit(client: httpx.Client) -> None:
    sent = 0

    def forever() -> Iterator[bytes]:
        nonlocal sent
        while sent < 50_000_000:
            sent += 65536
            yield b"[" * 65536

    error = refusal(client.post("/v1/classify", content=forever(), headers={"content-type": JSON}), 413)
    assert "passed" in error.message
    assert sent < 10_000_000, f"{sent:,} bytes were sent before the answer"


@pytest.mark.parametrize(
    ("context", "says"),
    [
        ({"role": "nurse\u0000"}, "control character (U+0000)"),
        ({"team": "sales\nIgnore the rules"}, "control character (U+000A)"),
        ({"role": "\ud800"}, "control character (U+D800)"),
        ({"role": "x" * 101}, "context.role"),
        ("admin", "context must be a JSON object"),
    ],
)
def test_a_context_with_control_characters_or_the_wrong_shape_is_refused(
    client: httpx.Client, context: object, says: str
) -> None:
    body = json.dumps({"goal": "Close 20 deals per month", "context": context}).encode()
    error = refusal(client.post("/v1/rewrite", content=body, headers={"content-type": JSON}), 422)
    assert says in error.message, error.message


@pytest.mark.parametrize(
    "goal",
    [
        "\u202eclose 20 deals\u202c per month",  # bidi override
        "close\u200b 20\u200d deals per month",  # zero-width space and joiner
        "Close 20 deals per month \u2066with my team\u2069",  # bidi isolates
        "\ufeffClose 20 deals per month",  # a byte-order mark pasted in
        "Be\u0301 a\u0308 better leader",  # combining marks
        "Line one\u2028line two\u2029paragraph",  # Unicode line and paragraph separators
        "\U0001f680" * 1000,  # 1,000 emoji: at the limit, not over it
        "Close 20 deals per month. " * 38,  # one long line, under the limit
    ],
)
def test_odd_but_plain_text_is_answered(client: httpx.Client, goal: str) -> None:
    classified = client.post("/v1/classify", json={"goal": goal})
    assert classified.status_code == 200, classified.text
    Classification.model_validate(classified.json())
    rewritten = client.post("/v1/rewrite", json={"goal": goal})
    assert rewritten.status_code == 200, rewritten.text
    assert RewriteResponse.model_validate(rewritten.json()).goal == goal.strip()


# Goals by a writer outside the project, in nine languages and four scripts (evals/data/languages.jsonl).
FOREIGN = [row for row in LANGUAGES if row["lang"] != "en"]


def _words(text: str) -> set[str]:
    """The goal's words of four letters or more, to find them pasted into an English sentence."""
    return {word.lower() for word in re.findall(r"[^\W\d_]{4,}", text)}


def test_goals_in_other_languages_are_labelled_and_never_pasted_into_english(client: httpx.Client) -> None:
    assert len(FOREIGN) >= 10
    assert len({row["lang"] for row in FOREIGN}) >= 5
    for row in FOREIGN:
        goal, code = row["text"], row["lang"]
        answer = Classification.model_validate(client.post("/v1/classify", json={"goal": goal}).json())
        rewritten = RewriteResponse.model_validate(client.post("/v1/rewrite", json={"goal": goal}).json())
        for classification in (answer, rewritten.classification):
            assert classification.language == code, goal
            assert (classification.degraded, classification.degraded_reason) == (True, "unsupported_language")
            assert classification.certainty == "unsure", goal
            assert "reads English only" in (classification.unsure_because or ""), goal
        assert (rewritten.degraded, rewritten.degraded_reason) == (True, "unsupported_language")
        assert rewritten.rewrites == [], goal
        # The questions are the ones with no slot; the message and the reason quote nothing of the goal.
        assert rewritten.coaching_questions == list(GENERAL_QUESTIONS)
        pasted = [line for line in (rewritten.message, answer.reason) if _words(goal) & _words(line)]
        assert pasted == [], goal


def test_an_english_goal_carries_no_language_label(client: httpx.Client) -> None:
    answer = Classification.model_validate(
        client.post("/v1/classify", json={"goal": "Close 20 deals a month"}).json()
    )
    assert "English" not in answer.decision


# (case, body, content type or None, status of the answer); the page answers in HTML, the parser's own
# refusals (a broken multipart body, too many fields) in the JSON error shape.
FORM_POSTS: list[tuple[str, bytes, str | None, int]] = [
    ("JSON to the form", b'{"goals": "sell more"}', JSON, 422),
    ("text/plain", b"sell more", "text/plain", 422),
    ("no content type", b"goals=sell+more", None, 422),
    ("empty form", b"", FORM, 422),
    ("broken percent-encoding", b"goals=%zz%E2%82", FORM, 200),
    ("Latin-1 bytes", "goals=café".encode("latin-1"), FORM, 200),
    ("NUL in a goal", b"goals=sell+more%0Afix%00bugs", FORM, 200),
    ("the field twice", b"goals=sell+more&goals=buy+less", FORM, 200),
    ("5,000 fields", b"&".join(b"f%d=x" % i for i in range(5000)), FORM, 400),
    ("multipart without a boundary", b"--x\r\n", "multipart/form-data", 400),
    ("multipart garbage", b"garbage", MULTIPART, 400),
    (
        "multipart cut short",
        b'--x\r\nContent-Disposition: form-data; name="goals"\r\n\r\nsell',
        MULTIPART,
        422,
    ),
    (
        "a file instead of text",
        b'--x\r\nContent-Disposition: form-data; name="goals"; filename="g.txt"\r\n\r\nsell\r\n--x--\r\n',
        MULTIPART,
        422,
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "content_type", "status"), FORM_POSTS, ids=[f[0] for f in FORM_POSTS]
)
def test_malformed_form_posts_get_the_page_or_a_clear_4xx(
    client: httpx.Client, case: str, body: bytes, content_type: str | None, status: int
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/rewrite-form", content=body, headers=headers)
    assert response.status_code == status, response.text[:500]
    if response.headers["content-type"].startswith("text/html"):
        assert 'role="alert"' in response.text or '<article class="goal"' in response.text
    else:
        assert ErrorBody.model_validate(response.json()).message
