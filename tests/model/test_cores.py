"""`Cores` gives an encode every core only when nothing else waits and wide encodes have been faster."""

from __future__ import annotations

import threading

import pytest

from service.model.cores import Cores

WAIT_S = 5.0


class Clock:
    """A clock the test moves by hand: an encode "takes" what the test adds inside its block."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _encode(cores: Cores, clock: Clock, *, wide_ms: float, narrow_ms: float, alone: bool = True) -> int:
    """Hold cores for one encode of one text that takes `wide_ms` or `narrow_ms`; the cores it was given."""
    with cores.held(texts=1, alone=alone) as taken:
        clock.now += (wide_ms if taken == cores.total else narrow_ms) / 1000
    return taken


def test_each_encoder_gets_its_share_of_the_cores_and_at_least_one() -> None:
    assert Cores(4, encoders=2).share == 2
    assert Cores(2, encoders=2).share == 1
    assert Cores(2, encoders=3).share == 1
    with pytest.raises(ValueError, match="at least one core"):
        Cores(0, encoders=1)


def test_a_lone_encode_tries_each_width_then_keeps_the_faster() -> None:
    clock = Clock()
    cores = Cores(2, encoders=2, clock=clock)
    first, second = (_encode(cores, clock, wide_ms=6, narrow_ms=9) for _ in range(2))
    assert (first, second) == (1, 2), "narrow first, then wide, before either is known"
    assert [_encode(cores, clock, wide_ms=6, narrow_ms=9) for _ in range(10)] == [2] * 10


def test_when_wide_encodes_slow_down_lone_encodes_go_narrow_and_the_wide_width_is_retried() -> None:
    clock = Clock()
    cores = Cores(2, encoders=2, clock=clock)
    for _ in range(5):
        _encode(cores, clock, wide_ms=6, narrow_ms=9)
    # A neighbour arrives: wide encodes now wait on a busy core.
    widths = [_encode(cores, clock, wide_ms=30, narrow_ms=12) for _ in range(40)]
    assert widths[0] == 2, "the first slow one is still wide"
    assert 1 in widths[:5], "a few slow ones in a row (half the kept timings) turn it narrow"
    settled = widths[widths.index(1) :]
    assert settled.count(2) in (2, 3), "the losing width is tried about one time in 16"
    assert settled.count(1) >= len(settled) - 3


def test_one_slow_wide_encode_among_fast_ones_changes_nothing() -> None:
    clock = Clock()
    cores = Cores(2, encoders=2, clock=clock)
    for _ in range(5):
        _encode(cores, clock, wide_ms=6, narrow_ms=9)
    assert _encode(cores, clock, wide_ms=40, narrow_ms=9) == 2
    assert [_encode(cores, clock, wide_ms=6, narrow_ms=9) for _ in range(5)] == [2] * 5


def test_encodes_with_other_work_waiting_get_only_their_share_and_teach_nothing() -> None:
    clock = Clock()
    cores = Cores(2, encoders=2, clock=clock)
    assert [_encode(cores, clock, wide_ms=6, narrow_ms=90, alone=False) for _ in range(3)] == [1, 1, 1]
    assert _encode(cores, clock, wide_ms=6, narrow_ms=9) == 1, "nothing learnt: a lone narrow one first"


def test_an_encode_waits_while_a_wide_one_holds_every_core() -> None:
    cores = Cores(2, encoders=2)
    with cores.held(texts=1, alone=True):
        pass  # narrow, the first time
    got: list[int] = []
    waiting = threading.Event()

    def second() -> None:
        waiting.set()
        with cores.held(texts=1, alone=False) as taken:
            got.append(taken)

    with cores.held(texts=1, alone=True) as wide:
        assert wide == 2
        other = threading.Thread(target=second)
        other.start()
        assert waiting.wait(WAIT_S)
        other.join(0.2)
        assert other.is_alive(), "no core is free until the wide encode ends"
        assert not got
    other.join(WAIT_S)
    assert got == [1]


def test_concurrent_holders_never_hold_more_cores_than_there_are() -> None:
    cores = Cores(2, encoders=2)
    lock = threading.Lock()
    held = [0]
    most = [0]

    def encode(alone: bool) -> None:
        with cores.held(texts=1, alone=alone) as taken:
            with lock:
                held[0] += taken
                most[0] = max(most[0], held[0])
            threading.Event().wait(0.002)
            with lock:
                held[0] -= taken

    threads = [threading.Thread(target=encode, args=(i % 3 == 0,)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert most[0] == 2
