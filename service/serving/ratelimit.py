"""Request budgets, counted by the `limits` library in this process or in a Redis that every replica shares.

A budget of `per_minute` units a minute with a `burst` allowance is limits' moving window of `burst` units
per `window_s` seconds, where `window_s` is how long the per-minute rate takes to earn a whole burst
(`60 * burst / per_minute`, rounded up). Of limits' three strategies it is the only exact one: no rolling
`window_s` seconds ever hold more than `burst` units, so a key gets `burst` at once, `per_minute` a minute
on average, and never more than `per_minute + burst` in any minute, on one replica or twenty. The fixed
window lets twice the limit through across a window's edge, and the sliding window counter guesses the
previous window's spread, which lets up to twice through too. Unlike a token bucket, spent units come back
all together `window_s` after they were spent rather than one by one, so a key that spent its whole burst
waits up to `window_s` (10 s by default) and then has it all again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from service.errors import RateLimited

logger = logging.getLogger(__name__)

MEMORY = "memory://"
SHARED_SCHEMES = ("redis://", "rediss://")
# A budget check is on every request's path: a Redis that does not answer within this is taken as down,
# rather than holding the request (redis-py would otherwise wait without limit and retry with backoff).
STORE_TIMEOUT_S = 0.5
# While the store is down, budgets are counted here and the store is tried again after this long, so a
# request pays the timeout at most once per interval instead of every time.
STORE_RETRY_S = 5.0
KEY_PREFIX = "goal-rewriter"


class BudgetStore:
    """Where budgets are counted: this process (`memory://`) or a Redis URL shared by the replicas.

    When the shared store cannot be reached, budgets are counted in this process until it answers again
    (logged both ways): each replica then allows the whole rate, as before budgets were shared, which
    keeps every key limited without making Redis a reason for the API to fail.
    """

    def __init__(self, url: str = MEMORY, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.shared = url.startswith(SHARED_SCHEMES)
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._clock = clock
        self._down_until: float | None = None
        self._pool: ConnectionPool | None = None
        self._store = self._local
        if self.shared:
            self._pool = ConnectionPool.from_url(
                url,
                socket_timeout=STORE_TIMEOUT_S,
                socket_connect_timeout=STORE_TIMEOUT_S,
                retry=Retry(NoBackoff(), 0),
            )
            storage = RedisStorage(
                f"async+{url}",
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                # Our own pool, for its timeouts and so that shutdown can close it; limits hands it to
                # redis-py as it is, though its signature types the options as plain values.
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
            self._store = MovingWindowRateLimiter(storage)

    async def spend(self, item: RateLimitItemPerSecond, key: str, cost: int) -> float | None:
        """Spend `cost` units of `key`'s budget of `item`: None if they were there, else the seconds until
        the window gives units back (the store's own reset time)."""
        limiter = self._limiter()
        try:
            wait = await _spend(limiter, item, key, cost)
        except (RedisError, OSError) as exc:
            if limiter is self._local:
                raise
            self._failed(exc)
            return await _spend(self._local, item, key, cost)
        if limiter is self._store and self._down_until is not None:
            self._down_until = None
            logger.info("the rate-limit store answers again; budgets are shared by the replicas again")
        return wait

    def _limiter(self) -> MovingWindowRateLimiter:
        if self._down_until is not None and self._clock() < self._down_until:
            return self._local
        return self._store

    def _failed(self, exc: Exception) -> None:
        if self._down_until is None:
            logger.warning(
                "the rate-limit store (GOAL_RATE_LIMIT_STORAGE) cannot be reached (%s: %s); counting "
                "budgets in this process, trying the store again every %.0f s",
                type(exc).__name__,
                exc,
                STORE_RETRY_S,
            )
        self._down_until = self._clock() + STORE_RETRY_S

    async def aclose(self) -> None:
        """Close the connections to the shared store."""
        if self._pool is not None:
            await self._pool.aclose()


async def _spend(
    limiter: MovingWindowRateLimiter, item: RateLimitItemPerSecond, key: str, cost: int
) -> float | None:
    if await limiter.hit(item, key, cost=cost):
        return None
    stats = await limiter.get_window_stats(item, key)
    return stats.reset_time - time.time()


def window_seconds(*, per_minute: int, burst: int) -> int:
    """How long `per_minute` takes to earn `burst` units, in whole seconds (rounded up, so the average
    rate never exceeds `per_minute`)."""
    return max(1, math.ceil(60 * burst / per_minute))


class RateLimiter:
    """Allows `per_minute` units a minute per caller, up to `burst` at once; a batch item is one unit.

    `namespace` keeps budgets of different kinds apart in a shared store.
    """

    def __init__(self, *, per_minute: int, burst: int, store: BudgetStore, namespace: str) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self._store = store
        self.window_s = window_seconds(per_minute=per_minute, burst=burst) if per_minute > 0 else 0
        self._item = RateLimitItemPerSecond(burst, max(1, self.window_s), namespace=namespace)

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    async def take(self, caller: str, cost: int = 1) -> None:
        """Spend `cost` units of the caller's budget, or raise `RateLimited` saying when to retry."""
        if not self.enabled:
            return
        if cost > self.burst:
            raise RateLimited(
                f"this request costs {cost} units and the burst allowance is {self.burst}; "
                "split it into smaller requests",
                retry_after=self.window_s,
            )
        wait = await self._store.spend(self._item, caller, cost)
        if wait is None:
            return
        # The first spent units to come back may be fewer than `cost`; the retry then gets a new wait.
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"the rate limit of {self.per_minute} goals a minute for this API key is reached; "
            f"retry in {seconds} s",
            retry_after=seconds,
        )
