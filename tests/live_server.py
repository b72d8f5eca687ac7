"""Runs an app on a real uvicorn server on a free loopback port, in a thread, for API tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings
from service.engine import Engine


@contextmanager
def running(app: FastAPI, *, log_level: str = "warning") -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL (`log_level` "info" keeps the access log)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def serving_engine(
    settings: Settings, engine: Engine, *, timeout_s: float = 30
) -> Iterator[tuple[str, httpx.Client]]:
    """Serve an app of `settings` around the already loaded `engine` on a real server; yields its base URL
    and a client of it once the app is ready."""
    app = create_app(settings, loader=lambda _: engine)
    with running(app) as url, httpx.Client(base_url=url, timeout=timeout_s) as http:
        assert wait_until_loaded(http).status_code == 200
        yield url, http


def wait_until_loaded(http: httpx.Client, attempts: int = 600) -> httpx.Response:
    """Poll /readyz until the engine is no longer loading (ready or failed); returns the last answer."""
    answer = http.get("/readyz")
    for _ in range(attempts):
        if answer.json()["status"] != "loading":
            break
        time.sleep(0.05)
        answer = http.get("/readyz")
    return answer
