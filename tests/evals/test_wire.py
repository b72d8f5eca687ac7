"""The bench's lean HTTP client reads real uvicorn answers, and says so when it cannot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from evals.wire import Connection, WireError
from tests.live_server import running


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict[str, object]) -> dict[str, object]:
        return {"got": body}

    @app.post("/stream")
    async def stream() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            yield b"one"
            yield b"two"

        return StreamingResponse(parts())

    return app


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def test_json_posts_go_one_after_another_on_one_connection() -> None:
    with running(_app()) as base_url:

        async def go() -> list[tuple[int, object]]:
            async with Connection(*_address(base_url)) as connection:
                answers = [await connection.post_json("/echo", {"goal": f"goal {i}"}) for i in range(3)]
                missing = await connection.post_json("/nowhere", {})
            return [(answer.status, answer.json()) for answer in [*answers, missing]]

        got = asyncio.run(go())
    assert got[:3] == [(200, {"got": {"goal": f"goal {i}"}}) for i in range(3)]
    assert got[3] == (404, {"detail": "Not Found"})


def test_an_answer_without_content_length_is_an_error_not_a_guess() -> None:
    with running(_app()) as base_url:

        async def go() -> None:
            async with Connection(*_address(base_url)) as connection:
                await connection.post_json("/stream", {})

        with pytest.raises(WireError, match="chunked"):
            asyncio.run(go())


def test_a_connection_that_is_not_open_says_so() -> None:
    with pytest.raises(WireError, match="not open"):
        asyncio.run(Connection("127.0.0.1", 9).post_json("/echo", {}))
