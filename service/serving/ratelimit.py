"""Per-key request budgets: a token bucket per caller, refilled at a steady rate, with a burst allowance."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from service.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows `per_minute` units a minute per caller, up to `burst` at once; a batch item is one unit.

    Budgets live in this process: N replicas allow N times the rate (the README's scaling notes say so).
    """

    def __init__(self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def take(self, caller: str, cost: int = 1) -> None:
        """Spend `cost` units of the caller's budget, or raise `RateLimited` saying when to retry."""
        if not self.enabled:
            return
        if cost > self._burst:
            raise RateLimited(
                f"this request costs {cost} units and the burst allowance is {self._burst:.0f}; "
                "split it into smaller requests",
                retry_after=math.ceil(self._burst / self._rate),
            )
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(caller, _Bucket(tokens=self._burst, updated=now))
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return
            wait = (cost - bucket.tokens) / self._rate
        raise RateLimited(
            f"the rate limit of {self._rate * 60:.0f} goals a minute for this API key is reached; "
            f"retry in {math.ceil(wait)} s",
            retry_after=math.ceil(wait),
        )
