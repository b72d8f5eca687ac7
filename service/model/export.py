"""Exports the packaged sentence-transformers model to ONNX for `service.model.onnx` (`make export`).

A build step, not a run-time one: it needs torch and sentence-transformers, and reads weights only from disk.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

from service.errors import ConfigError
from service.model.cores import usable_cores
from service.model.embeddings import TORCH_EXTRA, Embedder, model_fingerprint, packaged_model_path
from service.model.known import Recorder
from service.model.onnx import FINGERPRINT_FILE, ONNX_FILE, TOKENIZER_FILE, WEIGHTS_FILE, OnnxEncoder

_NAMES = ["input_ids", "attention_mask", "token_type_ids"]


def export_onnx(
    out: Path, model_path: Path | None = None, *, start: Callable[[Embedder], object] | None = None
) -> Path:
    """Write the transformer of the model at `model_path` (default: the packaged one) as `out/model.onnx`,
    with its weights, tokenizer and fingerprint beside it; returns `out`. `start` embeds what an engine
    embeds while it starts: the export records those vectors, as its own encoder makes them."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import onnx
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(f"Exporting the encoder needs {TORCH_EXTRA}") from exc

    path = model_path or packaged_model_path()
    transformer = SentenceTransformer(str(path), device="cpu")[0].auto_model
    if not isinstance(transformer, torch.nn.Module):
        raise TypeError(f"{path}: its first module holds no transformer to export")
    transformer.eval()

    class _ByName(torch.nn.Module):
        """The exporter passes inputs by position; the transformer wants them by name."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            output = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return output.last_hidden_state  # type: ignore[no-any-return]

    out.mkdir(parents=True, exist_ok=True)
    sample = torch.ones(1, 8, dtype=torch.long)
    # The TorchScript exporter is deprecated in favour of torch.export, which needs dynamic shapes spelled
    # out per input; this one takes dynamic axes, and its file matches torch to a cosine of 0.9999999.
    # Tracing warns about every Python branch it freezes (the attention mask's), which are as intended.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _ByName(transformer),
            (sample, sample, torch.zeros_like(sample)),
            str(out / ONNX_FILE),
            input_names=_NAMES,
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*_NAMES, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )
    # The weights in a file of their own, which ONNX Runtime maps instead of copying out of the parsed
    # model: a session then peaks at 55 MiB instead of 142.
    graph = onnx.load(str(out / ONNX_FILE))
    # onnx appends to a weights file it finds: an earlier export's would stay in front of this one's.
    (out / WEIGHTS_FILE).unlink(missing_ok=True)
    onnx.save_model(
        graph,
        str(out / ONNX_FILE),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=WEIGHTS_FILE,
        size_threshold=1024,
    )
    # onnx writes the weights readable by their owner only; the server may run as another user.
    (out / WEIGHTS_FILE).chmod(0o644)
    shutil.copyfile(path / TOKENIZER_FILE, out / TOKENIZER_FILE)
    (out / FINGERPRINT_FILE).write_text(model_fingerprint(path) + "\n", encoding="utf-8")
    if start is not None:
        recorder = Recorder(OnnxEncoder(out, threads=usable_cores()))
        start(recorder)
        recorder.save(out)
    return out
