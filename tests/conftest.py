"""Shared fixtures; a guard makes any connection off this machine fail the test that tries it."""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from service.classifier import Classifier
from service.config import Settings
from service.engine import Engine, build_engine, load_embedded_classifier
from tests.openai_wire import BASE_URL
from tests.postgres import PostgresCluster, PostgresMissing, running_cluster
from tests.redis_server import RedisMissing, RedisServer, running_redis

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

_real_connect = socket.socket.connect
_databases = itertools.count(1)
_real_connect_ex = socket.socket.connect_ex


class NetworkBlocked(RuntimeError):
    """A test tried to reach a host off this machine."""


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        if host == "localhost":
            return
    raise NetworkBlocked(f"tests must not reach the network (tried {address!r})")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _throwaway_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every app a test builds keeps its data in a throw-away SQLite file, never in the working tree."""
    previous = os.environ.get("GOAL_DATABASE_URL")
    os.environ["GOAL_DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'goal-rewriter.db'}"
    yield
    if previous is None:
        del os.environ["GOAL_DATABASE_URL"]
    else:
        os.environ["GOAL_DATABASE_URL"] = previous


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throw-away PostgreSQL cluster for the session; tests create their own databases in it."""
    try:
        with running_cluster() as cluster:
            yield cluster
    except PostgresMissing as exc:
        # Not a skip: CI must not pass with the PostgreSQL half of the tests silently missing.
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throw-away redis-server for the session; tests that share it flush it first."""
    try:
        with running_redis() as server:
            yield server
    except RedisMissing as exc:
        # Not a skip: CI must not pass with the shared budgets silently untested.
        pytest.fail(str(exc))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, no schema yet: each test that asks runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'goal-rewriter.db'}"
        return
    # `postgres` (tests/conftest.py) is asked for only here, so SQLite-only runs start no cluster.
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    name = f"test_{next(_databases)}"
    yield cluster.create_database(name)
    cluster.drop_database(name)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Default settings, independent of any GOAL_* variables or .env in the developer's shell, but for the
    page's budget per client address: every request of a test comes from 127.0.0.1, so it is off, and the
    tests of that budget turn it on."""
    return Settings(_env_file=None, page_rate_limit_per_minute=0)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def classifier(settings: Settings) -> Classifier:
    """The real embedded classifier: packaged model plus the shipped head."""
    return load_embedded_classifier(settings)


@pytest.fixture(scope="session")
def embedded_engine(settings: Settings, classifier: Classifier) -> Engine:
    """The engine as `make run` builds it: the real classifier and no LLM."""
    return build_engine(settings, classifier=classifier, llm=None)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The OpenAI-compatible endpoint at BASE_URL, mocked; a call to an unmocked route fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router
