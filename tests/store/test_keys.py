"""API keys: creation, verification, revocation and listing, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from service.errors import KeyExists, StoreError
from service.store import Database, KeyStore, Scope
from service.store.tables import ApiKeyRow


def test_a_new_key_verifies_with_its_scopes_and_is_stored_only_as_a_hash(database: Database) -> None:
    keys = KeyStore(database)
    record, plaintext = keys.create(name="hr-tool", scopes=[Scope.CLASSIFY, Scope.FEEDBACK])

    assert re.fullmatch(r"gr_[A-Za-z0-9_-]{43}", plaintext)
    assert record.name == "hr-tool"
    assert record.prefix == plaintext[:8]
    assert record.scopes == {Scope.CLASSIFY, Scope.FEEDBACK}
    assert record.active
    assert record.created_at.tzinfo is not None
    assert plaintext not in record.model_dump_json()
    assert keys.verify(plaintext) == record
    with database.sessions() as session:
        row = session.scalars(select(ApiKeyRow)).one()
    assert row.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in (row.prefix, row.scopes, row.name)


def test_unknown_or_altered_keys_do_not_verify(database: Database) -> None:
    keys = KeyStore(database)
    _, plaintext = keys.create(name="one", scopes=[Scope.CLASSIFY])
    assert keys.verify(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert keys.verify("") is None
    assert keys.verify("gr_" + "x" * 43) is None


def test_a_revoked_key_no_longer_verifies_and_stays_listed(database: Database) -> None:
    keys = KeyStore(database)
    _, plaintext = keys.create(name="old", scopes=[Scope.ADMIN])
    assert keys.any_active()

    assert keys.revoke("old") is True
    assert keys.verify(plaintext) is None
    assert keys.revoke("old") is False
    assert keys.revoke("never-created") is False
    assert not keys.any_active()
    [listed] = keys.list()
    assert listed.name == "old"
    assert not listed.active
    assert listed.revoked_at is not None


def test_a_duplicate_name_raises_key_exists_even_after_revocation(database: Database) -> None:
    keys = KeyStore(database)
    keys.create(name="dup", scopes=[Scope.CLASSIFY])
    with pytest.raises(KeyExists, match="'dup' already exists"):
        keys.create(name="dup", scopes=[Scope.REWRITE])
    keys.revoke("dup")
    with pytest.raises(StoreError):
        keys.create(name="dup", scopes=[Scope.REWRITE])
    assert [key.scopes for key in keys.list()] == [{Scope.CLASSIFY}]


def test_list_returns_every_key_oldest_first_and_any_active_sees_one_live_key(database: Database) -> None:
    keys = KeyStore(database)
    assert keys.list() == []
    assert not keys.any_active()
    for name in ("a", "b", "c"):
        keys.create(name=name, scopes=list(Scope))
    keys.revoke("a")
    keys.revoke("c")
    listed = keys.list()
    assert [key.name for key in listed] == ["a", "b", "c"]
    assert [key.active for key in listed] == [False, True, False]
    assert listed[1].scopes == set(Scope)
    assert keys.any_active()


@pytest.mark.parametrize("name", ["", " padded", "x" * 101, "nul\x00"])
def test_blank_padded_overlong_or_unprintable_names_are_refused(database: Database, name: str) -> None:
    with pytest.raises(ValueError, match="key name"):
        KeyStore(database).create(name=name, scopes=[Scope.CLASSIFY])
    assert KeyStore(database).list() == []
