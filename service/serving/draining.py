"""Graceful shutdown: on SIGTERM the app reports draining on /readyz and goes on serving for a while, so a
load balancer stops sending it requests; then uvicorn closes the listener and finishes the requests in flight.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from service.config import Settings

logger = logging.getLogger(__name__)


class Draining:
    """Whether the server is draining; set once, when it is told to stop."""

    def __init__(self) -> None:
        self._active = threading.Event()

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def start(self) -> None:
        """From now on /readyz answers 503 `draining`; requests are still served."""
        self._active.set()


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with a drain between SIGTERM and the listener closing.

    SIGTERM (what an orchestrator sends) starts the drain; after `drain_s` the usual graceful shutdown
    follows. A second SIGTERM, or SIGINT (Ctrl+C from a person), shuts down at once, still gracefully.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        draining: Draining,
        drain_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config)
        self.draining = draining
        self._drain_s = drain_s
        self._clock = clock
        self._drain_ends: float | None = None
        self._announced = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self._drain_ends is None and not self.should_exit:
            # A signal handler only sets state; the event loop's tick acts on it (and logs).
            self.draining.start()
            self._drain_ends = self._clock() + self._drain_s
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self._drain_ends is not None and not self.should_exit:
            if not self._announced:
                self._announced = True
                logger.info("SIGTERM: draining for %.1fs, then closing the listener", self._drain_s)
            if self._clock() >= self._drain_ends:
                self.should_exit = True
        return await super().on_tick(counter)

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's, except that the signal that stopped the server is not raised again once it has stopped
        (uvicorn does that for programs that embed it): here the server is the program, and a graceful stop
        is a clean exit (status 0), not a KeyboardInterrupt traceback or a death by SIGTERM."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def draining_server(
    app: ASGIApp, settings: Settings, *, draining: Draining, log_config: dict[str, Any] | None
) -> DrainingServer:
    """The server `goal-rewriter serve` runs: on `settings`' address, draining for `drain_seconds`, then
    giving requests in flight `graceful_shutdown_s`. `log_config` None leaves logging as it is."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=log_config,
        access_log=False,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
    )
    return DrainingServer(config, draining=draining, drain_s=settings.drain_seconds)
