"""The blind review sheet: written shuffled with the engine hidden, read back as figures per engine; and
the rewrite metrics that need no grader (fluency, relevance)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from evals.review import SheetError, read_sheet, write_sheet
from evals.runner import ResultRow, RewriteResult
from evals.summary import rewrite_metrics
from service.taxonomy import Kind


def row(
    goal_id: str, top: str, *, faults: list[str] | None = None, relevance: float | None = None
) -> ResultRow:
    return ResultRow(
        id=goal_id,
        text=f"goal {goal_id}",
        family="x",
        label=Kind.OUTCOME,
        rewrites=[
            RewriteResult(
                text=top,
                engine="embedded",
                controllability=0.9,
                rules_passed=1.0,
                intent=0.5,
                specificity=1.0,
                overall=0.8,
                complete=True,
                fluency_faults=faults or [],
            )
        ],
        relevance=relevance,
    )


def grade(folder: Path, grades: dict[str, str]) -> None:
    path = folder / "sheet.csv"
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    for r in rows:
        r["grade"] = grades[r["rewrite"]]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_graded_sheet_reads_back_as_shares_per_engine(tmp_path: Path) -> None:
    runs = {
        "embedded": [
            row("a", "E1"),
            row("b", "E2"),
            ResultRow(id="c", text="c", family="x", label=Kind.MASTERY),
        ],
        "llm": [row("a", "L1"), row("b", "L2")],
    }
    assert write_sheet(runs, tmp_path, seed=1) == 4, "a goal with no rewrite has nothing to grade"
    sheet = (tmp_path / "sheet.csv").read_text(encoding="utf-8")
    assert "embedded" not in sheet, "the engine is hidden"
    assert "llm" not in sheet, "the engine is hidden"
    assert "E1" in (tmp_path / "sheet.html").read_text(encoding="utf-8")
    assert {k["engine"] for k in json.loads((tmp_path / "key.json").read_text("utf-8"))} == {
        "embedded",
        "llm",
    }
    grade(
        tmp_path,
        {"E1": "use as written", "E2": "would not use", "L1": "use after edits", "L2": "use after edits"},
    )
    review = read_sheet(tmp_path)
    embedded = review["embedded"]
    assert (embedded.n, embedded.use_as_written, embedded.would_not_use) == (2, 0.5, 0.5)
    assert review["llm"].use_after_edits == 1.0


def test_the_order_is_shuffled_by_the_seed(tmp_path: Path) -> None:
    runs = {"embedded": [row(str(n), f"R{n}") for n in range(12)]}
    write_sheet(runs, tmp_path / "a", seed=1)
    write_sheet(runs, tmp_path / "b", seed=2)
    first, second = ((tmp_path / f / "sheet.csv").read_text("utf-8") for f in ("a", "b"))
    assert first != second
    goals = [line.split(",")[1] for line in first.splitlines()[1:]]
    assert goals != [f"goal {n}" for n in range(12)], "not in the runs' order"


def test_an_ungraded_row_is_named(tmp_path: Path) -> None:
    write_sheet({"embedded": [row("a", "E1"), row("b", "E2")]}, tmp_path)
    grade(tmp_path, {"E1": "use as written", "E2": "maybe"})
    with pytest.raises(SheetError, match=r"sheet.csv:\d: grade 'maybe'"):
        read_sheet(tmp_path)


def test_fluency_counts_every_rewrite_and_relevance_the_top_ones() -> None:
    rows = [
        row("a", "ok", relevance=1.0),
        row("b", "bad", faults=["target_figure"], relevance=0.0),
        row("c", "ok", relevance=None),
    ]
    metrics = rewrite_metrics(rows)
    assert metrics.fluency == pytest.approx(2 / 3, abs=1e-4)
    assert metrics.relevance == 0.5, "goals without references do not count"


def test_the_job_sent_with_a_goal_is_shown_beside_it(tmp_path: Path) -> None:
    with_job = row("a", "E1").model_copy(update={"role": "ward nurse"})
    write_sheet({"embedded": [with_job]}, tmp_path)
    assert "goal a (job: ward nurse)" in (tmp_path / "sheet.csv").read_text("utf-8")
