"""Benchmark of the service against the bare model, measured side by side in one run.

The model alone, at torch's default thread count and at the service's, gives the floor (one sentence's
encode latency) and the limit (sentences per second at the best batch size). The service, started as
`goal-rewriter serve` on loopback with the embedded engine, is measured against them: one request's
latency, throughput with 1, 8 and 32 concurrent clients, a `/v1/batch` of 100 goals, a cache hit, cold
start and peak memory. Every request carries a goal the service has not seen, so the embedding cache does
not flatter throughput.
Run: `make bench` (or `python -m evals.bench_service --seconds 5`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from statistics import median

import httpx
import torch
from rich.console import Console
from rich.table import Table

from evals.loadgen import Server, distinct_goals, memory_of, percentile, served, tree_memory
from service.config import Settings
from service.embeddings import SentenceTransformerEmbedder
from service.model_process import spare_cores

CONCURRENCY = (1, 8, 32)
BATCH_SIZES = (1, 4, 8, 16, 32, 64)
BATCH_ITEMS = 100
# The targets of issue 8, printed beside the figures.
MAX_SINGLE_RATIO = 1.5
MIN_LOADED_SHARE = 0.60
MAX_LOADED_P99_MS = 250.0


@dataclass(frozen=True)
class ModelFigures:
    """The bare model at one torch thread count: one sentence's encode latency, the best batched rate."""

    threads: int
    single_ms: float
    per_s: float
    best_batch: int


@dataclass(frozen=True)
class Load:
    """Requests answered in a run, their latencies in ms, errors, and the rate they were answered at."""

    latencies_ms: list[float]
    errors: int
    per_s: float

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


def measure_model(goals: Iterator[str], *, singles: int, rounds: int = 3) -> dict[int, ModelFigures]:
    """The model in this process at the service's thread count and at one per core (torch's default).

    Other processes only ever slow a measurement down, so each figure is the best of `rounds` rounds,
    interleaved so a busy spell of the machine does not land on one thread count alone.
    """
    embedder = SentenceTransformerEmbedder()
    sample = [next(goals) for _ in range(128)]
    counts = sorted({service_threads(), os.cpu_count() or 1})
    single_ms: dict[int, float] = {}
    rates: dict[tuple[int, int], float] = {}
    for _ in range(rounds):
        for threads in counts:
            torch.set_num_threads(threads)
            embedder.embed_batch(sample[:8])
            times = []
            for text in sample[:singles]:
                started = time.perf_counter()
                embedder.embed_batch([text])
                times.append((time.perf_counter() - started) * 1000)
            single_ms[threads] = min(single_ms.get(threads, float("inf")), percentile(times, 50))
            for size in BATCH_SIZES:
                started = time.perf_counter()
                for i in range(0, len(sample), size):
                    embedder.embed_batch(sample[i : i + size])
                rate = len(sample) / (time.perf_counter() - started)
                rates[threads, size] = max(rates.get((threads, size), 0.0), rate)
    figures = {}
    for threads in counts:
        best = max(BATCH_SIZES, key=lambda size: rates[threads, size])
        figures[threads] = ModelFigures(
            threads=threads, single_ms=single_ms[threads], per_s=rates[threads, best], best_batch=best
        )
    return figures


def service_threads() -> int:
    """The torch threads the server's model process uses, as `ModelProcess` resolves them."""
    return Settings().torch_threads or spare_cores()


async def closed_loop(http: httpx.AsyncClient, goals: Iterator[str], *, clients: int, seconds: float) -> Load:
    """`clients` callers, each sending its next classify as soon as the last is answered."""
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        while time.perf_counter() < end:
            started = time.perf_counter()
            try:
                answer = await http.post("/v1/classify", json={"goal": next(goals)})
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return Load(latencies_ms=latencies, errors=errors, per_s=len(latencies) / elapsed)


