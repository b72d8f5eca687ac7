"""Errors as types. Two roots, kept apart:

    ConfigError                 a developer or operator mistake: fix the setup, then restart
    └── ArtifactError           the classifier artifact is missing, stale or built for another model

    GoalRewriterError           something went wrong while answering a request
    ├── InvalidGoal             the goal text cannot be used (empty, too long, control characters)
    └── NotReady                the model is still loading, or failed to load

The API maps `InvalidGoal` to 422 and `NotReady` to 503; every message says what to do about it.
"""

from __future__ import annotations


class ConfigError(Exception):
    """The service is set up wrongly; the message says which setting or file to fix."""


class ArtifactError(ConfigError):
    """The trained classifier head cannot be used with this data or model."""


class GoalRewriterError(Exception):
    """Root of the errors raised while answering a request."""


class InvalidGoal(GoalRewriterError, ValueError):
    """The goal text is unusable; the message tells the person how to fix it."""


class NotReady(GoalRewriterError):
    """The embedded engine is not loaded yet (or failed to load); the message says which."""
