"""The OpenAI adapter on the wire (respx): request shape per output mode, and errors mapped to types."""

from __future__ import annotations

import httpx
import pytest
import respx

from service.config import OutputMode
from service.llm.client import ChatRequest, TransportError, retry_after_seconds
from service.llm.openai_chat import OpenAIChat
from service.llm.prompts import ChatMessage
from tests.openai_wire import BASE_URL, completion, ok, sent

SCHEMA = {"type": "object", "properties": {"kind": {"type": "string"}}, "required": ["kind"]}


def request(mode: OutputMode = OutputMode.JSON_SCHEMA) -> ChatRequest:
    return ChatRequest(
        messages=[ChatMessage(role="system", content="sys"), ChatMessage(role="user", content="goal")],
        schema_name="Verdict",
        json_schema=SCHEMA,
        output_mode=mode,
        temperature=0.2,
        max_tokens=100,
    )


@pytest.fixture
def chat() -> OpenAIChat:
    return OpenAIChat(base_url=BASE_URL, api_key="sk-test", model="test-model")


async def test_json_schema_mode_sends_the_schema_and_reads_usage(
    api: respx.MockRouter, chat: OpenAIChat
) -> None:
    route = api.post("/chat/completions").mock(return_value=ok('{"kind": "mastery"}', tokens=(120, 8)))
    reply = await chat.complete(request(), timeout=5)
    body = sent(route.calls.last.request)
    assert body["model"] == "test-model"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-test"
    assert (reply.content, reply.prompt_tokens, reply.completion_tokens) == ('{"kind": "mastery"}', 120, 8)


@pytest.mark.parametrize(
    ("mode", "expected"), [(OutputMode.JSON_OBJECT, {"type": "json_object"}), (OutputMode.PLAIN, None)]
)
async def test_other_modes(
    api: respx.MockRouter, chat: OpenAIChat, mode: OutputMode, expected: object
) -> None:
    route = api.post("/chat/completions").mock(return_value=ok("{}"))
    await chat.complete(request(mode), timeout=5)
    assert sent(route.calls.last.request).get("response_format") == expected


async def test_a_server_without_json_schema_is_asked_again_in_json_object_mode(
    api: respx.MockRouter, chat: OpenAIChat
) -> None:
    rejected = httpx.Response(
        500, json={"error": {"message": "response_format: Input should be 'text' or 'json_object'"}}
    )
    route = api.post("/chat/completions").mock(side_effect=[rejected, ok("{}"), ok("{}")])
    await chat.complete(request(), timeout=5)
    await chat.complete(request(), timeout=5)
    formats = [sent(call.request)["response_format"]["type"] for call in route.calls]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert sent(route.calls.last.request)["response_format"]["schema"] == SCHEMA


@pytest.mark.parametrize(
    ("answer", "code", "retryable", "retry_after"),
    [
        (
            httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {}}),
            "llm_rate_limited",
            True,
            7.0,
        ),
        (httpx.Response(503, json={"error": {}}), "llm_server_error", True, None),
        (httpx.Response(401, json={"error": {"message": "bad key"}}), "llm_client_error", False, None),
        (httpx.ReadTimeout("slow"), "llm_timeout", True, None),
        (httpx.ConnectError("refused"), "llm_connection", True, None),
        (httpx.Response(200, text="<html>gateway</html>"), "llm_bad_response", True, None),
    ],
)
async def test_transport_failures_become_typed_errors(
    api: respx.MockRouter,
    chat: OpenAIChat,
    answer: object,
    code: str,
    retryable: bool,
    retry_after: float | None,
) -> None:
    api.post("/chat/completions").mock(side_effect=[answer])
    with pytest.raises(TransportError) as caught:
        await chat.complete(request(), timeout=5)
    assert (caught.value.code, caught.value.retryable, caught.value.retry_after) == (
        code,
        retryable,
        retry_after,
    )


async def test_finish_reason_and_refusal_pass_through(api: respx.MockRouter, chat: OpenAIChat) -> None:
    api.post("/chat/completions").mock(
        side_effect=[
            httpx.Response(200, json=completion("{", finish_reason="length")),
            httpx.Response(200, json=completion(None, refusal="I can't help with that")),
        ]
    )
    assert (await chat.complete(request(), timeout=5)).finish_reason == "length"
    assert (await chat.complete(request(), timeout=5)).refusal == "I can't help with that"


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
