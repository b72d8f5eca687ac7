"""The real `goal-rewriter serve` process: SIGTERM under load drains without failing a request, then it
exits 0; its log lines are JSON with the request ids it answered with, and carry no goal text.

One server process for the module (the engine takes 10-30 s to load on a shared machine). Its LLM is the
fault server on loopback and every goal goes to it, so the test decides how long an answer takes. The
fixture plays the whole story once, as a load balancer would see it, and records it; each test checks one
promise on that record.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from evals.loadgen import free_port, wait_until_up
from tests.fault_server import FaultServer, fault_server

DRAIN_S = 4.0
# The LLM's answer time for the request sent after the drain began: longer than what is left of the drain,
# so that request is still being answered when the listener closes.
SLOW_LLM_S = 6.0
CLIENTS = 8
CANARY = "Zanzibarquokka"
GOALS = ("Close 20 deals per month", "be a better leader", "get my proposal approved", "win the sales award")


@dataclass
class Answer:
    """One request's fate: a status, or the transport error it met instead."""

    status: int | None
    error: str | None = None
    body: dict[str, Any] | None = None


@dataclass
class Story:
    """What the test saw of the server, from start to exit."""

    ids: dict[str, str]
    load: list[Answer]
    readyz_draining: tuple[int, Any]
    healthz_draining: tuple[int, Any]
    late: Answer
    sigterm_at: float
    listener_closed_at: float | None
    late_answered_at: float
    exit_code: int | None
    stderr: str
    stdout: str


def _server_env(fault: FaultServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOAL_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        GOAL_LLM_BASE_URL=fault.base_url,
        GOAL_CASCADE_THRESHOLD="1",
        GOAL_LLM_BREAKER_FAILURES="1000",
        GOAL_DRAIN_SECONDS=str(DRAIN_S),
        # Eight clients in a loop are load, not abuse.
        GOAL_RATE_LIMIT_PER_MINUTE="0",
    )
    return env


async def _post(http: httpx.AsyncClient, path: str, body: dict[str, Any], rid: str | None = None) -> Answer:
    headers = {"X-Request-ID": rid} if rid else {}
    try:
        response = await http.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(status=None, error=repr(exc))
    return Answer(status=response.status_code, body=response.json())


async def _until_listener_closed(port: int, late: asyncio.Task[Answer]) -> float | None:
    """When a new connection is first refused, if that happens before the late request is answered."""
    while not late.done():
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return time.monotonic()
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)
    return None


async def _story(process: subprocess.Popen[bytes], fault: FaultServer, port: int) -> dict[str, Any]:
    base_url = f"http://127.0.0.1:{port}"
    ids: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        goal = f"Win the {CANARY} account back"
        for rid, path, body in (
            ("canary-classify", "/v1/classify", {"goal": goal}),
            ("canary-rewrite", "/v1/rewrite", {"goal": goal, "n": 2, "context": {"role": f"{CANARY} lead"}}),
        ):
            response = await http.post(path, json=body, headers={"X-Request-ID": rid})
            assert response.status_code == 200, response.text
            ids[rid] = response.headers["x-request-id"]
        query = await http.get(f"/v1/kinds?note={CANARY}", headers={"X-Request-ID": "canary-query"})
        ids["canary-query"] = query.headers["x-request-id"]
        ids["bad id!"] = (await http.get("/healthz", headers={"X-Request-ID": "bad id!"})).headers[
            "x-request-id"
        ]

    load: list[Answer] = []
    stop = asyncio.Event()

    async def client(number: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            while not stop.is_set():
                load.append(
                    await _post(http, "/v1/classify", {"goal": GOALS[(number + len(load)) % len(GOALS)]})
                )

    clients = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
    deadline = time.monotonic() + 120
    while len(load) < 3 * CLIENTS:
        assert time.monotonic() < deadline, f"the load got {len(load)} answers in 120 s"
        await asyncio.sleep(0.05)

    sigterm_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as probe:
        ready = await probe.get("/readyz")
        while ready.json() != {"status": "draining"}:
            await asyncio.sleep(0.05)
            ready = await probe.get("/readyz")
        # As a load balancer does once readiness fails: send nothing new to this server.
        stop.set()
        live = await probe.get("/healthz")
    await asyncio.to_thread(fault.set, "slow", delay_s=SLOW_LLM_S)

    async def late_request() -> Answer:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            return await _post(http, "/v1/classify", {"goal": "reach the top 3 in the sales ranking"})

    late = asyncio.create_task(late_request())
    listener_closed_at = await _until_listener_closed(port, late)
    late_answer = await late
    late_answered_at = time.monotonic()
    await asyncio.gather(*clients)
    exit_code = await asyncio.to_thread(process.wait, 60)
    return {
        "ids": ids,
        "load": load,
        "readyz_draining": (ready.status_code, ready.json()),
        "healthz_draining": (live.status_code, live.json()),
        "late": late_answer,
        "sigterm_at": sigterm_at,
        "listener_closed_at": listener_closed_at,
        "late_answered_at": late_answered_at,
        "exit_code": exit_code,
    }


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """Start `goal-rewriter serve`, ask it canary goals, load it, SIGTERM it, and record what happened."""
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    command = [str(Path(sys.executable).with_name("goal-rewriter")), "serve", "--host", "127.0.0.1"]
    with (
        fault_server() as fault,
        (folder / "stdout").open("wb") as out,
        (folder / "stderr").open("wb") as err,
    ):
        # Its own working folder: no developer's .env is read, and the database file lands there.
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=folder, env=_server_env(fault), stdout=out, stderr=err
        )
        try:
            url = f"http://127.0.0.1:{port}/readyz"
            wait_until_up(url, process, timeout_s=300, log=folder / "stderr", every_s=0.2)
            record = asyncio.run(_story(process, fault, port))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return Story(**record, stderr=(folder / "stderr").read_text(), stdout=(folder / "stdout").read_text())


