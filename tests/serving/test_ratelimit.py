"""Request budgets on the `limits` moving window, counted in this process and in a shared Redis: a burst at
once, never more than the rate plus the burst in a minute, retry times from the store, and budgets in this
process while the store is down."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from evals.loadgen import free_port
from service.config import Settings
from service.errors import RateLimited
from service.serving.ratelimit import STORE_RETRY_S, BudgetStore, RateLimiter, window_seconds
from tests.redis_server import RedisServer, running_redis

PER_MINUTE = 60
BURST = 10


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def budgets(request: pytest.FixtureRequest) -> AsyncIterator[BudgetStore]:
    """A budget store in this process, and one in the session's Redis (flushed: full budgets)."""
    if request.param == "memory":
        yield BudgetStore()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    store = BudgetStore(server.url)
    assert store.shared
    yield store
    await store.aclose()


def _limiter(store: BudgetStore, namespace: str = "api-key") -> RateLimiter:
    return RateLimiter(per_minute=PER_MINUTE, burst=BURST, store=store, namespace=namespace)


async def test_a_burst_is_accepted_at_once_and_the_next_goal_is_refused(budgets: BudgetStore) -> None:
    limiter = _limiter(budgets)
    for _ in range(BURST):
        await limiter.take("alice")
    with pytest.raises(RateLimited) as refused:
        await limiter.take("alice")
    assert str(refused.value).startswith("the rate limit of 60 goals a minute for this API key is reached")


async def test_retry_after_is_when_the_store_gives_spent_units_back(budgets: BudgetStore) -> None:
    limiter = _limiter(budgets)
    await limiter.take("alice", BURST)
    with pytest.raises(RateLimited) as refused:
        await limiter.take("alice")
    # 60 a minute earns a burst of 10 in 10 s: the units spent just now come back then.
    assert limiter.window_s == 10
    assert 9 <= refused.value.retry_after <= 10
    assert str(refused.value).endswith(f"retry in {refused.value.retry_after} s")


async def test_a_batch_spends_one_unit_per_goal(budgets: BudgetStore) -> None:
    limiter = _limiter(budgets)
    await limiter.take("alice", 7)
    with pytest.raises(RateLimited):
        await limiter.take("alice", 4)
    await limiter.take("alice", 3)


async def test_a_request_over_the_burst_is_refused_and_spends_nothing(budgets: BudgetStore) -> None:
    limiter = _limiter(budgets)
    with pytest.raises(
        RateLimited, match="costs 11 units and the burst allowance is 10; split it"
    ) as refused:
        await limiter.take("alice", BURST + 1)
    assert refused.value.retry_after == limiter.window_s
    await limiter.take("alice", BURST)


async def test_budgets_are_per_caller_and_per_kind(budgets: BudgetStore) -> None:
    keys, page = _limiter(budgets), _limiter(budgets, namespace="page-client")
    await keys.take("alice", BURST)
    await keys.take("bob", BURST)
    await page.take("alice", BURST)
    with pytest.raises(RateLimited):
        await keys.take("alice")


async def test_a_rate_of_zero_turns_the_limit_off(budgets: BudgetStore) -> None:
    limiter = RateLimiter(per_minute=0, burst=BURST, store=budgets, namespace="api-key")
    for _ in range(3):
        await limiter.take("alice", 1000)


@pytest.mark.parametrize(
    ("per_minute", "burst"), [(1200, 200), (60, 20), (6, 100), (7, 100), (1000, 100), (59, 10), (1, 10)]
)
def test_no_minute_holds_more_than_the_rate_plus_the_burst(per_minute: int, burst: int) -> None:
    window = window_seconds(per_minute=per_minute, burst=burst)
    # Any closed minute meets at most floor(60 / window) + 1 windows, each holding at most `burst` units.
    assert burst * (60 // window + 1) <= per_minute + burst
    # The long-run rate stays within per_minute.
    assert burst * 60 / window <= per_minute


async def test_two_replicas_on_one_redis_share_a_budget(redis_server: RedisServer) -> None:
    redis_server.flush()
    first, second = BudgetStore(redis_server.url), BudgetStore(redis_server.url)
    try:
        await _limiter(first).take("alice", BURST - 1)
        await _limiter(second).take("alice")
        with pytest.raises(RateLimited) as refused:
            await _limiter(first).take("alice")
        assert 9 <= refused.value.retry_after <= 10
    finally:
        await first.aclose()
        await second.aclose()


async def test_an_unreachable_store_is_logged_and_budgets_are_kept_in_this_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, clock = free_port(), Clock()
    store = BudgetStore(f"redis://127.0.0.1:{port}/0", clock=clock)
    limiter = _limiter(store)
    with caplog.at_level(logging.WARNING, logger="service.serving.ratelimit"):
        await limiter.take("alice", BURST)
        with pytest.raises(RateLimited):
            await limiter.take("alice")
        clock.now += STORE_RETRY_S
        # Tried again, still down: still limited, and said once.
        with pytest.raises(RateLimited):
            await limiter.take("alice")
    down = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert len(down) == 1
    assert down[0].levelno == logging.WARNING
    assert "GOAL_RATE_LIMIT_STORAGE" in down[0].getMessage()
    await store.aclose()


async def test_budgets_are_shared_again_once_the_store_answers(caplog: pytest.LogCaptureFixture) -> None:
    port, clock = free_port(), Clock()
    store = BudgetStore(f"redis://127.0.0.1:{port}/0", clock=clock)
    with caplog.at_level(logging.INFO, logger="service.serving.ratelimit"), running_redis(port) as server:
        server.stop()
        await _limiter(store).take("alice")
        server.start()
        other = BudgetStore(server.url)
        try:
            clock.now += STORE_RETRY_S
            # The unit spent while the store was down stays in this process; these nine are shared.
            await _limiter(store).take("alice", BURST - 1)
            await _limiter(other).take("alice")
            with pytest.raises(RateLimited):
                await _limiter(other).take("alice")
        finally:
            await other.aclose()
            await store.aclose()
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_the_storage_setting_takes_memory_or_a_redis_url() -> None:
    def storage(value: str) -> str:
        return Settings(_env_file=None, rate_limit_storage=value).rate_limit_storage  # type: ignore[call-arg]

    assert storage("") == "memory://"
    assert storage("redis://cache:6379/0") == "redis://cache:6379/0"
    with pytest.raises(ValidationError, match=r"memory:// .* or a Redis URL such as redis://host:6379/0"):
        storage("memcached://cache:11211")
