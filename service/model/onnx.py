"""all-MiniLM-L6-v2 on ONNX Runtime: the same weights as the sentence-transformers encoder, exported once
by `goal-rewriter export` (`make export`), run without torch.

Tokenising is the model's own `tokenizer.json` (Hugging Face `tokenizers`); pooling is the model's: the mean
of the token vectors under the attention mask, then unit length.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from service.errors import ConfigError
from service.model.embeddings import Vectors

ONNX_FILE = "model.onnx"
# The weights, beside the graph: ONNX Runtime maps them from disk.
WEIGHTS_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
# The source model's fingerprint, written by the export: a head trained on those weights stays valid.
FINGERPRINT_FILE = "fingerprint.txt"
# The model's own limit (its sentence_bert_config.json): longer texts are cut, as sentence-transformers does.
MAX_TOKENS = 256


class OnnxEncoder:
    """An exported encoder in this process; also an `Embedder`. ONNX Runtime runs its own threads and
    releases the GIL, so one session serves every caller."""

    def __init__(self, folder: Path, *, threads: int) -> None:
        missing = [
            name
            for name in (ONNX_FILE, WEIGHTS_FILE, TOKENIZER_FILE, FINGERPRINT_FILE)
            if not (folder / name).exists()
        ]
        if missing:
            raise ConfigError(
                f"No exported encoder in {folder} (missing {', '.join(missing)}): run `make export`, or set "
                "GOAL_ENCODER=torch."
            )
        options = onnxruntime.SessionOptions()
        # The thread budget is the session's, fixed when it starts.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        self._fingerprint = (folder / FINGERPRINT_FILE).read_text(encoding="utf-8").strip()

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def encode(self, texts: Sequence[str], *, threads: int = 0) -> Vectors:
        """Unit vectors for `texts`; `threads` is the pool's share, which the session's budget sets."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        types = np.array([e.type_ids for e in encoded], dtype=np.int64)
        (hidden,) = self._session.run(
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        summed = (hidden * mask[..., None]).sum(axis=1)
        mean = summed / mask.sum(axis=1, keepdims=True)
        unit: Vectors = (mean / np.linalg.norm(mean, axis=1, keepdims=True)).astype(np.float32)
        return unit

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        return self.encode(texts)

    def close(self) -> None:
        """Nothing to release: the session lives as long as the process."""