async def one_by_one(http: httpx.AsyncClient, goals: Sequence[str]) -> Load:
    """Each goal classified alone, one after the other."""
    latencies: list[float] = []
    errors = 0
    started_all = time.perf_counter()
    for goal in goals:
        started = time.perf_counter()
        answer = await http.post("/v1/classify", json={"goal": goal})
        if answer.status_code == 200:
            latencies.append((time.perf_counter() - started) * 1000)
        else:
            errors += 1
    return Load(
        latencies_ms=latencies, errors=errors, per_s=len(latencies) / (time.perf_counter() - started_all)
    )


async def batch_route(http: httpx.AsyncClient, goals: Iterator[str], *, rounds: int) -> Load | None:
    """`rounds` posts of a 100-goal `/v1/batch`; None when the server has no such route."""
    paths = (await http.get("/openapi.json")).json().get("paths", {})
    if "/v1/batch" not in paths:
        return None
    latencies: list[float] = []
    errors = 0
    rates = []
    for _ in range(rounds):
        items = [{"id": str(i), "op": "classify", "goal": next(goals)} for i in range(BATCH_ITEMS)]
        started = time.perf_counter()
        answer = await http.post("/v1/batch", json={"items": items})
        elapsed = time.perf_counter() - started
        failed = answer.status_code != 200 or any(row["status"] != "ok" for row in answer.json()["items"])
        errors += failed
        if not failed:
            latencies.append(elapsed * 1000)
            rates.append(BATCH_ITEMS / elapsed)
    return Load(latencies_ms=latencies, errors=errors, per_s=median(rates) if rates else 0.0)


@dataclass(frozen=True)
class ServiceFigures:
    """Everything measured over HTTP."""

    single: Load
    loads: dict[int, Load]
    batch: Load | None
    fresh_ms: float
    hit_ms: float
    cold_start_s: float
    peak_rss_mib: float
    parent_peak_rss_mib: float


async def measure_service(
    server: Server, goals: Iterator[str], *, singles: int, seconds: float
) -> ServiceFigures:
    """The service's figures, in the order the table prints them."""
    limits = httpx.Limits(
        max_connections=max(CONCURRENCY) * 2, max_keepalive_connections=max(CONCURRENCY) * 2
    )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:
        # Warm the connection and the server's first-call paths; these goals are not counted.
        await one_by_one(http, [next(goals) for _ in range(5)])
        single = await one_by_one(http, [next(goals) for _ in range(singles)])
        loads = {n: await closed_loop(http, goals, clients=n, seconds=seconds) for n in CONCURRENCY}
        batch = await batch_route(http, goals, rounds=3)
        repeated = [next(goals)] * 51
        hits = await one_by_one(http, repeated)
    errors = single.errors + hits.errors
    return ServiceFigures(
        single=Load(single.latencies_ms, errors, single.per_s),
        loads=loads,
        batch=batch,
        fresh_ms=single.p50,
        hit_ms=percentile(hits.latencies_ms[1:], 50),
        cold_start_s=server.cold_start_s,
        peak_rss_mib=tree_memory(server.pid).peak_mib,
        parent_peak_rss_mib=memory_of(server.pid).peak_mib,
    )


def _met(ok: bool) -> str:
    return "[green]yes[/green]" if ok else "[red]no[/red]"


