"""`goal-rewriter keys ...` and `feedback tidy`: keys printed once, stored hashed, listed without secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cli import main
from service.config import get_settings
from service.store.db import open_database
from service.store.keys import KeyStore


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("GOAL_DATABASE_URL", url)
    # The CLI reads the process-wide settings, which an earlier test may have built already.
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_keys_create_prints_the_key_once_on_its_last_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--name", "workday", "--scopes", "classify,rewrite"]) == 0
    lines = capsys.readouterr().out.splitlines()
    key = lines[-1]
    assert key.startswith("gr_")
    assert len(key) > 40
    database = open_database(database_url)
    stored = KeyStore(database).verify(key)
    assert stored is not None
    assert sorted(stored.scopes) == ["classify", "rewrite"]
    # Only the hash is stored: the plaintext is nowhere in the database file.
    database.dispose()
    assert key.encode() not in Path(database_url.removeprefix("sqlite:///")).read_bytes()

    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "workday" in listed
    assert key[:8] in listed
    assert key not in listed


def test_keys_revoke_and_mistakes_get_clear_messages(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--name", "sap", "--scopes", "feedback"]) == 0
    assert main(["keys", "create", "--name", "sap"]) == 2
    assert "sap" in capsys.readouterr().err
    assert main(["keys", "create", "--name", "x", "--scopes", "classify,delete"]) == 2
    assert "unknown scope delete" in capsys.readouterr().err
    assert main(["keys", "revoke", "sap"]) == 0
    assert main(["keys", "revoke", "sap"]) == 1
    assert "no active key is named 'sap'" in capsys.readouterr().err
    assert main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_feedback_tidy_applies_the_retention(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feedback", "tidy"]) == 0
    assert "older than 365 days" in capsys.readouterr().out
