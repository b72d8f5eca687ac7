"""Structured answers from the LLM: transport retries, validation re-asks, one deadline, one breaker.

Transport retries (429, 5xx, timeouts, connection errors) and validation re-asks are kept apart: an API
error is never shown to the model as if its output were wrong.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, Field, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from service.config import Settings
from service.errors import LLMError, LLMOutputInvalid, LLMUnavailable
from service.llm.breaker import CircuitBreaker
from service.llm.client import LLM, ChatReply, ChatRequest, TransportError, Usage
from service.llm.prompts import ChatMessage, RenderedPrompt, render_prompt

T = TypeVar("T", bound=BaseModel)
_MIN_ATTEMPT_S = 0.05
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


class LLMTrace(BaseModel):
    """Which model and prompt produced an answer, and what it cost."""

    model: str
    prompt: str
    prompt_version: str
    reasks: int = Field(description="Answers that failed validation and were asked again.")
    usage: Usage


@dataclass(frozen=True)
class Structured(Generic[T]):
    """A validated answer with its trace."""

    value: T
    trace: LLMTrace


def json_schema_for(model: type[BaseModel]) -> dict[str, object]:
    """The JSON schema sent to the endpoint, derived from the pydantic model that validates the answer."""
    return model.model_json_schema()


def parse_answer(content: str, schema: type[T]) -> T:
    """Validate an answer, leniently unwrapping code fences and prose around one JSON object."""
    text = _FENCE.sub("", content.strip())
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise ValueError("the answer holds no JSON object")
    try:
        return schema.model_validate_json(text[start : end + 1])
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems[:600]) from exc


class StructuredLLM:
    """Asks an `LLM` for an answer of a given pydantic type, within the settings' deadline and budget."""

    def __init__(
        self,
        *,
        llm: LLM,
        settings: Settings,
        breaker: CircuitBreaker,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.llm = llm
        self.breaker = breaker
        self._settings = settings
        self._clock = clock
        self._sleep = sleep

    def deadline(self) -> float:
        """When the LLM's time for a request started now runs out; asks that share it share one budget."""
        return self._clock() + self._settings.llm_deadline_s

    async def ask(
        self,
        prompt: RenderedPrompt,
        schema: type[T],
        usage: Usage | None = None,
        *,
        deadline: float | None = None,
    ) -> Structured[T]:
        """A validated answer, or an `LLMError` whose `code` says why there is none.

        `usage`, when given, is filled in place, so a caller sees the cost of failed asks too. `deadline`
        (from `deadline()`) is shared by the asks of one request; without it, this ask has one of its own.
        """
        usage = usage if usage is not None else Usage()
        deadline = deadline if deadline is not None else self.deadline()
        # Checked before the breaker, whose half-open trial would otherwise be taken and never reported.
        if deadline - self._clock() < _MIN_ATTEMPT_S:
            raise LLMUnavailable(
                "an earlier ask spent this request's LLM time; raise GOAL_LLM_DEADLINE_S if the LLM is slow",
                code="llm_deadline",
            )
        if not self.breaker.allow():
            raise LLMUnavailable(
                "the LLM is skipped while its circuit breaker is open", code="llm_circuit_open"
            )
        messages = list(prompt.messages)
        for reasks in range(self._settings.llm_max_reasks + 1):
            request = ChatRequest(
                messages=messages,
                schema_name=schema.__name__,
                json_schema=json_schema_for(schema),
                output_mode=self._settings.llm_output_mode,
                temperature=self._settings.llm_temperature,
                max_tokens=self._settings.llm_max_tokens,
            )
            reply = await self._call(request, deadline, usage)
            _check_finish(reply)
            try:
                value = parse_answer(reply.content, schema)
            except ValueError as problem:
                reask = render_prompt(self._prompts_dir, "reask", errors=str(problem))
                messages = [*messages, ChatMessage(role="assistant", content=reply.content), *reask.messages]
                continue
            return Structured(value=value, trace=self.trace(prompt, usage, reasks=reasks))
        raise LLMOutputInvalid(
            f"the LLM's answers failed validation {self._settings.llm_max_reasks + 1} times",
            code="llm_output_invalid",
        )

    async def aclose(self) -> None:
        """Close the LLM client's connections."""
        await self.llm.aclose()

    def trace(self, prompt: RenderedPrompt, usage: Usage, *, reasks: int = 0) -> LLMTrace:
        """What an ask cost and what it used, for answers and fallbacks alike."""
        return LLMTrace(
            model=self.llm.model,
            prompt=prompt.name,
            prompt_version=prompt.version,
            reasks=reasks,
            usage=usage,
        )

    @property
    def _prompts_dir(self) -> Path:
        return self._settings.prompts_dir

    async def _call(self, request: ChatRequest, deadline: float, usage: Usage) -> ChatReply:
        """One reply, retrying transport failures with backoff inside the deadline; feeds the breaker."""
        try:
            reply = await self._with_retries(request, deadline, usage)
        except LLMUnavailable:
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return reply

    async def _with_retries(self, request: ChatRequest, deadline: float, usage: Usage) -> ChatReply:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransportError) and e.retryable),
            stop=lambda state: self._should_stop(state, deadline),
            # Never sleep into the last moments: the next attempt keeps some time, and a failure then
            # reports its own cause (a timeout, a 503) rather than an empty deadline.
            wait=lambda state: min(self._backoff(state), max(0.0, deadline - self._clock() - _MIN_ATTEMPT_S)),
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(request, deadline, usage)
        raise AssertionError("tenacity ends with a return or a raise")  # pragma: no cover

    async def _attempt(self, request: ChatRequest, deadline: float, usage: Usage) -> ChatReply:
        left = deadline - self._clock()
        if left <= 0:
            raise LLMUnavailable("the LLM deadline passed", code="llm_deadline")
        # Each attempt gets its own timeout, never more than what is left of the deadline.
        timeout = min(self._settings.llm_timeout_s, left)
        started = self._clock()
        try:
            reply = await asyncio.wait_for(self.llm.complete(request, timeout=timeout), timeout=timeout)
        except TimeoutError as exc:
            usage.record(self._clock() - started)
            raise TransportError(
                f"the LLM did not answer within {timeout:.1f}s", code="llm_timeout", retryable=True
            ) from exc
        except LLMError:
            usage.record(self._clock() - started)
            raise
        usage.record(self._clock() - started, reply)
        return reply

    def _should_stop(self, state: RetryCallState, deadline: float) -> bool:
        left = deadline - self._clock()
        # Stop while the last real error is in hand, rather than start an attempt with no time for it.
        if state.attempt_number >= self._settings.llm_max_attempts or left < _MIN_ATTEMPT_S:
            return True
        error = state.outcome.exception() if state.outcome else None
        retry_after = error.retry_after if isinstance(error, TransportError) else None
        # A Retry-After longer than what is left is not waited for: fall back at once.
        return retry_after is not None and retry_after >= left

    def _backoff(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransportError) and error.retry_after is not None:
            return error.retry_after
        return float(min(8.0, 0.25 * 2 ** (state.attempt_number - 1)) + random.uniform(0, 0.25))  # noqa: S311


def _check_finish(reply: ChatReply) -> None:
    """Typed errors for answers that asking again cannot fix."""
    if reply.finish_reason == "length":
        raise LLMOutputInvalid("the LLM's answer was cut off at the token limit", code="llm_truncated")
    if reply.finish_reason == "content_filter":
        raise LLMOutputInvalid("the LLM's answer was withheld by a content filter", code="llm_content_filter")
    if reply.refusal:
        raise LLMOutputInvalid("the LLM refused to answer", code="llm_refused")
    if not reply.content.strip():
        raise LLMOutputInvalid("the LLM answered with nothing", code="llm_empty")


def schema_text(schema: type[BaseModel]) -> str:
    """The schema as compact JSON, for prompts that spell it out (json_object and plain modes)."""
    return json.dumps(json_schema_for(schema), separators=(",", ":"))
