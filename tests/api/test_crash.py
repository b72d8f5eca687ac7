"""Durability: the server process is killed (SIGKILL) while clients send feedback; after a restart every
answer the clients got a 201 for is in the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from evals.loadgen import free_port, wait_until_up
from service.store.db import open_database
from service.store.feedback import FeedbackStore

CLIENTS = 4
KILL_AFTER = 60


@contextmanager
def server_process(database_url: str, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`goal-rewriter serve` in its own process, answering /healthz; killed on exit if still running."""
    env = {
        **os.environ,
        "GOAL_DATABASE_URL": database_url,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process, timeout_s=120, log=log, every_s=0.1)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _record(n: int) -> dict[str, object]:
    return {
        "goal": f"Close {n} deals per month",
        "rewrite": "I will review two lost deals each Friday and note one thing to change.",
        "verdict": "accepted",
        "goal_kind": "performance",
        "engine": "embedded",
        "subject": f"person-{n % 7}",
    }


def test_every_acknowledged_feedback_survives_a_killed_server(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/feedback"
    log = tmp_path / "server.log"
    acknowledged: list[int] = []
    refused: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(timeout=10) as http:
            for n in itertools.count(number * 100_000):
                try:
                    answer = http.post(url, json=_record(n))
                except httpx.TransportError:
                    return  # the server is gone: everything before this was acknowledged or not
                with lock:
                    if answer.status_code != 201:
                        refused.append(f"{answer.status_code} {answer.text}")
                        return
                    acknowledged.append(answer.json()["id"])
                    if len(acknowledged) >= KILL_AFTER:
                        enough.set()

    with server_process(db_url, port, log) as process:
        threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=120), "the clients never got enough answers"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        for thread in threads:
            thread.join(timeout=60)
    assert refused == []
    assert len(acknowledged) >= KILL_AFTER

    with server_process(db_url, port, log):
        after = httpx.post(url, json=_record(-1), timeout=10)
        assert after.status_code == 201
    database = open_database(db_url)
    stored = {record.id for record in FeedbackStore(database).list(limit=100_000)}
    database.dispose()
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged records were lost"
    assert after.json()["id"] in stored
