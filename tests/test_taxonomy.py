"""The taxonomy is the one source of the kinds' wording."""

from __future__ import annotations

from pathlib import Path

from service.taxonomy import KIND_ORDER, KINDS, Kind

ROOT = Path(__file__).resolve().parents[1]


def test_three_kinds_in_order_of_control() -> None:
    assert [k.value for k in KIND_ORDER] == ["outcome", "performance", "mastery"]
    assert set(KINDS) == set(Kind)
    assert all(info.examples for info in KINDS.values())


def test_definitions_are_written_only_in_the_taxonomy_module() -> None:
    sources = [p for p in (ROOT / "service").rglob("*.py") if p.name != "taxonomy.py"]
    for info in KINDS.values():
        for path in sources:
            assert info.definition[:40] not in path.read_text(encoding="utf-8"), path
