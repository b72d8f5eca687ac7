"""Runs the service's own engine over a labelled JSONL file and records one result row per goal."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from evals.judge import Judge, JudgeVerdict
from service.engine import Engine
from service.errors import GoalRewriterError
from service.labelled import CONTESTED
from service.model.embeddings import Embedder
from service.playbook import Playbook
from service.schemas import (
    RewriteContext,
    RewriteRequest,
    RewriteResponse,
    goal_problems,
    goal_text_adapter,
)
from service.scoring import lever_agreement
from service.taxonomy import Kind


class EvalItem(BaseModel):
    """One line of an eval set: `text` and `label` are required, the rest optional."""

    text: str
    label: Kind
    references: list[str] = Field(default_factory=list)
    family: str = "unknown"
    id: str | None = None
    role: str | None = Field(default=None, description="The person's job, sent as context.role.")
    tags: list[str] = Field(default_factory=list)


class RewriteResult(BaseModel):
    """One rewrite as the run saw it."""

    text: str
    engine: str
    controllability: float
    rules_passed: float
    intent: float
    specificity: float
    overall: float
    complete: bool = Field(description="Text, progress measure and cadence all filled in.")
    fluency_faults: list[str] = Field(default_factory=list, description="Slot-grammar faults; none: fluent.")


class ResultRow(BaseModel):
    """What happened to one goal in one repeat."""

    id: str
    repeat: int = 0
    text: str
    role: str | None = None
    family: str
    label: Kind
    contested: bool = Field(default=False, description="A win, rank or selection (LABELLING.md).")
    predicted: Kind | None = None
    confidence: float | None = None
    classified_by: str | None = None
    rewritten_by: str | None = None
    degraded_reason: str | None = None
    rewrites: list[RewriteResult] = Field(default_factory=list)
    reference_intent: float | None = Field(
        default=None, description="Top rewrite's best similarity to a reference."
    )
    reference_rank: int | None = Field(
        default=None, description="1 when the top rewrite is closest to its own goal's references."
    )
    diversity: float | None = Field(default=None, description="1 - mean pairwise similarity of the rewrites.")
    relevance: float | None = Field(
        default=None, description="1 when the top rewrite moves a lever one of the goal's references moves."
    )
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    error: str | None = None
    judge: JudgeVerdict | None = None
    judge_error: str | None = None


def load_items(path: Path) -> list[EvalItem]:
    """Read an eval JSONL file, naming the first bad line."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = EvalItem.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}:{number}: needs at least 'text' and 'label' ({exc})") from exc
        items.append(item if item.id else item.model_copy(update={"id": f"line-{number}"}))
    return items


