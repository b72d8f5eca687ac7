"""Benchmark of the classification cascade: share sent to the LLM and macro-F1 per threshold.

The LLM is a stand-in that answers with the gold label after a fixed delay, so the figures measure the
cascade (how often it asks, what that is worth at best, what it costs in time), not a model.
Run: `make bench-cascade` (or `python -m evals.bench_cascade --split dev`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import Sequence

from evals.dataset import load_goals
from evals.kind_metrics import classification_metrics
from service.cascade import Cascade
from service.classifier import Classifier
from service.config import Settings, get_settings
from service.engine import load_embedded_classifier
from service.labelled import LabelledGoal, Split, in_split
from service.llm.breaker import CircuitBreaker
from service.llm.client import ChatReply, ChatRequest, FunctionLLM
from service.llm.examples import ExampleIndex
from service.llm.structured import StructuredLLM

THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
_GOAL = re.compile(r"<goal>(.*)</goal>", re.DOTALL)


def gold_llm(rows: Sequence[LabelledGoal], delay_s: float) -> FunctionLLM:
    """An LLM stand-in that knows the labels and takes `delay_s` to say them."""
    gold = {row.text: row.label.value for row in rows}

    async def answer(request: ChatRequest) -> ChatReply:
        await asyncio.sleep(delay_s)
        match = _GOAL.search(request.messages[-1].content)
        goal = json.loads(match.group(1)) if match else ""
        return ChatReply(content=json.dumps({"reason": "gold label", "kind": gold[goal]}))

    return FunctionLLM(answer, model="gold-label-stand-in")


async def run_threshold(
    *,
    classifier: Classifier,
    examples: ExampleIndex,
    rows: Sequence[LabelledGoal],
    threshold: float,
    delay_s: float,
) -> tuple[float, float, float]:
    """(share sent to the LLM, macro-F1, mean seconds per goal) at one threshold."""
    settings = get_settings().model_copy(
        update={"cascade_threshold": threshold, "llm_base_url": "http://stand-in"}
    )
    llm = gold_llm(rows, delay_s)
    cascade = Cascade(
        classifier=classifier,
        settings=settings,
        llm=StructuredLLM(llm=llm, settings=settings, breaker=CircuitBreaker(failures=1000, cooldown_s=1)),
        examples=examples,
    )
    started = time.perf_counter()
    answers = [await cascade.classify(row.text) for row in rows]
    elapsed = time.perf_counter() - started
    sent = sum(a.engine == "llm" for a in answers) / len(rows)
    f1 = classification_metrics([r.label for r in rows], [a.kind for a in answers]).macro_f1
    return sent, f1, elapsed / len(rows)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table for one split."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--delay-ms", type=float, default=300.0, help="stand-in LLM latency per call")
    options = parser.parse_args(argv)
    settings: Settings = get_settings()
    rows = in_split(load_goals(), Split(options.split))
    classifier = load_embedded_classifier(settings)
    examples = ExampleIndex.from_package(classifier.embedder)
    print(
        f"cascade on the {options.split} split (n={len(rows)}), stand-in LLM with the gold label after "
        f"{options.delay_ms:.0f} ms; default threshold {settings.cascade_threshold}"
    )
    print(f"{'threshold':>9}  {'sent to LLM':>11}  {'macro-F1':>8}  {'ms/goal':>8}")
    for threshold in THRESHOLDS:
        sent, f1, seconds = asyncio.run(
            run_threshold(
                classifier=classifier,
                examples=examples,
                rows=rows,
                threshold=threshold,
                delay_s=options.delay_ms / 1000,
            )
        )
        marker = "  <- default" if threshold == settings.cascade_threshold else ""
        print(f"{threshold:>9.2f}  {sent:>10.1%}  {f1:>8.3f}  {seconds * 1000:>8.1f}{marker}")


if __name__ == "__main__":
    main()
