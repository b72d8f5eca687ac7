"""Classification reports: the embedded classifier beside the keyword baseline, and a cross-writer check."""

from __future__ import annotations

from collections.abc import Sequence

from evals.baseline import keyword_baseline
from evals.dataset import WRITER_GROUPS, load_goals
from evals.kind_metrics import ClassificationMetrics, classification_metrics, format_confusion
from evals.training import train_head
from service.classifier import Classifier
from service.config import Settings
from service.engine import load_embedded_classifier
from service.labelled import CONTESTED, LabelledGoal, Split, in_split
from service.model.embeddings import Embedder, SentenceTransformerEmbedder
from service.schemas import Classification


def score_classifier(classifier: Classifier, rows: Sequence[LabelledGoal]) -> ClassificationMetrics:
    """Metrics of the classifier on labelled rows, calibration included."""
    return score_predictions(rows, classifier.classify_batch([row.text for row in rows]))


def score_predictions(
    rows: Sequence[LabelledGoal], predictions: Sequence[Classification]
) -> ClassificationMetrics:
    """Metrics of answers already given to labelled rows, calibration included."""
    return classification_metrics(
        [row.label for row in rows],
        [p.kind for p in predictions],
        [p.confidence for p in predictions],
        [CONTESTED in row.tags for row in rows],
    )


def score_baseline(rows: Sequence[LabelledGoal]) -> ClassificationMetrics:
    """Metrics of the keyword baseline on labelled rows."""
    return classification_metrics([row.label for row in rows], [keyword_baseline(row.text) for row in rows])


def _summary(name: str, metrics: ClassificationMetrics) -> str:
    per_kind = "  ".join(f"{k.value} F1 {s.f1:.3f}" for k, s in metrics.per_kind.items())
    ece = f"  ECE {metrics.ece:.3f}" if metrics.ece is not None else ""
    either = (
        f" ({metrics.macro_f1_contested_either_way:.3f} with wins, ranks, selections either way)"
        if metrics.macro_f1_contested_either_way is not None
        else ""
    )
    return (
        f"{name}: macro-F1 {metrics.macro_f1:.3f}{either}  accuracy {metrics.accuracy:.3f}{ece}  "
        f"(n={metrics.n})\n"
        f"  {per_kind}\n{format_confusion(metrics.confusion)}\n"
    )


def certainty_summary(rows: Sequence[LabelledGoal], predictions: Sequence[Classification]) -> str:
    """How often the answers a person sees as "likely" and as "unsure" were right."""
    parts = []
    for word in ("likely", "unsure"):
        right = [p.kind == row.label for p, row in zip(predictions, rows, strict=True) if p.certainty == word]
        share = f"{sum(right) / len(right):.1%} right" if right else "none"
        parts.append(f"{word}: {len(right)} answers, {share}")
    return "certainty shown to people: " + "; ".join(parts)


def report_split(settings: Settings, split: Split) -> str:
    """The shipped classifier and the keyword baseline on one split, as text."""
    rows = in_split(load_goals(), split)
    predictions = load_embedded_classifier(settings).classify_batch([row.text for row in rows])
    return "\n".join(
        [
            f"== {split.value} split ==",
            _summary("embedded classifier", score_predictions(rows, predictions)),
            certainty_summary(rows, predictions),
            _summary("keyword baseline", score_baseline(rows)),
        ]
    )


def cross_family_scores(embedder: Embedder, rows: Sequence[LabelledGoal]) -> dict[str, ClassificationMetrics]:
    """For each writer group: train on the others' train+dev rows, score on the held-out group's rows."""
    usable = in_split(rows, Split.TRAIN, Split.DEV)
    scores: dict[str, ClassificationMetrics] = {}
    for group, families in WRITER_GROUPS.items():
        held_out = [row for row in usable if row.family in families]
        head = train_head(embedder=embedder, train=[r for r in usable if r.family not in families], dev=[])
        scores[group] = score_classifier(Classifier(embedder=embedder, head=head), held_out)
    return scores


def report_cross_family(settings: Settings) -> str:
    """The cross-writer check as text; the test split is not used."""
    rows = load_goals()
    scores = cross_family_scores(SentenceTransformerEmbedder(settings.model_path), rows)
    lines = [
        "== cross-writer check: train on three writers' families, test on the fourth (train+dev only) =="
    ]
    for group, metrics in scores.items():
        baseline = score_baseline(
            [r for r in in_split(rows, Split.TRAIN, Split.DEV) if r.family in WRITER_GROUPS[group]]
        )
        lines.append(
            f"held out {group} {', '.join(WRITER_GROUPS[group])}: macro-F1 {metrics.macro_f1:.3f} "
            f"(baseline {baseline.macro_f1:.3f}, n={metrics.n})"
        )
    return "\n".join(lines)
