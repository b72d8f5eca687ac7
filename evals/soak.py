"""Load and soak run: a fixed request rate against the service for minutes, watching latency and memory.

Open loop: requests leave on schedule whether or not earlier ones have been answered, as real callers do,
and each latency counts from the moment its request was due, so a stalled server shows as latency instead
of a politely slower client. A mix of classify and rewrite, every goal new to the server; per window (a
minute by default) it prints errors and p50/p99, and the RSS of the server and its model processes, then a
verdict on memory growth after the first window.
Run: `make soak` (or `python -m evals.soak --rate 20 --duration 180`).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.table import Table

from evals.loadgen import distinct_goals, memory_of, percentile, served, tree_memory

# A growth slower than this after the first window is noise (allocator, the embedding cache filling
# up to its bound); faster, and a leak of about a kilobyte per request at 20 requests per second shows.
GROWTH_MIB_PER_MIN = 1.0
# Windows after the first that a rise must last to be called growth rather than a late warm-up.
SURE_WINDOWS = 5


@dataclass(frozen=True)
class Outcome:
    """One request: when it was due (seconds from the start), what it was, and how it went."""

    due_s: float
    op: str
    latency_ms: float
    ok: bool


@dataclass(frozen=True)
class Reading:
    """RSS when a window closed (seconds from the start): the server with its model processes, and the
    server alone."""

    at_s: float
    total_mib: float
    server_mib: float


def read_memory(pid: int, at_s: float) -> Reading:
    """The RSS of the server `pid` with its children, and of the server alone."""
    return Reading(at_s=at_s, total_mib=tree_memory(pid).rss_mib, server_mib=memory_of(pid).rss_mib)


@dataclass(frozen=True)
class Window:
    """One window's requests, and the RSS of the server and its model processes when the window closed."""

    start_s: float
    outcomes: list[Outcome]
    memory: Reading

    @property
    def errors(self) -> int:
        return sum(not o.ok for o in self.outcomes)

    def p(self, q: float) -> float:
        """The q-th percentile of the window's answered latencies."""
        return percentile([o.latency_ms for o in self.outcomes if o.ok], q)


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) points, in MiB per minute; 0 with fewer than two points."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_m = sum(m for _, m in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if not spread:
        return 0.0
    return 60 * sum((t - mean_t) * (m - mean_m) for t, m in points) / spread


def growth_verdict(points: Sequence[tuple[float, float]]) -> tuple[float, str]:
    """The RSS slope after the first window, and what it means; `points` start with the RSS at start."""
    # The first window is warm-up: the embedding cache and the allocator's pools fill during it.
    settled = points[1:]
    slope = slope_per_minute(settled)
    if len(settled) < 3:
        return slope, "too short to judge a trend: run at least three windows (--duration, --window)"
    if slope <= GROWTH_MIB_PER_MIN:
        return slope, f"no growth trend (under {GROWTH_MIB_PER_MIN:g} MiB/min after the first window)"
    if len(settled) < SURE_WINDOWS:
        # Measured: the model processes' allocators kept growing for about three minutes, then stayed flat.
        return slope, "rising, which in a run this short can still be warm-up: run --duration 480 to tell"
    return slope, "GROWING: memory rises steadily after warm-up; look for a leak"


async def one_request(http: httpx.AsyncClient, *, op: str, goal: str, due: float, started: float) -> Outcome:
    """Send one classify or rewrite; the latency counts from when it was due."""
    body: dict[str, object] = {"goal": goal} if op == "classify" else {"goal": goal, "n": 3}
    try:
        answer = await http.post(f"/v1/{op}", json=body)
        ok = answer.status_code == 200
    except httpx.HTTPError:
        ok = False
    return Outcome(due_s=due - started, op=op, latency_ms=(time.perf_counter() - due) * 1000, ok=ok)