def report(models: dict[int, ModelFigures], service: ServiceFigures) -> Table:
    """One table: each figure, what it is compared with, its target and whether it is met. The targets are
    judged against the model at its best thread count; the service's own thread count is shown beside."""
    table = Table(title="goal-rewriter service vs the bare model (embedded engine, loopback HTTP)")
    for column in ("measure", "figure", "relative", "target", "met"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    ours = models[service_threads()]
    floor = min(models.values(), key=lambda m: m.single_ms)
    best = max(models.values(), key=lambda m: m.per_s)
    limit = best.per_s
    for model in models.values():
        label = f"model, {model.threads} thread{'s' if model.threads > 1 else ''}"
        label += " (ours)" if model is ours else ""
        table.add_row(f"{label}: one sentence, p50", f"{model.single_ms:.1f} ms", "", "", "")
        table.add_row(
            f"{label}: best batch ({model.best_batch})",
            f"{model.per_s:.0f} /s",
            "the limit" if model is best else f"{model.per_s / limit:.0%} of limit",
            "",
            "",
        )
    single = service.single
    ratio = single.p50 / floor.single_ms
    table.add_row(
        "HTTP classify, one at a time: p50 / p99",
        f"{single.p50:.1f} / {single.p99:.1f} ms",
        f"{ratio:.2f}x encode ({single.p50 / ours.single_ms:.2f}x ours)",
        f"<= {MAX_SINGLE_RATIO}x",
        _met(ratio <= MAX_SINGLE_RATIO),
    )
    for clients, load in service.loads.items():
        share = load.per_s / limit
        loaded = clients == max(CONCURRENCY)
        table.add_row(
            f"HTTP classify, {clients} concurrent clients",
            f"{load.per_s:.0f} /s",
            f"{share:.0%} of limit ({load.per_s / ours.per_s:.0%} of ours)",
            f">= {MIN_LOADED_SHARE:.0%}" if loaded else "",
            _met(share >= MIN_LOADED_SHARE) if loaded else "",
        )
        table.add_row(
            "    p50 / p99, errors",
            f"{load.p50:.0f} / {load.p99:.0f} ms",
            f"{load.errors} errors",
            f"p99 <= {MAX_LOADED_P99_MS:.0f} ms, 0 errors" if loaded else "0 errors",
            _met(load.p99 <= MAX_LOADED_P99_MS and not load.errors) if loaded else _met(not load.errors),
        )
    if service.batch is None:
        table.add_row(f"/v1/batch of {BATCH_ITEMS} goals", "n/a", "no such route", "", "")
    else:
        batch = service.batch
        table.add_row(
            f"/v1/batch of {BATCH_ITEMS} goals (median of 3)",
            f"{batch.per_s:.0f} goals/s",
            f"{batch.per_s / limit:.0%} of limit",
            "0 errors",
            _met(not batch.errors),
        )
    table.add_row(
        "repeated goal (cache hit) vs fresh, p50",
        f"{service.hit_ms:.1f} vs {service.fresh_ms:.1f} ms",
        f"{service.hit_ms / service.fresh_ms:.2f}x",
        "",
        "",
    )
    table.add_row("single-request errors", str(single.errors), "", "0", _met(not single.errors))
    table.add_row("cold start to /readyz 200", f"{service.cold_start_s:.1f} s", "", "", "")
    table.add_row(
        "peak RSS (VmHWM), server + model process",
        f"{service.peak_rss_mib:.0f} MiB",
        f"server {service.parent_peak_rss_mib:.0f} MiB",
        "",
        "",
    )
    return table


def main(argv: Sequence[str] | None = None) -> None:
    """Measure the model, then the service, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each concurrency level")
    parser.add_argument("--singles", type=int, default=100, help="requests for the one-at-a-time latency")
    options = parser.parse_args(argv)
    console = Console(width=None if Console().is_terminal else 140)
    goals = distinct_goals()
    load_before = os.getloadavg()[0]
    with console.status("measuring the bare model"):
        models = measure_model(goals, singles=options.singles)
        # The bench's copy of the model is dropped before the server starts: never both in memory at once.
        gc.collect()
    with console.status("starting the server and measuring it over HTTP"), served() as server:
        service = asyncio.run(
            measure_service(server, goals, singles=options.singles, seconds=options.seconds)
        )
    console.print(report(models, service))
    # Other processes' load changes every figure on a small machine; it is printed so runs can be compared.
    console.print(
        f"CPU cores: {os.cpu_count()}; load average (1 min) before: {load_before:.2f}, "
        f"after: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
