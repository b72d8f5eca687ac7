"""`goal-rewriter eval`: run the engine over a labelled set with a progress bar, write the run, gate it."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from evals.cache import CachedLLM
from evals.dataset import GOALS_PATH, load_goals
from evals.judge import Judge
from evals.report import compare, write_run
from evals.review import read_sheet, write_sheet
from evals.runner import EvalItem, ResultRow, load_items, run_items
from evals.summary import RunMetrics, gate, load_thresholds, summarize
from service.config import Settings
from service.engine import Engine, build_engine, load_embedded_classifier, openai_llm
from service.errors import ConfigError
from service.labelled import Split, in_split
from service.llm.breaker import CircuitBreaker
from service.llm.prompts import load_prompt
from service.llm.structured import StructuredLLM


def _items(data: Path | None) -> tuple[list[EvalItem], str]:
    if data is not None:
        return load_items(data), str(data)
    rows = in_split(load_goals(), Split.TEST)
    items = [
        EvalItem(text=r.text, label=r.label, references=r.references, family=r.family, id=r.id) for r in rows
    ]
    return items, f"{GOALS_PATH.name} (test split)"


def _engine(settings: Settings, mode: str, *, cache: Path, refresh: bool) -> tuple[Engine, Settings]:
    if mode == "embedded":
        settings = settings.model_copy(update={"llm_base_url": None})
        return build_engine(settings, classifier=load_embedded_classifier(settings), llm=None), settings
    llm, base_url = openai_llm(settings), settings.llm_base_url
    if llm is None or base_url is None:
        raise ConfigError(
            f"--engine {mode} needs an LLM: set GOAL_LLM_BASE_URL (and GOAL_LLM_MODEL, GOAL_LLM_API_KEY)"
        )
    if mode == "llm":
        settings = settings.model_copy(update={"cascade_threshold": 1.0})
    cached = CachedLLM(llm, base_url=base_url, folder=cache, refresh=refresh)
    return build_engine(settings, classifier=load_embedded_classifier(settings), llm=cached), settings


def _config(settings: Settings, mode: str, source: str, items: list[EvalItem], repeat: int) -> dict[str, str]:
    digest = hashlib.sha256("\n".join(f"{i.text}\t{i.label.value}" for i in items).encode()).hexdigest()[:12]
    prompts = ", ".join(
        f"{name} v{load_prompt(settings.prompts_dir, name).header.version}"
        for name in ("classify", "rewrite")
    )
    return {
        "engine": mode,
        "model": settings.llm_model if mode != "embedded" else "-",
        "prompts": prompts if mode != "embedded" else "-",
        "dataset": source,
        "dataset_sha256": digest,
        "cascade_threshold": str(settings.cascade_threshold),
        "repeat": str(repeat),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(options: argparse.Namespace, settings: Settings) -> int:
    """Run, write the files, print the headline; with --gate, exit 1 when a metric is under its floor."""
    items, source = _items(options.data)
    engine, settings = _engine(settings, options.engine, cache=options.cache_dir, refresh=options.no_cache)
    judge = _judge(settings, cache=options.cache_dir, refresh=options.no_cache) if options.judge else None
    rows = _run_with_progress("eval", engine, items, options.repeat, judge)
    metrics = summarize(
        rows,
        config=_config(settings, options.engine, source, items, options.repeat),
        usd_per_million=tuple(options.usd_per_million),
    )
    if options.review is not None:
        metrics = metrics.model_copy(update={"review": read_sheet(options.review)})
    write_run(options.out, rows, metrics)
    c, r = metrics.classification, metrics.rewrite
    print(
        f"{metrics.n} goals, {metrics.errors} errors: macro-F1 {c.macro_f1:.3f}, accuracy {c.accuracy:.3f}, "
        f"top rewrite mastery {r.top_is_mastery:.1%}, intent {r.intent:.3f} -> {options.out}/report.html"
    )
    if options.gate is None:
        return 0
    failures = gate(metrics, load_thresholds(options.gate))
    for failure in failures:
        print(f"eval gate: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _run_with_progress(
    label: str, engine: Engine, items: list[EvalItem], repeat: int, judge: Judge | None
) -> list[ResultRow]:
    """Every goal `repeat` times, with a progress bar named `label`; the engine is closed afterwards."""
    columns = (TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("goals", total=len(items) * repeat)
        return asyncio.run(_run(engine, items, repeat, partial(progress.advance, task), judge))


async def _run(
    engine: Engine, items: list[EvalItem], repeat: int, advance: Callable[[], None], judge: Judge | None
) -> list[ResultRow]:
    try:
        return await run_items(engine, items, repeat=repeat, on_done=advance, judge=judge)
    finally:
        await engine.aclose()


def write_review(options: argparse.Namespace, settings: Settings) -> int:
    """Run each engine over the goals and write a blind review sheet of their top rewrites."""
    items, _ = _items(options.data)
    runs: dict[str, list[ResultRow]] = {}
    for mode in options.engines:
        engine, _ = _engine(settings, mode, cache=options.cache_dir, refresh=options.no_cache)
        runs[mode] = _run_with_progress(mode, engine, items, 1, None)
    count = write_sheet(runs, options.out, seed=options.seed)
    print(
        f"{count} rows -> {options.out}/sheet.csv (grade each: use as written / use after edits / would not "
        f"use), {options.out}/sheet.html to read; then `goal-rewriter eval --review {options.out}`"
    )
    return 0


def _judge(settings: Settings, *, cache: Path, refresh: bool) -> Judge:
    llm, base_url = openai_llm(settings), settings.llm_base_url
    if llm is None or base_url is None:
        raise ConfigError(
            "--judge needs an LLM: set GOAL_LLM_BASE_URL (and GOAL_LLM_MODEL, GOAL_LLM_API_KEY)"
        )
    cached = CachedLLM(llm, base_url=base_url, folder=cache, refresh=refresh)
    breaker = CircuitBreaker(
        failures=settings.llm_breaker_failures, cooldown_s=settings.llm_breaker_cooldown_s
    )
    return Judge(StructuredLLM(llm=cached, settings=settings, breaker=breaker), settings.prompts_dir)


def _load_run(folder: Path) -> tuple[RunMetrics, list[ResultRow]]:
    metrics = RunMetrics.model_validate_json((folder / "metrics.json").read_text(encoding="utf-8"))
    lines = (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return metrics, [ResultRow.model_validate(json.loads(line)) for line in lines if line]


def compare_runs(a: Path, b: Path) -> str:
    """The compare report for two run folders."""
    return compare(_load_run(a), _load_run(b))
