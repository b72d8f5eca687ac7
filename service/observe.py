"""A hook through which the server watches the domain's answers (for metrics) without the domain knowing it.

The API sets the app's observer for each request it answers (`observing`); the cascade and the rewriter
report each answer to `observer()`. Everywhere else (the CLI, the evals) the observer does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from service.schemas import Classification, RewriteResponse


class Observer(Protocol):
    """Told of every answer the engine gives."""

    def classified(self, answer: Classification) -> None:
        """A goal was classified (on its own or as the first step of a rewrite)."""

    def rewritten(self, answer: RewriteResponse) -> None:
        """A goal was rewritten; its classification was reported on its own before."""


class NoObserver:
    """Watches nothing."""

    def classified(self, answer: Classification) -> None:
        return None

    def rewritten(self, answer: RewriteResponse) -> None:
        return None


# A context variable, not a constructor argument: the engine is built by a loader that knows nothing of
# the app (tests share one engine between apps), and the tasks a request starts (a batch's items, a pasted
# list's goals) inherit their request's observer.
_current: ContextVar[Observer | None] = ContextVar("observer", default=None)
_NOTHING = NoObserver()


def observer() -> Observer:
    """The observer of the request being answered, or one that does nothing."""
    watcher = _current.get()
    return _NOTHING if watcher is None else watcher


@contextmanager
def observing(watcher: Observer) -> Iterator[None]:
    """Report the answers given inside the block to `watcher`."""
    token = _current.set(watcher)
    try:
        yield
    finally:
        _current.reset(token)
