"""The LLM seam: one chat call to an OpenAI-compatible endpoint, no retries, plus fakes for tests.

The adapter for the `openai` SDK is `service.llm.openai_chat`. Retries, re-asks, the deadline and the breaker
live one layer up, in `service.llm.structured`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from service.config import OutputMode
from service.errors import LLMUnavailable
from service.llm.prompts import ChatMessage


class ChatRequest(BaseModel):
    """One chat completion asked for structured output."""

    model_config = ConfigDict(frozen=True)

    messages: list[ChatMessage]
    schema_name: str
    json_schema: dict[str, Any]
    output_mode: OutputMode
    temperature: float
    max_tokens: int


class ChatReply(BaseModel):
    """What the endpoint said, before any parsing or validation."""

    content: str = ""
    finish_reason: str | None = "stop"
    refusal: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class TransportError(LLMUnavailable):
    """One HTTP call failed; `retryable` and `retry_after` tell the retry policy what to do."""

    def __init__(self, message: str, *, code: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable
        self.retry_after = retry_after


class LLM(Protocol):
    """An OpenAI-compatible chat endpoint: one call, one reply, transport errors as `TransportError`."""

    @property
    def model(self) -> str: ...

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatReply: ...

    async def aclose(self) -> None:
        """Release connections; called once when the app stops."""
        ...


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), if it says."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class FakeLLM:
    """Answers from a queue of replies or errors, and keeps every request in `history`."""

    def __init__(self, model: str = "fake-llm") -> None:
        self._model = model
        self._queue: list[ChatReply | Exception] = []
        self.history: list[ChatRequest] = []

    @property
    def model(self) -> str:
        return self._model

    def enqueue(self, *items: ChatReply | Exception | str) -> FakeLLM:
        """Queue replies (a str is a reply with that content) or errors to raise, in order."""
        self._queue.extend(ChatReply(content=i) if isinstance(i, str) else i for i in items)
        return self

    async def aclose(self) -> None:
        return None

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatReply:
        self.history.append(request)
        if not self._queue:
            raise AssertionError("FakeLLM got a call it had no reply queued for")
        item = self._queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class FunctionLLM:
    """Answers by calling `fn(request)`: for replies that depend on the prompt, or that take time."""

    def __init__(
        self, fn: Callable[[ChatRequest], Awaitable[ChatReply]], model: str = "function-llm"
    ) -> None:
        self._fn = fn
        self._model = model
        self.history: list[ChatRequest] = []

    @property
    def model(self) -> str:
        return self._model

    async def aclose(self) -> None:
        return None

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatReply:
        self.history.append(request)
        return await asyncio.wait_for(self._fn(request), timeout=timeout)


class Usage(BaseModel):
    """Tokens and time spent on the LLM for one answer, summed over retries and re-asks."""

    calls: int = Field(default=0, description="HTTP calls made, failed ones included.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = Field(default=0.0, description="Time spent waiting on the endpoint.")

    def record(self, seconds: float, reply: ChatReply | None = None) -> None:
        """Count one call, with its tokens when it answered."""
        self.calls += 1
        self.latency_ms = round(self.latency_ms + seconds * 1000, 1)
        if reply is not None:
            self.prompt_tokens += reply.prompt_tokens
            self.completion_tokens += reply.completion_tokens
