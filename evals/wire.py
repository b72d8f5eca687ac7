"""A lean HTTP/1.1 client for load generation: one keep-alive connection, JSON POSTs, nothing else.

The bench runs its clients on the same two cores as the server, so every millisecond of CPU the client
spends is taken from the service it measures. httpx spent about 1.1 ms of CPU on each request (its
connection pool, header models and response objects); writing the request's bytes and reading back
`Content-Length` bytes spends a tenth of that. The bench prints what its clients used, beside the figures.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from types import TracebackType


class WireError(Exception):
    """The server answered in a way this client does not read (or not at all)."""


@dataclass(frozen=True)
class Answer:
    """A response's status code and body."""

    status: int
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection to a server on loopback; requests on it go one at a time."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def __aenter__(self) -> Connection:
        self._streams = await asyncio.open_connection(self._host, self._port)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._streams is not None:
            _, writer = self._streams
            writer.close()
            self._streams = None

    async def post_json(self, path: str, payload: object) -> Answer:
        """POST `payload` as JSON and read the whole answer."""
        if self._streams is None:
            raise WireError("the connection is not open")
        reader, writer = self._streams
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode("ascii") + body)
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise WireError(f"the connection closed before an answer: {exc}") from exc
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        length = None
        for line in lines:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding":
                raise WireError(f"a {value.strip()} answer; this client reads Content-Length bodies only")
        if length is None:
            raise WireError("an answer without Content-Length")
        try:
            return Answer(status=int(status_line.split()[1]), body=await reader.readexactly(length))
        except asyncio.IncompleteReadError as exc:
            raise WireError("the connection closed mid-body") from exc
