"""Writes a run's files: results.jsonl, metrics.json, report.md and a self-contained report.html."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path

from evals.kind_metrics import classification_metrics
from evals.runner import ResultRow
from evals.summary import RunMetrics
from service.taxonomy import KIND_ORDER

_CSS = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1a1a1a;padding:0 1rem}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #bbb;padding:.3rem .6rem;text-align:right}"
    "th:first-child,td:first-child{text-align:left}h1,h2{line-height:1.2}.bad{color:#a00000}small{color:#555}"
)


def write_run(folder: Path, rows: Sequence[ResultRow], metrics: RunMetrics) -> None:
    """Write every file of a run into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "results.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(row.model_dump_json() + "\n")
    (folder / "metrics.json").write_text(metrics.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(markdown(rows, metrics), encoding="utf-8")
    (folder / "report.html").write_text(html(rows, metrics), encoding="utf-8")


def _headline(metrics: RunMetrics) -> list[tuple[str, str]]:
    c, r, cost = metrics.classification, metrics.rewrite, metrics.cost
    return [
        ("goals", str(metrics.n)),
        ("errors", str(metrics.errors)),
        ("macro-F1", f"{c.macro_f1:.3f}"),
        (
            "macro-F1, wins, ranks and selections counted either way",
            f"{c.macro_f1_contested_either_way:.3f}" if c.macro_f1_contested_either_way is not None else "-",
        ),
        ("accuracy", f"{c.accuracy:.3f}"),
        ("calibration error (ECE)", f"{c.ece:.3f}" if c.ece is not None else "-"),
        ("share decided by the LLM", f"{metrics.llm_share:.1%}"),
        ("share degraded", f"{metrics.degraded_share:.1%}"),
        ("top rewrite judged mastery", f"{r.top_is_mastery:.1%}"),
        ("controllability (classifier)", f"{r.controllability:.3f}"),
        ("controllability (rules passed)", f"{r.rules_passed:.3f}"),
        ("fluency: rewrites with no slot-grammar fault", f"{r.fluency:.1%}"),
        (
            "relevance: top rewrite on a lever of its references",
            f"{r.relevance:.1%}" if r.relevance is not None else "-",
        ),
        ("intent: similarity to the goal (rises when its words are copied)", f"{r.intent:.3f}"),
        ("intent: similarity to its references", f"{r.reference_intent:.3f}" if r.reference_intent else "-"),
        ("closest to its own references", f"{r.reference_top1:.1%}" if r.reference_top1 is not None else "-"),
        ("specificity", f"{r.specificity:.3f}"),
        ("diversity of candidates", f"{r.diversity:.3f}" if r.diversity is not None else "-"),
        ("schema valid", f"{r.schema_valid:.1%}"),
        ("flaky across repeats", f"{metrics.flaky_share:.1%}" if metrics.flaky_share is not None else "-"),
        (
            "LLM calls / tokens in / out",
            f"{cost.llm_calls} / {cost.prompt_tokens} / {cost.completion_tokens}",
        ),
        ("estimated cost (USD)", f"{cost.estimated_usd:.4f}"),
        ("latency p50 / p95 (ms)", f"{cost.latency_p50_ms:.0f} / {cost.latency_p95_ms:.0f}"),
        *_judge_lines(metrics),
        *_review_lines(metrics),
    ]


def _review_lines(metrics: RunMetrics) -> list[tuple[str, str]]:
    return [
        (
            f"blind review, {engine} (n={review.n}): as written / after edits / would not use",
            f"{review.use_as_written:.1%} / {review.use_after_edits:.1%} / {review.would_not_use:.1%}",
        )
        for engine, review in sorted((metrics.review or {}).items())
    ]


def _judge_lines(metrics: RunMetrics) -> list[tuple[str, str]]:
    judge = metrics.judge
    if judge is None:
        return []
    return [
        (
            "LLM judge: agreement with human labels",
            f"{judge.agreement_with_labels:.1%} (n={judge.n}, {judge.errors} errors)",
        ),
        ("LLM judge: mean score (1-5)", f"{judge.mean_score:.2f}"),
        ("LLM judge: controllable / specific", f"{judge.controllable:.1%} / {judge.specific:.1%}"),
        (
            "LLM judge: serves the goal / restates its target",
            f"{judge.serves_goal:.1%} / {judge.restates_target:.1%}",
        ),
    ]


def _families(rows: Sequence[ResultRow]) -> list[tuple[str, int, float, float]]:
    """(family, n, macro-F1, mean top overall) per family."""
    groups: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        if row.repeat == 0 and row.predicted is not None:
            groups[row.family].append(row)
    out = []
    for family, members in sorted(groups.items()):
        f1 = classification_metrics(
            [m.label for m in members], [m.predicted for m in members if m.predicted]
        ).macro_f1
        tops = [m.rewrites[0].overall for m in members if m.rewrites]
        out.append((family, len(members), f1, sum(tops) / len(tops) if tops else 0.0))
    return out


def worst(rows: Sequence[ResultRow], k: int = 10) -> list[ResultRow]:
    """Errors and misclassified goals first, then the weakest top rewrites."""
    first = [r for r in rows if r.repeat == 0]

    def badness(row: ResultRow) -> tuple[int, float]:
        wrong = row.error is not None or row.predicted != row.label
        return (0 if wrong else 1, row.rewrites[0].overall if row.rewrites else 0.0)

    return sorted(first, key=badness)[:k]


def markdown(rows: Sequence[ResultRow], metrics: RunMetrics) -> str:
    """The report as Markdown."""
    lines = ["# goal-rewriter eval", "", " · ".join(f"{k}: `{v}`" for k, v in metrics.config.items()), ""]
    lines += ["| metric | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in _headline(metrics)), ""]
    lines += [
        "## Confusion matrix (rows: label, columns: predicted)",
        "",
        "| | " + " | ".join(k.value for k in KIND_ORDER) + " |",
    ]
    lines += ["|---" * (len(KIND_ORDER) + 1) + "|"]
    for kind, counts in zip(KIND_ORDER, metrics.classification.confusion, strict=True):
        lines.append(f"| {kind.value} | " + " | ".join(str(c) for c in counts) + " |")
    lines += ["", "## Per family", "", "| family | n | macro-F1 | top rewrite overall |", "|---|---|---|---|"]
    lines += [f"| {f} | {n} | {f1:.3f} | {o:.3f} |" for f, n, f1, o in _families(rows)]
    lines += ["", "## Worst cases", ""]
    for row in worst(rows):
        verdict = (
            row.error or f"label {row.label.value}, predicted {row.predicted.value if row.predicted else '-'}"
        )
        lines.append(f"- **{row.text}** ({verdict})")
        lines += [f"  - {w.text} _(overall {w.overall:.2f}, {w.engine})_" for w in row.rewrites]
    return "\n".join(lines) + "\n"


def _confusion_svg(confusion: list[list[int]]) -> str:
    cell, left, top = 100, 110, 60
    peak = max(max(r) for r in confusion) or 1
    parts = [
        f'<svg width="{left + cell * 3 + 10}" height="{top + cell * 3 + 10}" role="img" aria-label="confusion matrix">'
    ]
    parts.append('<text x="8" y="16">rows: labelled kind · columns: predicted kind</text>')
    for i, kind in enumerate(KIND_ORDER):
        parts.append(
            f'<text x="{left - 8}" y="{top + cell * i + cell / 2 + 5}" text-anchor="end">{kind.value}</text>'
        )
        parts.append(
            f'<text x="{left + cell * i + cell / 2}" y="{top - 10}" text-anchor="middle">{kind.value}</text>'
        )
        for j, count in enumerate(confusion[i]):
            shade = int(255 - 190 * count / peak)
            fill = f"rgb({shade},{shade},255)" if i == j else f"rgb(255,{shade},{shade})"
            parts.append(
                f'<rect x="{left + cell * j}" y="{top + cell * i}" width="{cell}" height="{cell}" fill="{fill}" stroke="#666"/>'
            )
            parts.append(
                f'<text x="{left + cell * j + cell / 2}" y="{top + cell * i + cell / 2 + 5}" text-anchor="middle">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _histogram_svg(title: str, values: Sequence[float]) -> str:
    bins = [0] * 10
    for v in values:
        bins[min(9, max(0, int(v * 10)))] += 1
    peak = max(bins) or 1
    width, height = 300, 140
    # Bars fill y 35..110, so the count above the tallest stays clear of the title.
    bars = "".join(
        f'<rect x="{10 + i * 28}" y="{110 - 75 * b / peak:.1f}" width="24" height="{75 * b / peak:.1f}" fill="#3a6ea5"/>'
        f'<text x="{22 + i * 28}" y="{106 - 75 * b / peak:.1f}" font-size="10" text-anchor="middle">{b or ""}</text>'
        for i, b in enumerate(bins)
    )
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f'<text x="10" y="14" font-size="12">{escape(title)}</text>{bars}'
        f'<text x="10" y="128" font-size="10">0</text><text x="290" y="128" font-size="10" text-anchor="end">1</text></svg>'
    )


def html(rows: Sequence[ResultRow], metrics: RunMetrics) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched)."""
    first = [r for r in rows if r.repeat == 0]
    tops = [r.rewrites[0] for r in first if r.rewrites and r.label.value != "mastery"]
    plots = "".join(
        _histogram_svg(title, values)
        for title, values in (
            ("top rewrite: controllability", [t.controllability for t in tops]),
            ("top rewrite: intent (similarity to goal)", [t.intent for t in tops]),
            ("top rewrite: specificity", [t.specificity for t in tops]),
            ("classification confidence", [r.confidence for r in first if r.confidence is not None]),
        )
    )
    config = " · ".join(f"{escape(k)}: <code>{escape(v)}</code>" for k, v in metrics.config.items())
    headline = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in _headline(metrics))
    families = "".join(
        f"<tr><td>{escape(f)}</td><td>{n}</td><td>{f1:.3f}</td><td>{o:.3f}</td></tr>"
        for f, n, f1, o in _families(rows)
    )
    cases = []
    for row in worst(rows):
        verdict = (
            row.error or f"label {row.label.value}, predicted {row.predicted.value if row.predicted else '-'}"
        )
        items = "".join(
            f"<li>{escape(w.text)} <small>(overall {w.overall:.2f}, {escape(w.engine)})</small></li>"
            for w in row.rewrites
        )
        cls = ' class="bad"' if row.error or row.predicted != row.label else ""
        cases.append(
            f"<li><strong>{escape(row.text)}</strong> <span{cls}>({escape(verdict)})</span><ul>{items}</ul></li>"
        )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>goal-rewriter eval</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body>'
        f"<h1>goal-rewriter eval</h1><p>{config}</p><table>{headline}</table>"
        f"<h2>Confusion matrix</h2>{_confusion_svg(metrics.classification.confusion)}"
        f"<h2>Score distributions</h2><div>{plots}</div>"
        f"<h2>Per family</h2><table><tr><th>family</th><th>n</th><th>macro-F1</th><th>top rewrite overall</th></tr>{families}</table>"
        f"<h2>Worst cases</h2><ol>{''.join(cases)}</ol></body></html>\n"
    )


def compare(a: tuple[RunMetrics, Sequence[ResultRow]], b: tuple[RunMetrics, Sequence[ResultRow]]) -> str:
    """Metric deltas from run A to run B, then the goals whose label or top rewrite changed."""
    (ma, ra), (mb, rb) = a, b
    lines = [f"{'metric':<40}{'A':>10}{'B':>10}{'B - A':>10}"]
    for (name, va), (_, vb) in zip(_numbers(ma), _numbers(mb), strict=True):
        lines.append(f"{name:<40}{va:>10.4f}{vb:>10.4f}{vb - va:>+10.4f}")
    before = {r.id: r for r in ra if r.repeat == 0}
    changed = []
    for row in (r for r in rb if r.repeat == 0):
        old = before.get(row.id)
        if old is None:
            continue
        old_top = old.rewrites[0].text if old.rewrites else ""
        new_top = row.rewrites[0].text if row.rewrites else ""
        if old.predicted != row.predicted:
            changed.append(
                f"label  {row.id}: {old.predicted} -> {row.predicted} (gold {row.label.value}): {row.text}"
            )
        elif old_top != new_top:
            changed.append(f"rewrite {row.id}: {row.text}\n    A: {old_top}\n    B: {new_top}")
    return "\n".join([*lines, "", f"{len(changed)} goals changed", *changed])


def _numbers(metrics: RunMetrics) -> list[tuple[str, float]]:
    c, r = metrics.classification, metrics.rewrite
    pairs: list[tuple[str, float | None]] = [
        ("classification.macro_f1", c.macro_f1),
        ("classification.macro_f1_contested_either_way", c.macro_f1_contested_either_way),
        ("classification.accuracy", c.accuracy),
        ("classification.ece", c.ece),
        ("llm_share", metrics.llm_share),
        ("rewrite.top_is_mastery", r.top_is_mastery),
        ("rewrite.controllability", r.controllability),
        ("rewrite.rules_passed", r.rules_passed),
        ("rewrite.fluency", r.fluency),
        ("rewrite.relevance", r.relevance),
        ("rewrite.intent", r.intent),
        ("rewrite.reference_intent", r.reference_intent),
        ("rewrite.reference_top1", r.reference_top1),
        ("rewrite.specificity", r.specificity),
        ("rewrite.diversity", r.diversity),
        ("rewrite.schema_valid", r.schema_valid),
        ("cost.estimated_usd", metrics.cost.estimated_usd),
    ]
    return [(name, value or 0.0) for name, value in pairs]
