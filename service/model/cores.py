"""How many CPU threads each encode of the model gets.

Under load, every model process encodes with its share of the cores (one each, with one process per core).
A batch that finds no other work, queued or running, may take every core instead: on an idle 2-core
machine one sentence then took 6.5 ms instead of 9. But when another process keeps a core busy, the
threads of a wide encode wait for each other at each of its hundreds of operations, and one sentence took
30 ms. So `Cores` times every encode and goes wide only while wide encodes of that many texts have been
faster than narrow ones, trying the losing width now and then so it notices when the machine changes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from statistics import median


def usable_cores() -> int:
    """The cores this process may run on (its affinity, which a container's cpuset narrows)."""
    return len(os.sched_getaffinity(0))


# Timings kept per width and size: their median shrugs off one slow encode (a hiccup of the machine) and
# follows a neighbour that stays within a few encodes.
_KEPT = 7
# One in this many choices between widths tries the one that has been slower.
_TRY_EVERY = 16


class _Timings:
    """The latest encode seconds, by (wide or not, number of texts)."""

    def __init__(self) -> None:
        self._seconds: dict[tuple[bool, int], deque[float]] = {}
        self._choices: dict[int, int] = {}

    def record(self, *, wide: bool, texts: int, seconds: float) -> None:
        self._seconds.setdefault((wide, texts), deque(maxlen=_KEPT)).append(seconds)

    def wide_pays(self, texts: int) -> bool:
        """Whether an encode of `texts` texts should go wide: untried widths first, then the one whose
        recent median is faster, except every `_TRY_EVERY`th time."""
        if (False, texts) not in self._seconds:
            return False
        if (True, texts) not in self._seconds:
            return True
        wide, narrow = median(self._seconds[True, texts]), median(self._seconds[False, texts])
        count = self._choices.get(texts, 0) + 1
        self._choices[texts] = count
        faster = wide < narrow
        return not faster if count % _TRY_EVERY == 0 else faster


class Cores:
    """The CPU cores the encoders share. Each encode holds the threads it runs with, so together they never
    run more threads than there are cores: more would wait on each other inside every operation."""

    def __init__(self, total: int, *, encoders: int, clock: Callable[[], float] = time.perf_counter) -> None:
        if total < 1 or encoders < 1:
            raise ValueError("there must be at least one core and one encoder")
        self.total = total
        # Under load each encoder runs with its share; a share of 0 would never run.
        self.share = max(1, total // encoders)
        self._clock = clock
        self._free = total
        self._timings = _Timings()
        self._changed = threading.Condition()

    @contextmanager
    def held(self, *, texts: int, alone: bool) -> Iterator[int]:
        """Wait for cores and hold them for one encode of `texts` texts, which the block times: every core
        when all are free, no other work waits (`alone`) and wide encodes have paid, else this encoder's
        share. Yields the number of cores held."""
        with self._changed:
            can_go_wide = alone and self.total > self.share and self._free == self.total
            if can_go_wide and self._timings.wide_pays(texts):
                taken = self.total
            else:
                taken = self.share
                self._changed.wait_for(lambda: self._free >= taken)
            self._free -= taken
        started = self._clock()
        try:
            yield taken
        finally:
            seconds = self._clock() - started
            with self._changed:
                self._free += taken
                # Only encodes that could have gone either way are compared.
                if can_go_wide:
                    self._timings.record(wide=taken > self.share, texts=texts, seconds=seconds)
                self._changed.notify_all()
