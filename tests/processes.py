"""Stopping a child process a test started: a signal first, then SIGKILL if it lingers."""

from __future__ import annotations

import signal
import subprocess


def stop(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout_s: float) -> None:
    """Send `sig` and wait up to `timeout_s` seconds for the process to exit; kill it if it has not."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
