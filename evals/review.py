"""The blind human review: a sheet of goals with their top rewrites, engine hidden and order shuffled, for
a maintainer to grade; and the graded sheet read back as `review.*` figures per engine.

A sheet is a folder: `sheet.csv` (the one to fill in: a grade per row), `sheet.html` (the same rows to
read in a browser) and `key.json` (which engine wrote each row; open it only after grading).
"""

from __future__ import annotations

import csv
import html
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeGuard

from pydantic import BaseModel, Field

from evals.runner import ResultRow

Grade = Literal["use as written", "use after edits", "would not use"]
GRADES: tuple[Grade, ...] = ("use as written", "use after edits", "would not use")
COLUMNS = ("item", "goal", "rewrite", "grade", "note")


class SheetError(ValueError):
    """A graded sheet that cannot be read back: what is wrong and on which row."""


class KeyEntry(BaseModel):
    """What the grader must not see while grading."""

    item: str
    goal_id: str
    engine: str


class ReviewMetrics(BaseModel):
    """Shares of the graded top rewrites of one engine."""

    n: int
    use_as_written: float
    use_after_edits: float
    would_not_use: float
    graders: list[str] = Field(default_factory=list)


def write_sheet(runs: Mapping[str, Sequence[ResultRow]], out: Path, *, seed: int = 0) -> int:
    """Write a sheet of every goal's top rewrite from each engine's run (goals with no rewrite are left
    out: there is nothing to grade); returns the number of rows."""
    entries = [
        (engine, row.id, f"{row.text} (job: {row.role})" if row.role else row.text, row.rewrites[0].text)
        for engine, rows in runs.items()
        for row in rows
        if row.rewrites and row.repeat == 0
    ]
    random.Random(seed).shuffle(entries)  # noqa: S311 - an order for a sheet, not a secret
    out.mkdir(parents=True, exist_ok=True)
    key = [
        KeyEntry(item=f"r{n:03d}", goal_id=goal_id, engine=engine)
        for n, (engine, goal_id, _, _) in enumerate(entries, start=1)
    ]
    with (out / "sheet.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for entry, (_, _, goal, rewrite) in zip(key, entries, strict=True):
            writer.writerow([entry.item, goal, rewrite, "", ""])
    (out / "key.json").write_text(
        json.dumps([k.model_dump() for k in key], indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "sheet.html").write_text(_html(key, entries), encoding="utf-8")
    return len(entries)


def _html(key: Sequence[KeyEntry], entries: Sequence[tuple[str, str, str, str]]) -> str:
    rows = "\n".join(
        f"<tr><td>{k.item}</td><td>{html.escape(goal)}</td><td>{html.escape(rewrite)}</td><td></td></tr>"
        for k, (_, _, goal, rewrite) in zip(key, entries, strict=True)
    )
    grades = " / ".join(GRADES)
    return (
        '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>Blind review</title>\n'
        "<style>body{font:15px/1.45 system-ui,sans-serif;margin:2rem}td,th{border:1px solid #ccc;"
        "padding:.4rem;vertical-align:top}table{border-collapse:collapse}</style>\n"
        "<h1>Blind review of top rewrites</h1>\n"
        f"<p>Grade each rewrite in <code>sheet.csv</code> as one of: {grades}, read as the person who wrote "
        "the goal would read it. Do not open <code>key.json</code> until every row is graded.</p>\n"
        f"<table><tr><th>item</th><th>goal</th><th>top rewrite</th><th>grade</th></tr>\n{rows}\n</table>\n"
    )


def read_sheet(folder: Path) -> dict[str, ReviewMetrics]:
    """The graded sheet's figures per engine; every row must carry one of the three grades."""
    key = {
        k.item: k
        for k in (KeyEntry.model_validate(x) for x in json.loads((folder / "key.json").read_text("utf-8")))
    }
    graded: dict[str, list[Grade]] = {}
    with (folder / "sheet.csv").open(encoding="utf-8", newline="") as file:
        for number, row in enumerate(csv.DictReader(file), start=2):
            grade = (row.get("grade") or "").strip().lower()
            if not _is_grade(grade):
                raise SheetError(f"{folder / 'sheet.csv'}:{number}: grade {grade!r} is not one of {GRADES}")
            if row.get("item") not in key:
                raise SheetError(
                    f"{folder / 'sheet.csv'}:{number}: item {row.get('item')!r} is not in key.json"
                )
            graded.setdefault(key[row["item"]].engine, []).append(grade)
    if not graded:
        raise SheetError(f"{folder / 'sheet.csv'} has no graded rows")
    graders = _graders(folder)
    return {
        engine: ReviewMetrics(
            n=len(grades),
            use_as_written=round(grades.count("use as written") / len(grades), 4),
            use_after_edits=round(grades.count("use after edits") / len(grades), 4),
            would_not_use=round(grades.count("would not use") / len(grades), 4),
            graders=graders,
        )
        for engine, grades in graded.items()
    }


def _is_grade(text: str) -> TypeGuard[Grade]:
    return text in GRADES


def _graders(folder: Path) -> list[str]:
    """Who graded, from an optional `graders.txt` beside the sheet (one name per line)."""
    path = folder / "graders.txt"
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
