"""Draining: /readyz says so while requests are still served; the server stops once the drain is over."""

from __future__ import annotations

import asyncio
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
from service.classifier import Classifier
from service.config import AFTER_LLM_DEADLINE_S, Settings
from service.engine import Engine, build_engine
from service.llm.client import ChatReply, ChatRequest, FunctionLLM
from service.serving.draining import Draining, DrainingServer, draining_server
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


def test_with_an_llm_requests_get_at_least_its_deadline_and_a_margin_after_the_listener_closes() -> None:
    bare = Settings(_env_file=None, shutdown_timeout_s=20, llm_deadline_s=30)  # type: ignore[call-arg]
    assert bare.graceful_shutdown_s == 20
    with_llm = bare.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1"})
    assert with_llm.graceful_shutdown_s == 30 + AFTER_LLM_DEADLINE_S
    patient = with_llm.model_copy(update={"shutdown_timeout_s": 60})
    assert patient.graceful_shutdown_s == 60


def test_a_request_waiting_on_the_llm_at_shutdown_still_gets_its_answer(classifier: Classifier) -> None:
    # The shutdown timeout alone (1 s) is under the LLM deadline (2 s), as by default (20 s and 30 s).
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        llm_base_url="http://127.0.0.1:9/v1",
        llm_deadline_s=2.0,
        llm_timeout_s=2.0,
        llm_max_attempts=1,
        cascade_threshold=1.0,
        shutdown_timeout_s=1,
        drain_seconds=0,
    )
    asked = threading.Event()

    async def hang(_: ChatRequest) -> ChatReply:
        asked.set()
        await asyncio.Event().wait()
        raise AssertionError("never set")

    engine = build_engine(settings, classifier=classifier, llm=FunctionLLM(hang))
    app = create_app(settings, loader=lambda _: engine)
    server = draining_server(app, settings, draining=app.state.draining, log_config=None)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    answers: list[httpx.Response | Exception] = []

    def ask() -> None:
        try:
            answers.append(httpx.post(f"{base_url}/v1/classify", json={"goal": "win the award"}, timeout=30))
        except httpx.HTTPError as exc:
            answers.append(exc)

    try:
        _wait_for(lambda: server.started, "the server to start")
        with httpx.Client(base_url=base_url) as http:
            assert wait_until_loaded(http).status_code == 200
        client = threading.Thread(target=ask)
        client.start()
        assert asked.wait(timeout=30), "the request never reached the LLM"
        server.handle_exit(signal.SIGTERM, None)
        client.join(timeout=30)
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server stopped"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    [answer] = answers
    assert isinstance(answer, httpx.Response), f"the request was cut: {answer!r}"
    assert answer.status_code == 200
    assert (answer.json()["degraded"], answer.json()["degraded_reason"]) == (True, "llm_timeout")
