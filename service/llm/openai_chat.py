"""The `openai` SDK behind the LLM seam (`service.llm.client`): loaded only when an endpoint is configured,
since the SDK alone is 24 MiB and half a second of every start."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion

from service.config import OutputMode
from service.llm.client import ChatReply, ChatRequest, TransportError, retry_after_seconds

logger = logging.getLogger(__name__)


class _FormatRejected(Exception):
    """The endpoint refused the json_schema response format."""


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