class ReferenceIndex:
    """The embedded references of every goal that has them, for the reference-rank check."""

    def __init__(self, embedder: Embedder, items: Sequence[EvalItem]) -> None:
        self._embedder = embedder
        self._owners: list[str] = []
        texts: list[str] = []
        for item in items:
            for reference in item.references:
                self._owners.append(item.id or "")
                texts.append(reference)
        self._vectors = embedder.embed_batch(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    def judge(self, goal_id: str, rewrite: str) -> tuple[float, int] | None:
        """(best similarity to the goal's own references, rank of the goal among all by that similarity)."""
        if goal_id not in self._owners:
            return None
        sims = self._vectors @ self._embedder.embed_batch([rewrite])[0]
        best: dict[str, float] = {}
        for owner, sim in zip(self._owners, sims, strict=True):
            best[owner] = max(best.get(owner, -1.0), float(sim))
        own = best[goal_id]
        return own, 1 + sum(score > own for owner, score in best.items() if owner != goal_id)


def _diversity(embedder: Embedder, texts: Sequence[str]) -> float | None:
    if len(texts) < 2:
        return None
    vectors = embedder.embed_batch(texts)
    pairs = [float(vectors[i] @ vectors[j]) for i, j in combinations(range(len(texts)), 2)]
    return round(1 - sum(pairs) / len(pairs), 4)


def _row(
    item: EvalItem,
    repeat: int,
    answer: RewriteResponse,
    elapsed: float,
    refs: ReferenceIndex,
    embedder: Embedder,
    playbook: Playbook,
) -> ResultRow:
    traces = [t for t in (answer.classification.llm, answer.llm) if t is not None]
    rewrites = [
        RewriteResult(
            text=r.text,
            engine=r.engine,
            controllability=r.scores.controllability,
            rules_passed=r.scores.rules_passed,
            intent=r.scores.intent,
            specificity=r.scores.specificity,
            overall=r.scores.overall,
            complete=bool(r.text.strip() and r.progress_measure.strip() and r.cadence.strip()),
            fluency_faults=r.scores.fluency_faults,
        )
        for r in answer.rewrites
    ]
    judged = refs.judge(item.id or "", rewrites[0].text) if rewrites else None
    relevance = None
    if rewrites and item.references:
        top, *references = playbook.levers_of([rewrites[0].text, *item.references])
        relevance = lever_agreement(top, references)
    return ResultRow(
        id=item.id or "",
        repeat=repeat,
        text=item.text,
        role=item.role,
        family=item.family,
        label=item.label,
        contested=CONTESTED in item.tags,
        predicted=answer.classification.kind,
        confidence=answer.classification.confidence,
        classified_by=answer.classification.engine,
        rewritten_by=answer.engine if rewrites else None,
        degraded_reason=answer.degraded_reason or answer.classification.degraded_reason,
        rewrites=rewrites,
        reference_intent=round(judged[0], 4) if judged else None,
        reference_rank=judged[1] if judged else None,
        diversity=_diversity(embedder, [r.text for r in rewrites]),
        relevance=relevance,
        latency_ms=round(elapsed * 1000, 1),
        prompt_tokens=sum(t.usage.prompt_tokens for t in traces),
        completion_tokens=sum(t.usage.completion_tokens for t in traces),
        llm_calls=sum(t.usage.calls for t in traces),
    )


# What the judge is shown when the service wrote no rewrite because it found the goal controllable already.
NO_REWRITE = "(no rewrite: the service judged the goal already controllable)"


async def _judged(judge: Judge, row: ResultRow) -> ResultRow:
    verdict, usage, error = await judge.verdict(
        row.text, row.rewrites[0].text if row.rewrites else NO_REWRITE
    )
    return row.model_copy(
        update={
            "judge": verdict,
            "judge_error": error,
            "prompt_tokens": row.prompt_tokens + usage.prompt_tokens,
            "completion_tokens": row.completion_tokens + usage.completion_tokens,
            "llm_calls": row.llm_calls + usage.calls,
        }
    )


def _error_row(item: EvalItem, repeat: int, error: str, started: float) -> ResultRow:
    return ResultRow(
        id=item.id or "",
        repeat=repeat,
        text=item.text,
        family=item.family,
        label=item.label,
        error=error[:300],
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def run_items(
    engine: Engine,
    items: Sequence[EvalItem],
    *,
    repeat: int = 1,
    on_done: Callable[[], None] = lambda: None,
    judge: Judge | None = None,
) -> list[ResultRow]:
    """Rewrite (and so classify) every goal `repeat` times; a goal that fails becomes an error row."""
    embedder = engine.classifier.embedder
    refs = ReferenceIndex(embedder, items)
    rows: list[ResultRow] = []
    for round_ in range(repeat):
        for item in items:
            started = time.perf_counter()
            try:
                goal = goal_text_adapter.validate_python(item.text)
                context = RewriteContext(role=item.role) if item.role else None
                answer = await engine.rewriter.rewrite(RewriteRequest(goal=goal, context=context))
                row = _row(
                    item,
                    round_,
                    answer,
                    time.perf_counter() - started,
                    refs,
                    embedder,
                    engine.rewriter.playbook,
                )
                rows.append(await _judged(judge, row) if judge is not None else row)
            except ValidationError as exc:
                rows.append(_error_row(item, round_, f"invalid goal: {goal_problems(exc)}", started))
            except GoalRewriterError as exc:
                rows.append(_error_row(item, round_, f"{type(exc).__name__}: {exc}", started))
            on_done()
    return rows
