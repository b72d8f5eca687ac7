"""API keys on /v1: 401 without a valid key, 403 without the scope, 429 past the rate, over a real server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.config import Settings
from service.engine import Engine
from service.errors import Unauthorized
from service.schemas import ErrorBody
from service.serving.access import AccessControl
from service.serving.admin import serving_host
from service.store.db import open_database
from service.store.keys import KeyStore, Scope
from tests.live_server import serving_engine

CANARY_GOAL = "Ship the zqxcanarygoal migration by March"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str]]:
    """Settings on a fresh database holding four keys, and those keys by name."""
    url = f"sqlite:///{tmp_path_factory.mktemp('keys') / 'keys.db'}"
    database = open_database(url)
    database.migrate()
    store = KeyStore(database)
    keys = {
        "classifier": store.create(name="classifier", scopes=[Scope.CLASSIFY])[1],
        "rewriter": store.create(name="rewriter", scopes=[Scope.CLASSIFY, Scope.REWRITE])[1],
        "admin": store.create(name="admin", scopes=[Scope.ADMIN])[1],
        "revoked": store.create(name="revoked", scopes=[Scope.CLASSIFY])[1],
        "limited": store.create(name="limited", scopes=[Scope.CLASSIFY])[1],
    }
    store.revoke("revoked")
    database.dispose()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        key_cache_seconds=0,
        rate_limit_per_minute=600,
        rate_limit_burst=100,
    )
    return settings, keys


@pytest.fixture(scope="module")
def client(keyed: tuple[Settings, dict[str, str]], embedded_engine: Engine) -> Iterator[httpx.Client]:
    with serving_engine(keyed[0], embedded_engine, timeout_s=60) as (_base_url, http):
        yield http


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


GOAL = {"goal": "Close 20 deals per month"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer gr_not-a-key"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["no-key", "unknown-key", "not-bearer"],
)
def test_missing_or_wrong_key_is_401(client: httpx.Client, headers: dict[str, str]) -> None:
    answer = client.post("/v1/classify", json=GOAL, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    body = ErrorBody.model_validate(answer.json())
    assert body.error == "unauthorized"
    assert "Bearer" in body.message or "not valid" in body.message


def test_revoked_key_is_401(client: httpx.Client, keyed: tuple[Settings, dict[str, str]]) -> None:
    answer = client.post("/v1/classify", json=GOAL, headers=_auth(keyed[1]["revoked"]))
    assert answer.status_code == 401
    assert "revoked" in answer.json()["message"]


def test_key_without_the_scope_is_403(client: httpx.Client, keyed: tuple[Settings, dict[str, str]]) -> None:
    key = _auth(keyed[1]["classifier"])
    assert client.post("/v1/classify", json=GOAL, headers=key).status_code == 200
    refused = client.post("/v1/rewrite", json=GOAL, headers=key)
    assert refused.status_code == 403
    assert "'rewrite' scope" in refused.json()["message"]
    batch = {"items": [{"op": "rewrite", "id": "a", "goal": GOAL["goal"]}]}
    assert client.post("/v1/batch", json=batch, headers=key).status_code == 403
    assert client.delete("/v1/feedback", params={"subject": "p1"}, headers=key).status_code == 403


def test_scoped_keys_reach_their_routes(client: httpx.Client, keyed: tuple[Settings, dict[str, str]]) -> None:
    assert client.post("/v1/rewrite", json=GOAL, headers=_auth(keyed[1]["rewriter"])).status_code == 200
    assert client.get("/v1/kinds", headers=_auth(keyed[1]["rewriter"])).status_code == 200
    assert client.get("/v1/kinds").status_code == 401
    erased = client.delete("/v1/feedback", params={"subject": "p1"}, headers=_auth(keyed[1]["admin"]))
    assert erased.status_code == 200
    assert erased.json() == {"subject": "p1", "deleted": 0, "answers_deleted": 0}


def test_probes_and_the_page_need_no_key(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/").status_code == 200
    assert client.post("/rewrite-form", data={"goals": GOAL["goal"]}).status_code == 200


def test_rate_limit_answers_429_with_retry_after(
    client: httpx.Client, keyed: tuple[Settings, dict[str, str]]
) -> None:
    key = _auth(keyed[1]["limited"])
    # The burst is 100 goals: one batch of 100 spends it, and the next goal is over the limit.
    items = [{"op": "classify", "id": str(n), "goal": f"Close {n} deals per month"} for n in range(100)]
    assert client.post("/v1/batch", json={"items": items}, headers=key).status_code == 200
    refused = client.post("/v1/classify", json=GOAL, headers=key)
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    # 600 a minute earns the burst of 100 in 10 s: the goals spent just now come back then.
    assert 9 <= int(refused.headers["retry-after"]) <= 10
    # Budgets are per key: another key is not affected.
    assert client.post("/v1/classify", json=GOAL, headers=_auth(keyed[1]["classifier"])).status_code == 200


def test_idempotency_keys_belong_to_one_api_key(
    client: httpx.Client, keyed: tuple[Settings, dict[str, str]]
) -> None:
    headers = {"Idempotency-Key": "shared-key-1"}
    mine = client.post(
        "/v1/rewrite", json={"goal": CANARY_GOAL}, headers={**headers, **_auth(keyed[1]["rewriter"])}
    )
    theirs = client.post(
        "/v1/rewrite",
        json={"goal": "get promoted this year"},
        headers={**headers, **_auth(keyed[1]["admin"])},
    )
    assert mine.status_code == theirs.status_code == 200
    assert "idempotent-replayed" not in theirs.headers
    assert "zqxcanarygoal" not in theirs.text


def test_no_key_or_goal_text_in_logs_at_the_default_level(
    client: httpx.Client, keyed: tuple[Settings, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    key = keyed[1]["rewriter"]
    assert client.post("/v1/rewrite", json={"goal": CANARY_GOAL}, headers=_auth(key)).status_code == 200
    assert (
        client.post("/v1/classify", json={"goal": CANARY_GOAL}, headers=_auth("gr_wrong")).status_code == 401
    )
    batch = {
        "items": [
            {"op": "classify", "id": "x", "goal": CANARY_GOAL},
            {"op": "classify", "id": "y", "goal": ""},
        ]
    }
    assert client.post("/v1/batch", json=batch, headers=_auth(key)).status_code == 200
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "zqxcanarygoal" not in logged
    assert key not in logged
    assert key[:12] not in logged


async def test_without_keys_only_this_machine_is_served(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'empty.db'}")
    database.migrate()
    access = AccessControl(KeyStore(database), ttl_s=0)
    local = await access.caller(authorization=None, client_host="127.0.0.1")
    assert (local.keyed, local.scopes) == (False, frozenset(Scope))
    with pytest.raises(Unauthorized, match="only this machine"):
        await access.caller(authorization=None, client_host="10.1.2.3")
    database.dispose()


def test_serve_binds_loopback_until_a_key_exists(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    settings = Settings(_env_file=None, database_url=url, host="0.0.0.0")  # type: ignore[call-arg]
    assert serving_host(settings) == "127.0.0.1"
    assert "listens on 127.0.0.1 instead of 0.0.0.0" in caplog.text
    database = open_database(url)
    KeyStore(database).create(name="hr-tool", scopes=[Scope.CLASSIFY])
    database.dispose()
    assert serving_host(settings) == "0.0.0.0"
