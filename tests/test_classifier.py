"""The embedded classifier: mechanics on a fake embedder, quality on the dev split with the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.classification import score_baseline, score_classifier
from evals.dataset import load_goals
from evals.training import train_head
from service.classifier import Classifier, ClassifierHead
from service.errors import ArtifactError
from service.labelled import Split, in_split
from service.model.embeddings import FakeEmbedder
from service.taxonomy import KIND_ORDER, KINDS, Kind


@pytest.fixture(scope="module")
def fake_classifier() -> Classifier:
    embedder = FakeEmbedder()
    rows = in_split(load_goals(), Split.TRAIN)
    head = train_head(embedder=embedder, train=rows, dev=[], c_grid=(8.0,))
    return Classifier(embedder=embedder, head=head)


def test_answer_has_calibrated_probabilities_for_all_kinds(fake_classifier: Classifier) -> None:
    answer = fake_classifier.classify("hit 120% of quota every quarter")
    values = [answer.probabilities.of(kind) for kind in KIND_ORDER]
    assert abs(sum(values) - 1) < 1e-3
    assert answer.confidence == max(values)
    assert answer.kind == KIND_ORDER[values.index(max(values))]
    assert answer.engine == "embedded"


def test_reason_points_at_the_goal_and_names_the_kind(fake_classifier: Classifier) -> None:
    answer = fake_classifier.classify("be the top seller in my region")
    assert answer.reason.endswith(KINDS[answer.kind].controllable.lower())
    if answer.kind is Kind.PERFORMANCE:
        assert "“best”" in answer.reason or "“top" in answer.reason


def test_batch_and_single_answers_agree(fake_classifier: Classifier) -> None:
    goals = ["be a better leader", "read one book a month", "get promoted this year"]
    assert fake_classifier.classify_batch(goals) == [fake_classifier.classify(g) for g in goals]
    assert fake_classifier.classify_batch([]) == []


def test_head_trained_on_another_model_is_refused(fake_classifier: Classifier) -> None:
    with pytest.raises(ArtifactError, match="make train"):
        Classifier(embedder=FakeEmbedder(dim=32), head=fake_classifier.head)


def test_missing_artifact_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="make train"):
        ClassifierHead.load(tmp_path / "absent.json")


def test_real_classifier_on_dev_split_beats_the_baseline(classifier: Classifier) -> None:
    dev = in_split(load_goals(), Split.DEV)
    ours, baseline = score_classifier(classifier, dev), score_baseline(dev)
    assert ours.macro_f1 >= 0.88, ours
    assert ours.macro_f1 - baseline.macro_f1 >= 0.15
    assert ours.ece is not None
    assert ours.ece < 0.15


@pytest.mark.parametrize("kind", list(KINDS))
def test_real_classifier_answers_the_source_examples_as_their_authors(
    classifier: Classifier, kind: Kind
) -> None:
    # They are training rows (`evals.dataset.training_rows`): this checks the head keeps what defines a kind.
    for example in KINDS[kind].examples:
        assert classifier.classify(example).kind is kind, example
