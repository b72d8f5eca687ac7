"""Errors as types. Three roots, kept apart:

    ConfigError                 a developer or operator mistake: fix the setup, then restart
    ├── ArtifactError           the classifier artifact is missing, stale or built for another model
    └── PromptError             a prompt file is malformed, or rendered with missing or unknown variables

    GoalRewriterError           something went wrong while answering a request
    ├── InvalidGoal             the goal text cannot be used (empty, too long, control characters)
    ├── NotReady                the model is still loading, or failed to load
    │   └── EngineBroken        the engine failed to load, or its model stopped: waiting will not help
    │       └── ModelStopped    the embedding model's process has exited
    ├── AccessDenied            the caller may not make this request
    │   ├── Unauthorized        no API key, an unknown or revoked one, or not the metrics token (401)
    │   └── Forbidden           the key lacks the scope the endpoint needs (403)
    ├── RateLimited             the key spent its request budget; retry after `retry_after` seconds (429)
    ├── IdempotencyError        an Idempotency-Key cannot be honoured
    │   ├── IdempotencyKeyReused    the key was first used with another request body (422)
    │   └── IdempotencyInProgress   the key's first request is still running (409)
    └── LLMError                the LLM gave no usable answer; callers fall back to the embedded engine
        ├── LLMUnavailable      the endpoint failed, timed out, rate-limited past the deadline, or is skipped
        │                       while its circuit breaker is open
        └── LLMOutputInvalid    the endpoint answered, but not with usable output (invalid after re-asks,
                                truncated, filtered or refused)

    StoreError                  the database refused an operation
    └── KeyExists               an API key with that name exists already (names stay taken once revoked)

The API maps `InvalidGoal` to 422, `NotReady` to 503 and each access or idempotency error to the status
shown; `LLMError` never reaches a caller, it becomes `degraded: true` with the error's `code`. Every
message says what to do about it.
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


class EngineBroken(NotReady):
    """The engine failed to load, or its model stopped: nothing is answered until the cause is fixed and the
    service restarted (the page tells people so instead of asking them to retry)."""


class ModelStopped(EngineBroken):
    """The embedding model's child process has exited, so nothing can be embedded until a restart."""


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


class AccessDenied(GoalRewriterError):
    """The caller may not make this request; `status` is the HTTP answer."""

    status = 403
    code = "forbidden"


class Unauthorized(AccessDenied):
    """No API key, or one the store does not know or has revoked."""

    status = 401
    code = "unauthorized"


class Forbidden(AccessDenied):
    """A valid key without the scope this endpoint needs."""


class RateLimited(GoalRewriterError):
    """The key's request budget is spent for now."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyError(GoalRewriterError):
    """An Idempotency-Key cannot be honoured; `status` is the HTTP answer."""

    status = 422
    code = "idempotency_error"


class IdempotencyKeyReused(IdempotencyError):
    """The key was first used with a different request, so its stored answer does not apply."""

    code = "idempotency_key_reused"


class IdempotencyInProgress(IdempotencyError):
    """The first request with this key has not finished; the retry should wait for it."""

    status = 409
    code = "idempotency_in_progress"


class StoreError(Exception):
    """Root of the errors the database layer raises on purpose; the message says what to do."""


class KeyExists(StoreError):
    """An API key with this name exists (revoked keys keep their name, so logs stay unambiguous)."""
