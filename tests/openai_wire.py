"""Helpers for respx tests: chat-completion bodies as an OpenAI-compatible server sends them."""

from __future__ import annotations

import json
from typing import Any

import httpx

BASE_URL = "http://llm.test/v1"


def completion(
    content: str | None,
    *,
    finish_reason: str = "stop",
    refusal: str | None = None,
    tokens: tuple[int, int] = (50, 10),
) -> dict[str, Any]:
    """A chat.completion body with one choice."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
            }
        ],
        "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
    }


def ok(content: str, **kwargs: Any) -> httpx.Response:
    """A 200 answer with that content."""
    return httpx.Response(200, json=completion(content, **kwargs))


def sent(request: httpx.Request) -> dict[str, Any]:
    """The JSON body a request carried."""
    body: dict[str, Any] = json.loads(request.content)
    return body
