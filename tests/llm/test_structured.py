"""Structured answers over the real OpenAI adapter with respx: retries, re-asks, deadline, breaker."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import BaseModel, ConfigDict

from service.config import OutputMode, Settings
from service.errors import LLMOutputInvalid, LLMUnavailable
from service.llm.breaker import BreakerState, CircuitBreaker
from service.llm.client import Usage
from service.llm.openai_chat import OpenAIChat
from service.llm.prompts import ChatMessage, RenderedPrompt
from service.llm.structured import StructuredLLM, parse_answer
from service.taxonomy import Kind
from tests.openai_wire import BASE_URL, completion, ok, sent

PROMPT = RenderedPrompt(
    name="classify",
    version="7",
    messages=[ChatMessage(role="system", content="s"), ChatMessage(role="user", content="g")],
)
VALID = '{"reason": "a target set by others", "kind": "performance"}'


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str
    kind: Kind


class FakeTime:
    """A clock that only moves when the code under test sleeps, so no test waits for real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def structured(time: FakeTime, **overrides: object) -> StructuredLLM:
    settings = Settings(_env_file=None, llm_base_url=BASE_URL, **overrides)  # type: ignore[call-arg]
    breaker = CircuitBreaker(
        failures=settings.llm_breaker_failures, cooldown_s=settings.llm_breaker_cooldown_s, clock=time.clock
    )
    chat = OpenAIChat(base_url=BASE_URL, api_key="k", model="test-model")
    return StructuredLLM(llm=chat, settings=settings, breaker=breaker, clock=time.clock, sleep=time.sleep)


async def test_valid_answer_comes_with_model_prompt_version_and_usage(
    api: respx.MockRouter, time: FakeTime
) -> None:
    api.post("/chat/completions").mock(return_value=ok(VALID, tokens=(200, 20)))
    answer = await structured(time).ask(PROMPT, Verdict)
    assert answer.value.kind is Kind.PERFORMANCE
    trace = answer.trace
    assert (trace.model, trace.prompt, trace.prompt_version, trace.reasks) == (
        "test-model",
        "classify",
        "7",
        0,
    )
    assert (trace.usage.calls, trace.usage.prompt_tokens, trace.usage.completion_tokens) == (1, 200, 20)


async def test_429_then_success_waits_as_long_as_retry_after_says(
    api: respx.MockRouter, time: FakeTime
) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"message": "slow down"}})
    route = api.post("/chat/completions").mock(side_effect=[limited, ok(VALID)])
    answer = await structured(time).ask(PROMPT, Verdict)
    assert answer.value.kind is Kind.PERFORMANCE
    assert time.slept == [2.0]
    assert route.call_count == 2
    assert answer.trace.usage.calls == 2


async def test_retry_after_beyond_the_deadline_falls_back_at_once(
    api: respx.MockRouter, time: FakeTime
) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "120"}, json={"error": {}})
    route = api.post("/chat/completions").mock(side_effect=[limited, ok(VALID)])
    with pytest.raises(LLMUnavailable) as caught:
        await structured(time, llm_deadline_s=30).ask(PROMPT, Verdict)
    assert caught.value.code == "llm_rate_limited"
    assert (route.call_count, time.slept) == (1, [])


async def test_500s_are_retried_with_backoff_then_reported(api: respx.MockRouter, time: FakeTime) -> None:
    route = api.post("/chat/completions").mock(return_value=httpx.Response(500, json={"error": {}}))
    usage = Usage()
    with pytest.raises(LLMUnavailable) as caught:
        await structured(time, llm_max_attempts=3).ask(PROMPT, Verdict, usage)
    assert caught.value.code == "llm_server_error"
    assert route.call_count == 3
    assert len(time.slept) == 2
    assert time.slept[0] < time.slept[1], "exponential backoff"
    assert usage.calls == 3, "usage counts failed calls too"


@pytest.mark.parametrize(
    ("error", "code"),
    [(httpx.ReadTimeout("slow"), "llm_timeout"), (httpx.ConnectError("refused"), "llm_connection")],
)
async def test_timeouts_and_refused_connections_are_retried_then_reported(
    api: respx.MockRouter, time: FakeTime, error: Exception, code: str
) -> None:
    route = api.post("/chat/completions").mock(side_effect=error)
    with pytest.raises(LLMUnavailable) as caught:
        await structured(time, llm_max_attempts=2).ask(PROMPT, Verdict)
    assert (caught.value.code, route.call_count) == (code, 2)


async def test_an_api_error_is_never_shown_to_the_model_as_a_validation_error(
    api: respx.MockRouter, time: FakeTime
) -> None:
    route = api.post("/chat/completions").mock(
        side_effect=[httpx.Response(502, json={"error": {}}), ok(VALID)]
    )
    await structured(time).ask(PROMPT, Verdict)
    assert sent(route.calls[0].request)["messages"] == sent(route.calls[1].request)["messages"]


