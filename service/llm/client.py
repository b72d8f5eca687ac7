"""The LLM seam: one chat call to an OpenAI-compatible endpoint, no retries, plus fakes for tests.

Retries, re-asks, the deadline and the breaker live one layer up, in `service.structured`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field

from service.config import OutputMode
from service.errors import LLMUnavailable
from service.llm.prompts import ChatMessage

logger = logging.getLogger(__name__)


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


class _FormatRejected(Exception):
    """The endpoint refused the json_schema response format."""


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


def _response_format(request: ChatRequest, mode: OutputMode, *, schema_hint: bool) -> dict[str, Any] | None:
    if mode is OutputMode.JSON_SCHEMA:
        return {
            "type": "json_schema",
            "json_schema": {"name": request.schema_name, "schema": request.json_schema, "strict": True},
        }
    if mode is OutputMode.JSON_OBJECT:
        # llama.cpp's server constrains JSON-object output to a schema given beside the type.
        return (
            {"type": "json_object", "schema": request.json_schema} if schema_hint else {"type": "json_object"}
        )
    return None


def _rejects_response_format(exc: openai.APIStatusError) -> bool:
    return exc.status_code in (400, 422, 500) and "response_format" in str(exc.body or exc.message)


class OpenAIChat:
    """The official `openai` SDK (AsyncOpenAI) with its own retries off, so one retry policy rules."""

    def __init__(
        self, *, base_url: str, api_key: str, model: str, http_client: httpx.AsyncClient | None = None
    ) -> None:
        self._model = model
        self._downgraded = False
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, max_retries=0, http_client=http_client
        )

    @property
    def model(self) -> str:
        return self._model

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatReply:
        mode = request.output_mode
        if mode is OutputMode.JSON_SCHEMA and self._downgraded:
            mode = OutputMode.JSON_OBJECT
        try:
            return await self._create(request, mode, timeout)
        except _FormatRejected:
            # The server does not know json_schema (llama.cpp's does not): use JSON-object mode from now on.
            logger.warning("the LLM endpoint rejects json_schema output; using json_object mode")
            self._downgraded = True
            return await self._create(request, OutputMode.JSON_OBJECT, timeout)

    async def _create(self, request: ChatRequest, mode: OutputMode, timeout: float) -> ChatReply:
        extra: dict[str, Any] = {}
        if (response_format := _response_format(request, mode, schema_hint=self._downgraded)) is not None:
            extra["response_format"] = response_format
        try:
            completion = await self._client.chat.completions.create(
                model=self._model,
                messages=[m.model_dump() for m in request.messages],  # type: ignore[misc]
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                timeout=timeout,
                **extra,
            )
        except openai.APITimeoutError as exc:
            raise TransportError(
                f"the LLM did not answer within {timeout:.1f}s", code="llm_timeout", retryable=True
            ) from exc
        except openai.APIConnectionError as exc:
            raise TransportError(
                "could not connect to the LLM endpoint", code="llm_connection", retryable=True
            ) from exc
        except openai.APIStatusError as exc:
            if mode is OutputMode.JSON_SCHEMA and _rejects_response_format(exc):
                raise _FormatRejected from exc
            raise _status_error(exc) from exc
        except (openai.APIError, ValueError) as exc:
            # A 200 whose body is not a chat completion (garbage, cut-off JSON).
            raise TransportError(
                "the LLM endpoint sent an unreadable response", code="llm_bad_response", retryable=True
            ) from exc
        if not isinstance(completion, ChatCompletion):
            # The SDK hands back the raw text when the body is not JSON (a proxy's HTML page, say).
            raise TransportError(
                "the LLM endpoint sent a response that is not a chat completion",
                code="llm_bad_response",
                retryable=True,
            )
        if not completion.choices:
            return ChatReply(content="", finish_reason=None)
        choice = completion.choices[0]
        usage = completion.usage
        return ChatReply(
            content=choice.message.content or "",
            finish_reason=choice.finish_reason,
            refusal=getattr(choice.message, "refusal", None),
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )


def _status_error(exc: openai.APIStatusError) -> TransportError:
    status = exc.status_code
    if status == 429:
        return TransportError(
            "the LLM endpoint is rate limiting",
            code="llm_rate_limited",
            retryable=True,
            retry_after=retry_after_seconds(exc.response.headers.get("retry-after")),
        )
    if status >= 500:
        return TransportError(
            f"the LLM endpoint failed with HTTP {status}",
            code="llm_server_error",
            retryable=True,
            retry_after=retry_after_seconds(exc.response.headers.get("retry-after")),
        )
    # 4xx: the request or the key is wrong; asking again cannot help.
    return TransportError(
        f"the LLM endpoint refused the request with HTTP {status}; check GOAL_LLM_* settings",
        code="llm_client_error",
        retryable=False,
    )


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
