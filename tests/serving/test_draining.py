"""Draining: /readyz says so while requests are still served; the server stops once the drain is over."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings
from service.engine import Engine
from service.serving.draining import Draining, DrainingServer
from tests.live_server import running, wait_until_loaded


class ManualClock:
    """The drain's clock: it moves only when the test moves it, and counts how often it was read."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


def test_a_draining_app_fails_readyz_but_stays_live_and_keeps_answering(
    settings: Settings, embedded_engine: Engine
) -> None:
    app = create_app(settings, loader=lambda _: embedded_engine)
    with running(app) as base_url, httpx.Client(base_url=base_url, timeout=60) as http:
        assert wait_until_loaded(http).status_code == 200
        app.state.draining.start()
        ready = http.get("/readyz")
        assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
        live = http.get("/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "ok"})
        assert http.post("/v1/classify", json={"goal": "Close 20 deals per month"}).status_code == 200


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_sigterm_keeps_the_server_up_until_the_drain_period_has_passed() -> None:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    draining, clock = Draining(), ManualClock()
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = DrainingServer(config, draining=draining, drain_s=5.0, clock=clock)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/ping"
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: server.started, "the server to start")
        server.handle_exit(signal.SIGTERM, None)
        assert draining.active
        reads = clock.reads
        # Several ticks have looked at the clock, and none stopped the server: the drain is not over.
        _wait_for(lambda: clock.reads >= reads + 3, "the server to check its drain")
        assert not server.should_exit
        assert httpx.get(url).status_code == 200
        clock.now = 5.0
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server stopped once the drain period had passed"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_the_signal_that_stopped_the_server_is_not_raised_again_after_it() -> None:
    received: list[int] = []

    def record(sig: int, _: object) -> None:
        received.append(sig)

    previous = signal.signal(signal.SIGTERM, record)
    draining = Draining()
    server = DrainingServer(
        uvicorn.Config(FastAPI(), log_level="warning", lifespan="off"), draining=draining, drain_s=3600.0
    )

    def terminate_twice() -> None:
        try:
            _wait_for(lambda: server.started, "the server to start")
            os.kill(os.getpid(), signal.SIGTERM)
            _wait_for(lambda: draining.active, "the drain to start")
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            server.should_exit = True

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    driver = threading.Thread(target=terminate_twice, daemon=True)
    driver.start()
    try:
        # In the main thread, where the server takes over SIGTERM while it runs.
        server.run(sockets=[sock])
        driver.join(timeout=30)
        assert received == []
        assert signal.getsignal(signal.SIGTERM) is record, "the handler from before is back"
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


@pytest.mark.parametrize(
    "signals",
    [(signal.SIGTERM, signal.SIGTERM), (signal.SIGINT,)],
    ids=["second-sigterm", "sigint"],
)
def test_a_second_sigterm_or_a_sigint_stops_without_waiting_out_the_drain(
    signals: tuple[signal.Signals, ...],
) -> None:
    server = DrainingServer(
        uvicorn.Config(FastAPI()), draining=Draining(), drain_s=3600.0, clock=ManualClock()
    )
    for sig in signals:
        assert not server.should_exit
        server.handle_exit(sig, None)
    assert server.should_exit