async def soak(
    http: httpx.AsyncClient,
    goals: Iterator[str],
    *,
    server_pid: int,
    rate: float,
    duration_s: float,
    window_s: float,
    rewrite_share: float,
) -> tuple[Reading, list[Window]]:
    """Send `rate` requests a second for `duration_s`; (RSS at start, one `Window` per `window_s`)."""
    pick = random.Random(8)  # noqa: S311 - a reproducible mix, not a secret
    at_start = read_memory(server_pid, 0.0)
    started = time.perf_counter()
    # (window start, its requests, RSS when it closed): answers are awaited only after the last send, so a
    # slow answer never holds back the schedule.
    closed: list[tuple[float, list[asyncio.Task[Outcome]], Reading]] = []
    current: list[asyncio.Task[Outcome]] = []
    window_start = 0.0
    sent = 0
    while (due := started + sent / rate) < started + duration_s:
        if due - started >= window_start + window_s:
            closed.append((window_start, current, read_memory(server_pid, due - started)))
            current, window_start = [], window_start + window_s
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        op = "rewrite" if pick.random() < rewrite_share else "classify"
        current.append(
            asyncio.create_task(one_request(http, op=op, goal=next(goals), due=due, started=started))
        )
        sent += 1
    await asyncio.gather(*current)
    closed.append((window_start, current, read_memory(server_pid, time.perf_counter() - started)))
    windows = [
        Window(start_s=start, outcomes=list(await asyncio.gather(*tasks)), memory=memory)
        for start, tasks, memory in closed
    ]
    return at_start, windows


def report(at_start: Reading, windows: Sequence[Window], *, window_s: float, duration_s: float) -> Table:
    """One row per window, then the totals."""
    table = Table(title="soak: open-loop load against goal-rewriter serve (embedded engine)")
    for column in ("window", "requests", "rewrites", "errors", "p50 ms", "p99 ms", "RSS MiB", "server alone"):
        table.add_column(column, justify="right")
    table.add_row("start", "", "", "", "", "", f"{at_start.total_mib:.0f}", f"{at_start.server_mib:.0f}")
    for w in windows:
        end = min(w.start_s + window_s, duration_s)
        rewrites = sum(o.op == "rewrite" for o in w.outcomes)
        table.add_row(
            f"{w.start_s:.0f}-{end:.0f} s",
            str(len(w.outcomes)),
            str(rewrites),
            str(w.errors),
            f"{w.p(50):.0f}",
            f"{w.p(99):.0f}",
            f"{w.memory.total_mib:.0f}",
            f"{w.memory.server_mib:.0f}",
        )
    everything = [o for w in windows for o in w.outcomes]
    answered = [o.latency_ms for o in everything if o.ok]
    table.add_row(
        "all",
        str(len(everything)),
        str(sum(o.op == "rewrite" for o in everything)),
        str(sum(not o.ok for o in everything)),
        f"{percentile(answered, 50):.0f}",
        f"{percentile(answered, 99):.0f}",
        f"{windows[-1].memory.total_mib:.0f}",
        f"{windows[-1].memory.server_mib:.0f}",
    )
    return table


def main(argv: Sequence[str] | None = None) -> None:
    """Start the server, soak it, print the table and the memory verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per reported window")
    parser.add_argument("--rewrite-share", type=float, default=0.3, help="share of requests that rewrite")
    options = parser.parse_args(argv)
    console = Console(width=None if Console().is_terminal else 120)
    goals = distinct_goals()
    with served() as server:
        console.print(
            f"server ready in {server.cold_start_s:.1f} s; {options.rate:g} requests/s for "
            f"{options.duration:g} s"
        )

        async def run() -> tuple[Reading, list[Window]]:
            limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:
                return await soak(
                    http,
                    goals,
                    server_pid=server.pid,
                    rate=options.rate,
                    duration_s=options.duration,
                    window_s=options.window,
                    rewrite_share=options.rewrite_share,
                )

        at_start, windows = asyncio.run(run())
    console.print(report(at_start, windows, window_s=options.window, duration_s=options.duration))
    readings = [at_start] + [w.memory for w in windows]
    slope, verdict = growth_verdict([(r.at_s, r.total_mib) for r in readings])
    server_slope, _ = growth_verdict([(r.at_s, r.server_mib) for r in readings])
    console.print(
        f"RSS of the server and its model processes: {at_start.total_mib:.0f} MiB at start, "
        f"{readings[-1].total_mib:.0f} MiB at end. Slope after the first window: {slope:+.2f} MiB/min "
        f"(the server alone {server_slope:+.2f}): {verdict}"
    )


if __name__ == "__main__":
    main()
