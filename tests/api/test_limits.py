"""The body limit over a real server: 413 with the JSON error shape before a route reads too much."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from service.config import Settings
from service.engine import Engine
from service.schemas import Classification, ErrorBody
from tests.live_server import serving_engine

LIMIT = 4096
GOAL = b'{"goal": "Close 20 deals per month"}'


@pytest.fixture(scope="module")
def base_url(settings: Settings, embedded_engine: Engine) -> Iterator[str]:
    limited = settings.model_copy(update={"max_body_bytes": LIMIT})
    with serving_engine(limited, embedded_engine) as (url, _http):
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """What the server logs at ERROR (uvicorn's loggers do not propagate to the root)."""
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn"), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.records
    for logger in loggers:
        logger.removeHandler(handler)


def padded(size: int) -> bytes:
    """A valid classify body of exactly `size` bytes (JSON allows trailing whitespace)."""
    return GOAL + b" " * (size - len(GOAL))


def raw_exchange(base_url: str, head: str, chunks: list[bytes]) -> tuple[int, dict[str, str], bytes]:
    """Send a request head and some body bytes, leave the body unfinished, and read the whole answer.

    The socket timeout is the test's failure mode: a server that waits for the rest of the body never
    answers, and the read times out.
    """
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        for chunk in chunks:
            sock.sendall(chunk)
        data = b""
        while piece := sock.recv(65536):
            data += piece
    status_line, _, rest = data.partition(b"\r\n")
    header_block, _, body = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in header_block.decode().split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def assert_refused(status: int, headers: httpx.Headers | dict[str, str], body: bytes) -> ErrorBody:
    assert status == 413, body
    error = ErrorBody.model_validate_json(body)
    assert error.error == "body_too_large"
    assert "4 KiB" in error.message
    assert "4,096 bytes" in error.message
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    return error


def test_a_declared_length_over_the_limit_is_refused_before_any_body_byte(base_url: str) -> None:
    head = "POST /v1/classify HTTP/1.1\nHost: test\nContent-Type: application/json\n"
    head += "Content-Length: 10000000000\n"
    status, headers, body = raw_exchange(base_url, head, [])
    error = assert_refused(status, headers, body)
    assert "10,000,000,000 bytes" in error.message
    assert headers["connection"] == "close"


def test_a_chunked_body_is_refused_as_soon_as_its_count_passes_the_limit(
    base_url: str, server_errors: list[logging.LogRecord]
) -> None:
    head = (
        "POST /v1/rewrite HTTP/1.1\nHost: test\nContent-Type: application/json\nTransfer-Encoding: chunked\n"
    )
    piece = b"a" * 1000
    # Five chunks pass the limit; the terminating chunk is never sent, so only counting can answer.
    chunks = [b'3e8\r\n{"goal": "' + piece[10:] + b"\r\n"] + [b"3e8\r\n" + piece + b"\r\n"] * 4
    status, headers, body = raw_exchange(base_url, head, chunks)
    assert_refused(status, headers, body)
    assert server_errors == [], "the route's own answer to the cut-off body is dropped, not an error"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("size", "status"), [(LIMIT, 200), (LIMIT + 1, 413)], ids=["at-limit", "one-over"])
def test_the_limit_counts_every_byte(client: httpx.Client, chunked: bool, size: int, status: int) -> None:
    body = padded(size)
    # A generator makes httpx send the body chunked, without a Content-Length.
    content = iter([body[: size // 2], body[size // 2 :]]) if chunked else body
    response = client.post("/v1/classify", content=content, headers={"content-type": "application/json"})
    assert ("transfer-encoding" in response.request.headers) is chunked
    assert response.status_code == status, response.text
    if status == 200:
        Classification.model_validate(response.json())
    else:
        assert_refused(response.status_code, response.headers, response.content)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_web_form_gets_the_same_413_with_the_security_headers(
    client: httpx.Client, chunked: bool
) -> None:
    form = b"goals=" + b"sell+more%0A" * 1000
    content = iter([form[:100], form[100:]]) if chunked else form
    response = client.post(
        "/rewrite-form", content=content, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_refused(response.status_code, response.headers, response.content)


def test_a_multi_megabyte_upload_is_refused_and_the_server_goes_on(client: httpx.Client) -> None:
    for content in (b"x" * 5_000_000, iter([b"x" * 65536] * 80)):
        response = client.post("/v1/rewrite", content=content, headers={"content-type": "application/json"})
        assert_refused(response.status_code, response.headers, response.content)
    assert client.post("/v1/classify", content=GOAL, headers={"content-type": "application/json"}).is_success


def test_the_default_limit_holds_a_full_batch_of_escaped_goals() -> None:
    # POST /v1/batch: 100 items of the longest id, goal and context, every character sent as \uXXXX.
    item = {
        "id": "é" * 200,
        "op": "rewrite",
        "goal": "é" * 1000,
        "context": {"role": "é" * 100, "team": "é" * 100},
        "n": 5,
    }
    body = json.dumps({"items": [item] * 100}, ensure_ascii=True).encode()
    default = Settings.model_fields["max_body_bytes"].default
    assert len(body) <= default, f"a full batch is {len(body):,} bytes; the default limit is {default:,}"
