"""The exported encoder: the same vectors as torch on the labelled set, the same labels, a clear error
when it was never exported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evals.dataset import load_goals
from evals.kind_metrics import classification_metrics
from service.classifier import Classifier
from service.config import Settings
from service.engine import load_embedded_classifier
from service.errors import ConfigError
from service.labelled import Split, in_split
from service.model.export import export_onnx
from service.model.onnx import OnnxEncoder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(tmp_path_factory.mktemp("encoder"))


def test_the_export_embeds_the_labelled_set_as_torch_does(exported: Path, classifier: Classifier) -> None:
    texts = [row.text for row in load_goals()]
    onnx = OnnxEncoder(exported, threads=2)
    cosines = np.sum(onnx.embed_batch(texts) * classifier.embedder.embed_batch(texts), axis=1)
    assert float(cosines.min()) >= 0.9999
    assert onnx.fingerprint == classifier.embedder.fingerprint, "the torch model's head stays valid"


def test_the_engine_on_the_export_labels_the_test_split_as_torch_does(
    exported: Path, settings: Settings, classifier: Classifier
) -> None:
    rows = in_split(load_goals(), Split.TEST)
    texts = [row.text for row in rows]
    onnx = load_embedded_classifier(settings.model_copy(update={"encoder": "onnx", "encoder_dir": exported}))
    try:
        by_onnx = [a.kind for a in onnx.classify_batch(texts)]
    finally:
        onnx.embedder.close()
    by_torch = [a.kind for a in classifier.classify_batch(texts)]
    gold = [row.label for row in rows]
    f1 = classification_metrics(gold, by_onnx, [1.0] * len(gold)).macro_f1
    assert abs(f1 - classification_metrics(gold, by_torch, [1.0] * len(gold)).macro_f1) <= 0.005
    assert sum(a == b for a, b in zip(by_onnx, by_torch, strict=True)) >= len(texts) - 1


def test_an_encoder_never_exported_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"make export.*GOAL_ENCODER=torch"):
        OnnxEncoder(tmp_path, threads=1)


def test_the_engine_on_the_export_runs_where_torch_is_not_installed(exported: Path) -> None:
    # A runtime image without torch: importing it (or sentence-transformers) fails, as it would there.
    script = (
        "import sys\n"
        "for name in ('torch', 'sentence_transformers', 'transformers'):\n"
        "    sys.modules[name] = None\n"
        "import asyncio\n"
        "from service.config import Settings\n"
        "from service.engine import load_engine\n"
        "from service.schemas import RewriteRequest\n"
        "engine = load_engine(Settings(_env_file=None, encoder='onnx', encoder_dir=sys.argv[1]))\n"
        "answer = asyncio.run(engine.rewriter.rewrite(RewriteRequest(goal='Close 20 deals per month')))\n"
        "print(answer.classification.kind.value, len(answer.rewrites))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(exported)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["performance", "3"]
