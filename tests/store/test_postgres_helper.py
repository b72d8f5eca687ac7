"""The test cluster helper: missing PostgreSQL binaries must fail the run with the fix, not skip it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import postgres


def test_missing_postgresql_binaries_raise_an_error_naming_make_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _: None)
    monkeypatch.setattr(postgres, "DEBIAN_POSTGRES", tmp_path)
    (tmp_path / "15" / "bin").mkdir(parents=True)  # a client-only install: no initdb, no server
    with pytest.raises(postgres.PostgresMissing, match="`make install` installs Debian's postgresql"):
        postgres.find_bindir()


def test_the_installed_binaries_are_found() -> None:
    bindir = postgres.find_bindir()
    assert (bindir / "initdb").is_file()
    assert (bindir / "postgres").is_file()
