"""A throw-away PostgreSQL cluster for tests: Debian's server binaries, a temporary folder, a unix socket."""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from tests.processes import stop

SUPERUSER = "postgres"
# initdb and postgres refuse to run as root; when the tests do, the cluster runs as this user.
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT_S = 60.0
DEBIAN_POSTGRES = Path("/usr/lib/postgresql")
_PR_SET_PDEATHSIG = 1


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_bindir() -> Path:
    """The folder of initdb and postgres: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted(DEBIAN_POSTGRES.glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    raise PostgresMissing(
        "PostgreSQL server binaries (initdb, postgres) were not found in `pg_config --bindir` or "
        "/usr/lib/postgresql/*/bin; `make install` installs Debian's postgresql package"
    )


def _as_unprivileged() -> dict[str, Any]:
    """subprocess arguments that drop root, which initdb and postgres refuse."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _die_with_parent() -> None:
    # A test run killed by a timeout or ^C skips its fixtures' teardown; without this, its server would
    # run on forever. SIGINT is PostgreSQL's fast shutdown. Set after the uid change, which clears it.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


class PostgresCluster:
    """A running cluster, a child of the test process, reachable only through a unix socket in its folder."""

    def __init__(self, root: Path, bindir: Path) -> None:
        self.root = root
        self.bindir = bindir
        self.data = root / "data"
        self.log = root / "server.log"
        self._server: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """initdb with trust authentication, then the server on a unix socket only; waits till it is ready."""
        done = subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync", "--no-instructions"],
            capture_output=True, text=True, check=False, **_as_unprivileged(),
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
        with self.log.open("wb") as log:
            self._server = subprocess.Popen(
                # fsync off: the cluster is thrown away, and the shared CPU and disk are slow enough.
                [str(self.bindir / "postgres"), "-D", str(self.data), "-c", "listen_addresses=",
                 "-c", f"unix_socket_directories={self.root}", "-c", "fsync=off"],
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, **_as_unprivileged(),
            )  # fmt: skip
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self._server is not None
            if self._server.poll() is not None:
                raise RuntimeError(f"postgres exited with {self._server.returncode}:\n{self.log.read_text()}")
            try:
                self._admin().close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"postgres not ready after {START_TIMEOUT_S} s:\n{self.log.read_text()}"
                    ) from exc
                # Polling for readiness, as pg_ctl -w does; the server is a child here so it dies with us.
                time.sleep(0.05)

    def stop(self) -> None:
        """Fast shutdown: open connections are cut."""
        if self._server is None:
            return
        stop(self._server, sig=signal.SIGINT, timeout_s=START_TIMEOUT_S)
        self._server = None

    def url(self, dbname: str) -> str:
        """A SQLAlchemy URL for a database of this cluster, over the unix socket."""
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={self.root}"

    def _admin(self) -> psycopg.Connection[TupleRow]:
        return psycopg.connect(host=str(self.root), user=SUPERUSER, dbname="postgres", autocommit=True)

    def create_database(self, dbname: str) -> str:
        """Create an empty database; its URL."""
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.url(dbname)

    def drop_database(self, dbname: str) -> None:
        """Drop a database, cutting whoever is still connected."""
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))


@contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """A started cluster in a new temporary folder, stopped and deleted on exit."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="goal-rewriter-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    cluster = PostgresCluster(root, bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
