"""What the service bench and the soak run share: distinct goals, a server subprocess, RSS, percentiles."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count, product
from pathlib import Path
from typing import Any

import httpx

from evals.dataset import load_goals
from service.config import Settings
from service.model.known import recorded_texts

# Framings that keep a goal's meaning and change its words, so every request is a goal the embedding
# cache has not seen and throughput is the model's, not the cache's.
_LEADS = ("", "I want to ", "This year I will ", "My goal is to ", "Over the next quarter, ")
_TAILS = ("", " by the end of June", " with my team", " this half", " before the next review")


def distinct_goals() -> Iterator[str]:
    """The labelled goals, then framed variants of them (about 13,000), then all of those again with a
    round number, and so on without end: none repeated, however long a soak runs. None is a text whose
    vector the exported encoder ships (the few-shot goals are), so every goal is encoded."""
    recorded = recorded_texts(Settings(_env_file=None).encoder_dir)  # type: ignore[call-arg]
    texts = [text for text in dict.fromkeys(row.text for row in load_goals()) if text not in recorded]
    for round_number in count(1):
        marker = "" if round_number == 1 else f" (round {round_number})"
        seen: set[str] = set()
        for lead, tail in product(_LEADS, _TAILS):
            for text in texts:
                goal = f"{lead}{text[0].lower() + text[1:] if lead else text}{tail}"
                if goal not in seen:
                    seen.add(goal)
                    yield goal + marker


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], *, timeout_s: float, log: Path, every_s: float = 0.02
) -> None:
    """Poll `url` until it answers 200. Raises RuntimeError with the end of the process's `log` when the
    process exits first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5) as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{_tail(log)}")
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server was not up within {timeout_s:.0f} s:\n{_tail(log)}")
            time.sleep(every_s)


def stop(process: subprocess.Popen[Any], *, grace_s: float) -> None:
    """SIGTERM a server process, and SIGKILL it if it has not exited after `grace_s` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@dataclass(frozen=True)
class Memory:
    """A process's resident memory, in MiB: now and the peak so far."""

    rss_mib: float
    peak_mib: float


def memory_of(pid: int) -> Memory:
    """Read VmRSS and VmHWM from /proc (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return Memory(rss_mib=fields["VmRSS"], peak_mib=fields["VmHWM"])


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (the server and its model process)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found.extend(process_tree(int(child)))
    return found


def tree_memory(pid: int) -> Memory:
    """The memory of `pid` and its descendants together (peaks summed: an upper bound of the joint peak)."""
    parts = [memory_of(each) for each in process_tree(pid)]
    return Memory(rss_mib=sum(p.rss_mib for p in parts), peak_mib=sum(p.peak_mib for p in parts))


@dataclass(frozen=True)
class Server:
    """A `goal-rewriter serve` process on loopback, ready to answer."""

    host: str
    port: int
    pid: int
    cold_start_s: float

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def served(env: Mapping[str, str] | None = None, *, timeout_s: float = 180.0) -> Iterator[Server]:
    """Start `goal-rewriter serve` (embedded engine) on a free port, wait for /readyz, stop it after."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="goal-serve-") as workdir:
        child_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
        # No LLM, whatever the shell says: the figures are the embedded engine's. The server runs in an
        # empty folder, so no developer's .env or store is read.
        child_env.pop("GOAL_LLM_BASE_URL", None)
        # Nobody routes traffic to it, so it may stop without the load balancer's drain.
        child_env.setdefault("GOAL_DRAIN_SECONDS", "0")
        log = Path(workdir) / "server.log"
        script = Path(sys.executable).with_name("goal-rewriter")
        command = [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)]
        started = time.perf_counter()
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
                command, cwd=workdir, env=child_env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/readyz", process, timeout_s=timeout_s, log=log)
            cold_start = time.perf_counter() - started
            yield Server(host="127.0.0.1", port=port, pid=process.pid, cold_start_s=cold_start)
        finally:
            stop(process, grace_s=30)