def test_sigterm_fails_readyz_with_draining_while_healthz_stays_ok(story: Story) -> None:
    assert story.readyz_draining == (503, {"status": "draining"})
    assert story.healthz_draining == (200, {"status": "ok"})


def test_no_request_fails_from_the_load_through_sigterm_to_exit(story: Story) -> None:
    failed = [a for a in story.load if a.status != 200]
    assert not failed, f"{len(failed)} of {len(story.load)} failed, e.g. {failed[:3]}"
    assert len(story.load) >= 3 * CLIENTS
    assert all(a.body is not None and a.body["engine"] == "llm" for a in story.load)


def test_a_request_sent_while_draining_is_answered_though_the_listener_closes_meanwhile(story: Story) -> None:
    assert story.late.status == 200, story.late
    assert story.late.body is not None
    assert (story.late.body["engine"], story.late.body["degraded"]) == ("llm", False)
    assert story.listener_closed_at is not None, "the listener was still open when the late answer came"
    assert story.listener_closed_at < story.late_answered_at


def test_the_listener_stays_open_for_the_drain_period(story: Story) -> None:
    assert story.listener_closed_at is not None
    assert story.listener_closed_at - story.sigterm_at >= DRAIN_S


def test_the_server_exits_0_after_sigterm(story: Story) -> None:
    assert story.exit_code == 0, story.stderr[-3000:]


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_log_lines_are_json_objects_with_a_request_id_field(story: Story) -> None:
    entries = _json_lines(story.stderr)
    assert len(entries) > len(story.load), "an access line per request at least"
    for entry in entries:
        assert {"time", "level", "logger", "message", "request_id"} <= set(entry), entry
    assert story.stdout == ""


def test_every_stderr_line_is_json(story: Story) -> None:
    plain = [line for line in story.stderr.splitlines() if not line.startswith("{")]
    assert plain == []


def test_access_lines_carry_the_request_id_the_response_returned(story: Story) -> None:
    access = [e for e in _json_lines(story.stderr) if e["logger"] == "service.access"]
    by_id = {e["request_id"]: e for e in access}
    assert story.ids["canary-classify"] == "canary-classify"
    line = by_id["canary-classify"]
    assert (line["method"], line["path"], line["status"]) == ("POST", "/v1/classify", 200)
    assert line["duration_ms"] > 0
    assert by_id["canary-query"]["path"] == "/v1/kinds"
    replaced = story.ids["bad id!"]
    assert replaced != "bad id!"
    assert by_id[replaced]["path"] == "/healthz"
    # Every request of the load has its own access line.
    assert sum(e["path"] == "/v1/classify" for e in access) >= len(story.load) + 1


def test_no_goal_text_or_query_value_is_logged_at_info(story: Story) -> None:
    assert CANARY not in story.stderr
    assert CANARY not in story.stdout
