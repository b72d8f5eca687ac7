"""Aggregates result rows into metrics, checks them against thresholds, and compares two runs."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from evals.judge import JudgeMetrics, judge_metrics
from evals.kind_metrics import ClassificationMetrics, classification_metrics
from evals.review import ReviewMetrics
from evals.runner import ResultRow
from service.taxonomy import Kind


class RewriteMetrics(BaseModel):
    """Means over the top rewrite of each outcome and performance goal (diversity over all its rewrites)."""

    n: int
    top_is_mastery: float = Field(
        description="Share whose top rewrite the classifier calls mastery (>= 0.5)."
    )
    controllability: float
    rules_passed: float
    fluency: float = Field(description="Share of all rewrites with no slot-grammar fault.")
    relevance: float | None = Field(
        description="Share whose top rewrite moves a lever one of the goal's reference rewrites moves."
    )
    intent: float = Field(description="Similarity to the goal's wording: copying the goal raises it.")
    reference_intent: float | None
    reference_top1: float | None = Field(description="Share closest to their own goal's references.")
    specificity: float
    diversity: float | None
    schema_valid: float = Field(description="Share of answers with rewrites whose rewrites are all complete.")


class RunCost(BaseModel):
    """What the run spent."""

    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    estimated_usd: float
    latency_p50_ms: float
    latency_p95_ms: float


class RunMetrics(BaseModel):
    """Everything `metrics.json` holds."""

    config: dict[str, str]
    n: int
    errors: int
    classification: ClassificationMetrics
    llm_share: float = Field(description="Share of goals whose kind the LLM decided.")
    degraded_share: float
    rewrite: RewriteMetrics
    cost: RunCost
    flaky_share: float | None = Field(default=None, description="With --repeat: share whose label changed.")
    judge: JudgeMetrics | None = Field(default=None, description="With --judge: the LLM judge's ratings.")
    review: dict[str, ReviewMetrics] | None = Field(
        default=None, description="With --review: a graded blind review sheet's figures, per engine."
    )


def _mean(values: Sequence[float]) -> float:
    return round(statistics.fmean(values), 4) if values else 0.0


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def rewrite_metrics(rows: Sequence[ResultRow]) -> RewriteMetrics:
    """Rewrite metrics over rows that should have rewrites (labelled outcome or performance)."""
    targets = [r for r in rows if r.error is None and r.label is not Kind.MASTERY]
    tops = [r.rewrites[0] for r in targets if r.rewrites]
    ranked = [r.reference_rank for r in targets if r.reference_rank is not None]
    ref_intents = [r.reference_intent for r in targets if r.reference_intent is not None]
    diversities = [r.diversity for r in targets if r.diversity is not None]
    every = [w for r in targets for w in r.rewrites]
    relevances = [r.relevance for r in targets if r.relevance is not None]
    return RewriteMetrics(
        n=len(targets),
        top_is_mastery=round(sum(t.controllability >= 0.5 for t in tops) / len(targets), 4)
        if targets
        else 0.0,
        controllability=_mean([t.controllability for t in tops]),
        rules_passed=_mean([t.rules_passed for t in tops]),
        fluency=_mean([float(not w.fluency_faults) for w in every]) if every else 1.0,
        relevance=_mean(relevances) if relevances else None,
        intent=_mean([t.intent for t in tops]),
        reference_intent=_mean(ref_intents) if ref_intents else None,
        reference_top1=round(sum(rank == 1 for rank in ranked) / len(ranked), 4) if ranked else None,
        specificity=_mean([t.specificity for t in tops]),
        diversity=_mean(diversities) if diversities else None,
        schema_valid=_mean([float(all(w.complete for w in r.rewrites)) for r in targets if r.rewrites]),
    )


def summarize(
    rows: Sequence[ResultRow], *, config: dict[str, str], usd_per_million: tuple[float, float]
) -> RunMetrics:
    """Metrics of a run; repeats beyond the first only feed the flakiness figure."""
    first = [r for r in rows if r.repeat == 0]
    done = [r for r in first if r.error is None and r.predicted is not None]
    classification = classification_metrics(
        [r.label for r in done],
        [r.predicted for r in done if r.predicted is not None],
        [r.confidence or 0.0 for r in done],
        [r.contested for r in done],
    )
    prompt, completion = sum(r.prompt_tokens for r in rows), sum(r.completion_tokens for r in rows)
    latencies = [r.latency_ms for r in first]
    flaky = None
    if any(r.repeat > 0 for r in rows):
        labels: dict[str, set[Kind | None]] = {}
        for r in rows:
            labels.setdefault(r.id, set()).add(r.predicted)
        flaky = round(sum(len(v) > 1 for v in labels.values()) / len(labels), 4)
    return RunMetrics(
        config=config,
        n=len(first),
        errors=sum(r.error is not None for r in first),
        classification=classification,
        llm_share=round(sum(r.classified_by == "llm" for r in done) / len(done), 4) if done else 0.0,
        degraded_share=round(sum(r.degraded_reason is not None for r in done) / len(done), 4)
        if done
        else 0.0,
        rewrite=rewrite_metrics(first),
        cost=RunCost(
            llm_calls=sum(r.llm_calls for r in rows),
            prompt_tokens=prompt,
            completion_tokens=completion,
            estimated_usd=round((prompt * usd_per_million[0] + completion * usd_per_million[1]) / 1e6, 4),
            latency_p50_ms=_percentile(latencies, 0.5),
            latency_p95_ms=_percentile(latencies, 0.95),
        ),
        flaky_share=flaky,
        judge=judge_metrics([r.label for r in done], [r.judge for r in done])
        if any(r.judge or r.judge_error for r in done)
        else None,
    )


def metric_value(metrics: RunMetrics, dotted: str) -> float | None:
    """A metric by its dotted name, e.g. 'classification.macro_f1' or 'rewrite.top_is_mastery'."""
    node: object = metrics.model_dump()
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"no metric {dotted!r}")
        node = node[part]
    return float(node) if isinstance(node, int | float) else None


def gate(metrics: RunMetrics, thresholds: dict[str, float]) -> list[str]:
    """One line per metric under its floor, saying by how much; empty when the run passes."""
    failures = []
    for name, floor in thresholds.items():
        value = metric_value(metrics, name)
        if value is None or value < floor:
            shown = "missing" if value is None else f"{value:.4f}"
            short = "" if value is None else f", short by {floor - value:.4f}"
            failures.append(f"{name} is {shown}, under its threshold {floor:.4f}{short}")
    return failures


def load_thresholds(path: Path) -> dict[str, float]:
    """The checked-in floors: a JSON object of dotted metric name to minimum."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): float(v) for k, v in data.items() if not str(k).startswith("_")}
