"""Classification metrics: accuracy, macro-F1, per-kind precision/recall/F1, confusion, calibration."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from service.taxonomy import KIND_ORDER, Kind


class KindScores(BaseModel):
    """Precision, recall and F1 of one kind."""

    precision: float
    recall: float
    f1: float
    support: int


class ClassificationMetrics(BaseModel):
    """How well predicted kinds match the labels."""

    n: int
    accuracy: float
    macro_f1: float
    per_kind: dict[Kind, KindScores]
    confusion: list[list[int]] = Field(description="Rows: true kind; columns: predicted; in taxonomy order.")
    ece: float | None = Field(default=None, description="Expected calibration error (10 bins).")
    macro_f1_contested_either_way: float | None = Field(
        default=None,
        description="Macro-F1 with each `contested` row (a win, rank or selection) counted right whether "
        "predicted outcome or performance, as the sport-psychology scheme would label it.",
    )


def _safe_ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by bin size."""
    total = len(confidences)
    error = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidences) if low < c <= high or (b == 0 and c == 0)]
        if members:
            accuracy = sum(correct[i] for i in members) / len(members)
            confidence = sum(confidences[i] for i in members) / len(members)
            error += len(members) / total * abs(accuracy - confidence)
    return error


def counted_either_way(
    truth: Sequence[Kind], predicted: Sequence[Kind], contested: Sequence[bool]
) -> list[Kind]:
    """The predictions, with a contested row's outcome-or-performance answer taken as its label."""
    either = {Kind.OUTCOME, Kind.PERFORMANCE}
    return [
        t if c and t in either and p in either else p
        for t, p, c in zip(truth, predicted, contested, strict=True)
    ]


def classification_metrics(
    truth: Sequence[Kind],
    predicted: Sequence[Kind],
    confidences: Sequence[float] | None = None,
    contested: Sequence[bool] | None = None,
) -> ClassificationMetrics:
    """Score predictions against labels; `confidences` (of the predicted kind) adds calibration, and
    `contested` (per row) the macro-F1 that counts those rows right either way."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted must have the same length")
    index = {kind: i for i, kind in enumerate(KIND_ORDER)}
    confusion = [[0] * len(KIND_ORDER) for _ in KIND_ORDER]
    for t, p in zip(truth, predicted, strict=True):
        confusion[index[t]][index[p]] += 1
    per_kind: dict[Kind, KindScores] = {}
    for kind, i in index.items():
        tp = confusion[i][i]
        predicted_as = sum(row[i] for row in confusion)
        actual = sum(confusion[i])
        precision, recall = _safe_ratio(tp, predicted_as), _safe_ratio(tp, actual)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_kind[kind] = KindScores(precision=precision, recall=recall, f1=f1, support=actual)
    correct = [t == p for t, p in zip(truth, predicted, strict=True)]
    return ClassificationMetrics(
        n=len(truth),
        accuracy=_safe_ratio(sum(correct), len(truth)),
        macro_f1=sum(s.f1 for s in per_kind.values()) / len(per_kind),
        per_kind=per_kind,
        confusion=confusion,
        ece=expected_calibration_error(confidences, correct) if confidences is not None else None,
        macro_f1_contested_either_way=classification_metrics(
            truth, counted_either_way(truth, predicted, contested)
        ).macro_f1
        if contested is not None
        else None,
    )


def format_confusion(confusion: list[list[int]]) -> str:
    """The confusion matrix as an aligned text table."""
    width = max(len(k.value) for k in KIND_ORDER) + 2
    lines = ["true \\ predicted".ljust(width + 6) + "".join(k.value.rjust(width) for k in KIND_ORDER)]
    for kind, row in zip(KIND_ORDER, confusion, strict=True):
        lines.append(kind.value.ljust(width + 6) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)