async def test_schema_invalid_answer_is_reasked_with_the_error_then_accepted(
    api: respx.MockRouter, time: FakeTime
) -> None:
    wrong = '{"reason": "x", "kind": "stretch"}'
    route = api.post("/chat/completions").mock(
        side_effect=[ok(wrong, tokens=(100, 5)), ok(VALID, tokens=(150, 9))]
    )
    answer = await structured(time).ask(PROMPT, Verdict)
    assert answer.trace.reasks == 1
    assert (answer.trace.usage.prompt_tokens, answer.trace.usage.completion_tokens) == (250, 14)
    second = sent(route.calls[1].request)["messages"]
    assert second[-2] == {"role": "assistant", "content": wrong}
    assert "kind" in second[-1]["content"]
    assert "outcome" in second[-1]["content"], "the validation error names the allowed kinds"


async def test_malformed_json_every_time_ends_as_output_invalid(
    api: respx.MockRouter, time: FakeTime
) -> None:
    route = api.post("/chat/completions").mock(return_value=ok('{"reason": "cut off'))
    with pytest.raises(LLMOutputInvalid) as caught:
        await structured(time, llm_max_reasks=2).ask(PROMPT, Verdict)
    assert (caught.value.code, route.call_count) == ("llm_output_invalid", 3)


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (completion(VALID[:20], finish_reason="length"), "llm_truncated"),
        (completion("", finish_reason="content_filter"), "llm_content_filter"),
        (completion(None, refusal="I won't"), "llm_refused"),
        (completion("   "), "llm_empty"),
    ],
)
async def test_truncation_filtering_refusal_and_emptiness_are_typed_not_reasked(
    api: respx.MockRouter, time: FakeTime, reply: dict[str, object], code: str
) -> None:
    route = api.post("/chat/completions").mock(return_value=httpx.Response(200, json=reply))
    with pytest.raises(LLMOutputInvalid) as caught:
        await structured(time).ask(PROMPT, Verdict)
    assert (caught.value.code, route.call_count) == (code, 1)


async def test_breaker_opens_skips_the_endpoint_then_closes_after_cooldown(
    api: respx.MockRouter, time: FakeTime
) -> None:
    route = api.post("/chat/completions").mock(side_effect=[httpx.ConnectError("down")] * 2 + [ok(VALID)])
    llm = structured(time, llm_max_attempts=1, llm_breaker_failures=2, llm_breaker_cooldown_s=60)
    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            await llm.ask(PROMPT, Verdict)
    assert llm.breaker.state is BreakerState.OPEN
    with pytest.raises(LLMUnavailable) as skipped:
        await llm.ask(PROMPT, Verdict)
    assert (skipped.value.code, route.call_count) == ("llm_circuit_open", 2)
    time.now += 60
    assert (await llm.ask(PROMPT, Verdict)).value.kind is Kind.PERFORMANCE
    assert llm.breaker.state is BreakerState.CLOSED


async def test_deadline_bounds_all_attempts(api: respx.MockRouter, time: FakeTime) -> None:
    route = api.post("/chat/completions").mock(return_value=httpx.Response(503, json={"error": {}}))
    with pytest.raises(LLMUnavailable):
        await structured(time, llm_max_attempts=10, llm_deadline_s=1.0).ask(PROMPT, Verdict)
    assert sum(time.slept) <= 1.0 + 1e-9
    assert route.call_count < 10


@pytest.mark.parametrize(
    "content",
    [
        VALID,
        f"```json\n{VALID}\n```",
        f"Sure! Here is the JSON:\n{VALID}\nHope that helps.",
    ],
)
def test_answers_are_parsed_leniently_then_validated(content: str) -> None:
    assert parse_answer(content, Verdict).kind is Kind.PERFORMANCE


def test_no_json_at_all_is_a_validation_problem() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        parse_answer("performance", Verdict)


async def test_plain_mode_sends_no_response_format(api: respx.MockRouter, time: FakeTime) -> None:
    route = api.post("/chat/completions").mock(return_value=ok(f"Answer: {VALID}"))
    await structured(time, llm_output_mode=OutputMode.PLAIN).ask(PROMPT, Verdict)
    assert "response_format" not in sent(route.calls.last.request)


async def test_asks_given_one_deadline_share_it(api: respx.MockRouter, time: FakeTime) -> None:
    api.post("/chat/completions").mock(return_value=httpx.Response(503, json={"error": {}}))
    llm = structured(time, llm_max_attempts=10, llm_deadline_s=1.0)
    deadline = llm.deadline()
    with pytest.raises(LLMUnavailable) as first:
        await llm.ask(PROMPT, Verdict, deadline=deadline)
    with pytest.raises(LLMUnavailable) as second:
        await llm.ask(PROMPT, Verdict, deadline=deadline)
    assert (first.value.code, second.value.code) == ("llm_server_error", "llm_deadline")
    assert sum(time.slept) <= 1.0


async def test_an_ask_whose_deadline_is_spent_leaves_the_breakers_trial_untaken(
    api: respx.MockRouter, time: FakeTime
) -> None:
    route = api.post("/chat/completions").mock(return_value=ok(VALID))
    llm = structured(time, llm_breaker_failures=1, llm_breaker_cooldown_s=60)
    llm.breaker.record_failure()
    time.now += 60
    with pytest.raises(LLMUnavailable) as spent:
        await llm.ask(PROMPT, Verdict, deadline=time.now)
    assert (spent.value.code, route.call_count) == ("llm_deadline", 0)
    assert (await llm.ask(PROMPT, Verdict)).value.kind is Kind.PERFORMANCE, "the trial call was still there"
    assert llm.breaker.state is BreakerState.CLOSED
