"""The configuration tables in README.md and docs/configuration.md say what `Settings` says."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

from pydantic import Field, SecretStr

from service.config import PACKAGE_DIR, Settings

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `(GOAL_[A-Z0-9_]+)` \|.*\|$", re.MULTILINE)


def _default(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, Path):
        # Package files are named as they sit in the repository, not where this machine installed them.
        shown = value.relative_to(PACKAGE_DIR.parent) if value.is_relative_to(PACKAGE_DIR.parent) else value
        return f"`{shown}`"
    return f"`{value}`"


def settings_rows(settings: type[Settings] = Settings) -> dict[str, str]:
    """One table row per setting: `| variable | default | what it does |`, from the fields themselves."""
    prefix = settings.model_config.get("env_prefix", "")
    rows = {}
    for name, field in settings.model_fields.items():
        variable = f"{prefix}{name}".upper()
        description = (field.description or "").replace("|", "\\|")
        rows[variable] = f"| `{variable}` | {_default(field.default)} | {description} |"
    return rows


def _table_rows(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    return {match.group(1): match.group(0) for match in ROW.finditer(text)}


def test_every_setting_has_a_described_row_in_docs_configuration() -> None:
    expected = settings_rows()
    assert all(row.split(" | ")[2].strip(" |") for row in expected.values()), "describe every setting"
    found = _table_rows(ROOT / "docs" / "configuration.md")
    table = "\n".join(expected.values())
    assert found == expected, f"docs/configuration.md's table should read:\n{table}"


def test_the_readme_rows_are_rows_of_settings() -> None:
    found = _table_rows(ROOT / "README.md")
    assert found, "the README shows the settings people change most"
    expected = settings_rows()
    assert {variable: expected.get(variable) for variable in found} == found


def test_a_changed_default_or_a_new_setting_changes_the_rows() -> None:
    class Changed(Settings):
        port: int = Field(default=9000, description="Port `goal-rewriter serve` listens on.")
        extra_thing: bool = Field(default=False, description="Something new | with a pipe.")

    before, after = settings_rows(), settings_rows(Changed)
    assert before["GOAL_PORT"] == "| `GOAL_PORT` | `8000` | Port `goal-rewriter serve` listens on. |"
    assert after["GOAL_PORT"] == "| `GOAL_PORT` | `9000` | Port `goal-rewriter serve` listens on. |"
    assert after["GOAL_EXTRA_THING"] == "| `GOAL_EXTRA_THING` | `False` | Something new \\| with a pipe. |"
    assert after.keys() - before.keys() == {"GOAL_EXTRA_THING"}
