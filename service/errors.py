"""Errors as types. Two roots, kept apart:

    ConfigError                 a developer or operator mistake: fix the setup, then restart
    ├── ArtifactError           the classifier artifact is missing, stale or built for another model
    └── PromptError             a prompt file is malformed, or rendered with missing or unknown variables

    GoalRewriterError           something went wrong while answering a request
    ├── InvalidGoal             the goal text cannot be used (empty, too long, control characters)
    ├── NotReady                the model is still loading, or failed to load
    └── LLMError                the LLM gave no usable answer; callers fall back to the embedded engine
        ├── LLMUnavailable      the endpoint failed, timed out, rate-limited past the deadline, or is skipped
        │                       while its circuit breaker is open
        └── LLMOutputInvalid    the endpoint answered, but not with usable output (invalid after re-asks,
                                truncated, filtered or refused)

The API maps `InvalidGoal` to 422 and `NotReady` to 503; `LLMError` never reaches a caller, it becomes
`degraded: true` with the error's `code`. Every message says what to do about it.
"""

from __future__ import annotations


class ConfigError(Exception):
    """The service is set up wrongly; the message says which setting or file to fix."""


class ArtifactError(ConfigError):
    """The trained classifier head cannot be used with this data or model."""


class PromptError(ConfigError):
    """A prompt template cannot be loaded or rendered."""


class GoalRewriterError(Exception):
    """Root of the errors raised while answering a request."""


class InvalidGoal(GoalRewriterError, ValueError):
    """The goal text is unusable; the message tells the person how to fix it."""


class NotReady(GoalRewriterError):
    """The embedded engine is not loaded yet (or failed to load); the message says which."""


class LLMError(GoalRewriterError):
    """The LLM gave no usable answer; `code` is the short machine-readable reason a response carries."""

    code = "llm_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class LLMUnavailable(LLMError):
    """Transport failure: timeout, connection, 429 or 5xx past retries, deadline, or breaker open."""

    code = "llm_unavailable"


class LLMOutputInvalid(LLMError):
    """The endpoint answered, but the output was unusable."""

    code = "llm_output_invalid"
