"""A throw-away Redis for tests: Debian's redis-server on a free loopback port, nothing saved to disk."""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import stop

START_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1


class RedisMissing(RuntimeError):
    """Debian's redis-server is not installed."""


def _die_with_parent() -> None:
    # A test run killed by a timeout or ^C skips its fixtures' teardown; without this, its server would
    # run on forever. SIGTERM is redis-server's clean shutdown.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A running redis-server, a child of the test process, on 127.0.0.1 only."""

    def __init__(self, root: Path, binary: str, port: int | None = None) -> None:
        self.root = root
        self.binary = binary
        self.port = port or _free_port()
        self.log = root / "redis.log"
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it with persistence off; waits till it answers PING."""
        with self.log.open("wb") as log:
            self._server = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                 "no", "--dir", str(self.root)],
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self._server.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self._server.returncode}:\n{self.log.read_text()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"redis-server not ready after {START_TIMEOUT_S} s:\n{self.log.read_text()}"
                )
            # Polling for readiness, as redis-cli --wait would; the server is a child and dies with us.
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def flush(self) -> None:
        """Forget every key, so each test starts with full budgets."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            assert sock.recv(16).startswith(b"+OK")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        if self._server is None:
            return
        stop(self._server, timeout_s=START_TIMEOUT_S)
        self._server = None


@contextmanager
def running_redis(port: int | None = None) -> Iterator[RedisServer]:
    """A started redis-server (on `port`, else a free one) in a new temporary folder, stopped and deleted
    on exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisMissing(
            "redis-server was not found on PATH; `make install` installs Debian's redis-server"
        )
    root = Path(tempfile.mkdtemp(prefix="goal-rewriter-redis-"))
    server = RedisServer(root, binary, port)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
