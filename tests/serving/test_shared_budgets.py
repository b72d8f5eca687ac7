"""Two real `goal-rewriter serve` processes on one database and one Redis: a key's goals, sent to both in
turn, are accepted up to its burst in all, not per replica, and the rest get 429 with Retry-After; the
page's budget per client address is shared the same way.

The rates are one goal a minute, so the windows (100 minutes for the key, 10 for the page) outlast the
test many times over: nothing comes back while it runs, whatever the machine's speed, and no test waits
for the clock.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from evals.loadgen import free_port, wait_until_up
from service.serving.ratelimit import window_seconds
from service.store.db import open_database
from service.store.keys import KeyStore, Scope
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
PER_MINUTE = 1
BURST = 100
PAGE_BURST = 10
GOALS = 130
CLIENTS = 8
SERVE = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1"]


@dataclass
class Replicas:
    """Two servers sharing a database and a Redis, and a key both accept."""

    urls: tuple[str, str]
    key: str


def _env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOAL_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        # The servers import this checkout's code, whatever the environment installed.
        PYTHONPATH=str(ROOT),
        GOAL_DATABASE_URL=database_url,
        GOAL_RATE_LIMIT_STORAGE=redis_url,
        GOAL_RATE_LIMIT_PER_MINUTE=str(PER_MINUTE),
        GOAL_RATE_LIMIT_BURST=str(BURST),
        GOAL_PAGE_RATE_LIMIT_PER_MINUTE=str(PER_MINUTE),
        GOAL_PAGE_RATE_LIMIT_BURST=str(PAGE_BURST),
        GOAL_LOG_FORMAT="text",
    )
    return env


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[Replicas]:
    """Start two servers on one SQLite file holding one key, pointed at the session's Redis."""
    folder = tmp_path_factory.mktemp("replicas")
    database_url = f"sqlite:///{folder / 'goals.db'}"
    database = open_database(database_url)
    database.migrate()
    _, key = KeyStore(database).create(name="partner", scopes=[Scope.CLASSIFY])
    database.dispose()
    redis_server.flush()
    env = _env(database_url, redis_server.url)
    ports = (free_port(), free_port())
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for n, port in enumerate(ports):
            log = folder / f"server-{n}.log"
            with log.open("wb") as out:
                # Its own working folder: no developer's .env is read.
                processes.append(
                    subprocess.Popen(
                        [*SERVE, "--port", str(port)],
                        cwd=folder,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        for n, (port, process) in enumerate(zip(ports, processes, strict=True)):
            url = f"http://127.0.0.1:{port}/readyz"
            wait_until_up(url, process, timeout_s=300, log=folder / f"server-{n}.log", every_s=0.2)
        yield Replicas(urls=(f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"), key=key)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _send_goals(replicas: Replicas) -> list[tuple[int, httpx.Response]]:
    """GOALS goals from CLIENTS clients at once, each goal to the next replica in turn."""
    turns = itertools.cycle((0, 1))
    numbers = iter(range(GOALS))
    headers = {"Authorization": f"Bearer {replicas.key}"}
    answers: list[tuple[int, httpx.Response]] = []
    async with (
        httpx.AsyncClient(base_url=replicas.urls[0], headers=headers, timeout=60) as first,
        httpx.AsyncClient(base_url=replicas.urls[1], headers=headers, timeout=60) as second,
    ):

        async def client() -> None:
            for number in numbers:
                replica = next(turns)
                http = (first, second)[replica]
                answer = await http.post("/v1/classify", json={"goal": f"Close {number} deals per month"})
                answers.append((replica, answer))

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return answers


def test_a_keys_goals_on_two_replicas_stay_within_its_limit_plus_burst(replicas: Replicas) -> None:
    answers = asyncio.run(_send_goals(replicas))
    accepted = [replica for replica, answer in answers if answer.status_code == 200]
    refused = [(replica, answer) for replica, answer in answers if answer.status_code != 200]
    assert len(answers) == GOALS
    # Per-process budgets would have let up to 100 through on each replica.
    assert len(accepted) <= PER_MINUTE + BURST
    assert len(accepted) == BURST, "the window outlasts the test: exactly the burst gets through"
    assert set(accepted) == {0, 1}, "both replicas accepted some of them"
    assert {replica for replica, _ in refused} == {0, 1}, "and both refused some"
    window = window_seconds(per_minute=PER_MINUTE, burst=BURST)
    for _, answer in refused:
        assert answer.status_code == 429
        assert answer.json()["error"] == "rate_limited"
        assert window - 600 <= int(answer.headers["retry-after"]) <= window


def test_the_pages_budget_per_client_is_shared_by_the_replicas(replicas: Replicas) -> None:
    paste = "\n".join(f"Close {n} deals per month" for n in range(1, PAGE_BURST + 1))
    with httpx.Client(base_url=replicas.urls[0], timeout=60) as first:
        assert first.post("/rewrite-form", data={"goals": paste}).status_code == 200
    with httpx.Client(base_url=replicas.urls[1], timeout=60) as second:
        refused = second.post("/rewrite-form", data={"goals": "Read one report a week"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"]
