"""The labelled set: size, balance, spread, references, hard cases, and splits that never leak."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from evals.dataset import GOALS_PATH, load_goals, training_rows
from service.classifier import ClassifierHead
from service.config import Settings
from service.labelled import DatasetError, LabelledGoal, Split, digest, in_split, read_goals, split_of
from service.llm.examples import EXAMPLES_PATH
from service.model.embeddings import model_fingerprint, packaged_model_path
from service.taxonomy import Kind

ROWS = load_goals()
HARD_TAGS = ("vague_skill", "comparison", "approval", "training_volume", "mixed", "digit_outcome")


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def test_set_is_large_balanced_and_spread_over_job_families() -> None:
    kinds = Counter(row.label for row in ROWS)
    assert len(ROWS) >= 450
    assert all(kinds[kind] >= 150 for kind in Kind), kinds
    assert len({row.family for row in ROWS}) >= 12


def test_ids_and_texts_are_unique() -> None:
    assert len({row.id for row in ROWS}) == len(ROWS)
    assert len({_normal(row.text) for row in ROWS}) == len(ROWS)


def test_no_text_appears_in_two_splits() -> None:
    seen: dict[str, Split] = {}
    for row in ROWS:
        assert seen.setdefault(_normal(row.text), row.split) is row.split, row.text


def test_splits_are_a_function_of_the_id_with_every_kind_in_each() -> None:
    for split in Split:
        rows = in_split(ROWS, split)
        assert {row.label for row in rows} == set(Kind)
    assert split_of("sales-001") is split_of("sales-001")
    sizes = Counter(row.split for row in ROWS)
    assert 0.5 < sizes[Split.TRAIN] / len(ROWS) < 0.7


def test_outcome_and_performance_goals_carry_two_distinct_references() -> None:
    for row in ROWS:
        if row.label is Kind.MASTERY:
            assert row.references == []
        else:
            assert len(row.references) == 2, row.id
            assert _normal(row.references[0]) != _normal(row.references[1]), row.id


@pytest.mark.parametrize("tag", HARD_TAGS)
def test_hard_cases_are_held_on_purpose(tag: str) -> None:
    assert sum(tag in row.tags for row in ROWS) >= 20


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "a", "text": "x", "label": "mastery"}\n{"id": "b", "text": "y", "label": "vague"}\n'
    )
    with pytest.raises(DatasetError, match=r"bad.jsonl:2"):
        load_goals(path)


def test_mastery_rows_refuse_references() -> None:
    with pytest.raises(ValueError, match="needs no reference"):
        LabelledGoal(id="x", text="read a book a month", label=Kind.MASTERY, references=["a"])


def test_shipped_head_was_trained_on_the_current_train_split(settings: Settings) -> None:
    head = ClassifierHead.load(settings.classifier_path)
    train = training_rows(ROWS)
    assert head.provenance.data_sha256 == digest(train), f"{GOALS_PATH} changed: run `make train`"
    assert head.provenance.train_size == len(train)
    assert {row.split for row in train if row.family != "source"} == {Split.TRAIN}
    assert head.provenance.embedder == model_fingerprint(packaged_model_path())


def test_the_shipped_few_shot_examples_are_the_train_split() -> None:
    shipped = read_goals(EXAMPLES_PATH)
    assert shipped == in_split(ROWS, Split.TRAIN), f"{GOALS_PATH} changed: run `make train`"
