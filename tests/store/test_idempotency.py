"""Stored idempotent answers: the first writer wins, also under a race; old answers are purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.store import Database, IdempotencyStore, StoredAnswer, open_database
from tests.store.clients import run_together


def test_a_stored_answer_is_returned_for_the_same_key(database: Database) -> None:
    store = IdempotencyStore(database)
    assert store.get(key_name="k", idem_key="abc") is None
    stored = store.put(key_name="k", idem_key="abc", request_hash="h1", status_code=201, body='{"id": 1}')
    assert stored == StoredAnswer(request_hash="h1", status_code=201, body='{"id": 1}')
    assert store.get(key_name="k", idem_key="abc") == stored


def test_the_same_idempotency_key_under_two_api_keys_is_two_answers(database: Database) -> None:
    store = IdempotencyStore(database)
    store.put(key_name="k1", idem_key="same", request_hash="h1", status_code=200, body="one")
    store.put(key_name="k2", idem_key="same", request_hash="h2", status_code=200, body="two")
    assert store.get(key_name="k1", idem_key="same") == StoredAnswer(
        request_hash="h1", status_code=200, body="one"
    )
    assert store.get(key_name="k2", idem_key="same") == StoredAnswer(
        request_hash="h2", status_code=200, body="two"
    )


def test_a_second_put_gets_the_first_answer_back(database: Database) -> None:
    store = IdempotencyStore(database)
    first = store.put(key_name="k", idem_key="x", request_hash="h1", status_code=200, body="first")
    second = store.put(key_name="k", idem_key="x", request_hash="h2", status_code=500, body="second")
    assert second == first
    assert store.get(key_name="k", idem_key="x") == first


def test_racing_clients_all_get_the_one_answer_that_won(db_url: str, database: Database) -> None:
    def client(number: int) -> StoredAnswer:
        db = open_database(db_url)
        try:
            store = IdempotencyStore(db)
            return store.put(
                key_name="k", idem_key="race", request_hash=f"h{number}", status_code=200, body=f"{number}"
            )
        finally:
            db.dispose()

    answers = run_together(8, client)
    assert len(set(answers)) == 1
    assert IdempotencyStore(database).get(key_name="k", idem_key="race") == answers[0]


def test_purge_deletes_only_answers_older_than_the_window(database: Database) -> None:
    store = IdempotencyStore(database)
    store.put(key_name="k", idem_key="a", request_hash="h", status_code=200, body="")
    assert store.purge_older_than(24) == 0
    assert store.purge_older_than(24, now=datetime.now(UTC) + timedelta(hours=23)) == 0
    assert store.purge_older_than(24, now=datetime.now(UTC) + timedelta(hours=25)) == 1
    assert store.get(key_name="k", idem_key="a") is None


def test_purge_refuses_a_naive_time(database: Database) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        IdempotencyStore(database).purge_older_than(1, now=datetime(2026, 1, 1))


@pytest.mark.parametrize("idem_key", ["", "x" * 256, "nul\x00"])
def test_empty_overlong_or_unprintable_idempotency_keys_are_refused(
    database: Database, idem_key: str
) -> None:
    with pytest.raises(ValueError, match="1 to 255 printable characters"):
        IdempotencyStore(database).put(
            key_name="k", idem_key=idem_key, request_hash="h", status_code=200, body=""
        )
