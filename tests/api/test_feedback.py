"""POST and DELETE /v1/feedback over a real server, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from service.app import create_app
from service.cli import main
from service.config import Settings, get_settings
from service.engine import Engine
from service.labelled import LabelledGoal
from service.store.db import open_database
from service.store.feedback import FeedbackRecord, FeedbackStore
from service.store.keys import KeyStore, Scope
from service.store.tables import Base
from tests.live_server import running, serving_engine

CLIENTS = 6
EACH = 20


def _item(n: int, *, subject: str, verdict: str = "accepted") -> dict[str, object]:
    return {
        "goal": f"Close {n} deals per month",
        "rewrite": f"I will review {n} lost deals each Friday and note one thing to change.",
        "verdict": verdict,
        "goal_kind": "performance",
        "engine": "embedded",
        "prompt_version": None,
        "subject": subject,
    }


def test_feedback_from_concurrent_clients_is_all_there(
    db_url: str, embedded_engine: Engine, settings: Settings
) -> None:
    database = open_database(db_url)
    database.migrate()
    key = KeyStore(database).create(name="hr-tool", scopes=[Scope.FEEDBACK, Scope.ADMIN])[1]
    app_settings = settings.model_copy(update={"database_url": db_url})
    app = create_app(app_settings, loader=lambda _: embedded_engine)
    acknowledged: dict[int, list[int]] = {number: [] for number in range(CLIENTS)}
    failures: list[str] = []
    with running(app) as base_url:

        def client(number: int) -> None:
            # Each client has its own connection pool, as separate HR systems would.
            with httpx.Client(
                base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {key}"}
            ) as http:
                for n in range(EACH):
                    answer = http.post("/v1/feedback", json=_item(n, subject=f"person-{number}"))
                    if answer.status_code == 201:
                        acknowledged[number].append(FeedbackRecord.model_validate(answer.json()).id)
                    else:
                        failures.append(f"{answer.status_code} {answer.text}")

        threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        assert sum(len(ids) for ids in acknowledged.values()) == CLIENTS * EACH

        with httpx.Client(base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as http:
            erased = http.delete("/v1/feedback", params={"subject": "person-0"})
            assert erased.json() == {"subject": "person-0", "deleted": EACH, "answers_deleted": 0}
    store = FeedbackStore(database)
    stored = store.list(limit=10_000)
    kept = {record_id for number in range(1, CLIENTS) for record_id in acknowledged[number]}
    assert {record.id for record in stored} == kept
    assert all(record.key_name == "hr-tool" for record in stored)
    assert "person-0" not in {record.subject for record in stored}
    database.dispose()


def test_feedback_is_checked_and_exported_for_the_eval_suite(
    tmp_path: Path, embedded_engine: Engine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'export.db'}"
    own = settings.model_copy(update={"database_url": url})
    with serving_engine(own, embedded_engine, timeout_s=60) as (_base_url, http):
        assert http.post("/v1/feedback", json=_item(3, subject="p1")).status_code == 201
        assert http.post("/v1/feedback", json=_item(3, subject="p2")).status_code == 201
        assert http.post("/v1/feedback", json=_item(4, subject="p1", verdict="rejected")).status_code == 201
        bad = http.post("/v1/feedback", json={**_item(5, subject="p1"), "verdict": "maybe"})
        assert bad.status_code == 422
        assert "verdict" in bad.json()["message"]

    out = tmp_path / "feedback.jsonl"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GOAL_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            assert main(["feedback", "export", "--out", str(out)]) == 0
        finally:
            get_settings.cache_clear()
    assert "exported 1 goals" in capsys.readouterr().err
    rows = [LabelledGoal.model_validate(json.loads(line)) for line in out.read_text().splitlines()]
    assert len(rows) == 1
    assert rows[0].text == "Close 3 deals per month"
    assert rows[0].label == "performance"
    # Two people accepted the same rewrite: it is one reference, not two.
    assert rows[0].references == [_item(3, subject="")["rewrite"]]


def _rows_holding(database_url: str, text: str) -> list[str]:
    """Every row of every table with `text` in any column, as "table: row"."""
    database = open_database(database_url)
    try:
        with database.engine.connect() as connection:
            found = []
            for table in Base.metadata.sorted_tables:
                for row in connection.execute(select(table)):
                    if any(text in str(value) for value in row):
                        found.append(f"{table.name}: {tuple(row)}")
            return found
    finally:
        database.dispose()


def test_erasure_leaves_no_row_holding_the_persons_text(
    db_url: str, embedded_engine: Engine, settings: Settings
) -> None:
    database = open_database(db_url)
    database.migrate()
    key = KeyStore(database).create(name="hr-tool", scopes=[Scope.FEEDBACK, Scope.ADMIN])[1]
    database.dispose()
    app = create_app(settings.model_copy(update={"database_url": db_url}), loader=lambda _: embedded_engine)
    canary = "Close 31 deals per month in the Quillfeather region"
    with (
        running(app) as base_url,
        httpx.Client(base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as http,
    ):
        item = {**_item(31, subject="person-9"), "goal": canary}
        for attempt in range(2):
            # A retry with the same key gets the kept answer, which repeats the goal.
            answer = http.post("/v1/feedback", json=item, headers={"Idempotency-Key": "feedback-9"})
            assert answer.status_code == 201, answer.text
            assert answer.headers.get("idempotent-replayed") == ("true" if attempt else None)
        other = http.post(
            "/v1/feedback", json=_item(5, subject="person-1"), headers={"Idempotency-Key": "k1"}
        )
        assert other.status_code == 201
        assert _rows_holding(db_url, canary) != [], "the text is kept twice before erasure"
        erased = http.delete("/v1/feedback", params={"subject": "person-9"})
    assert erased.json() == {"subject": "person-9", "deleted": 1, "answers_deleted": 1}
    assert _rows_holding(db_url, canary) == []
    assert _rows_holding(db_url, "person-9") == []
    assert len(_rows_holding(db_url, "person-1")) == 2, "another person's record and kept answer stay"
