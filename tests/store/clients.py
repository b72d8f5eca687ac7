"""Run one function in several threads at once, each standing in for a separate client process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

# Generous on a shared 2-core machine; a deadlock fails the test instead of hanging the run.
JOIN_TIMEOUT_S = 120

T = TypeVar("T")


def run_together(clients: int, work: Callable[[int], T]) -> list[T]:
    """`work(n)` for n in range(clients), started together behind a barrier; the results in client order.

    The first error a client raised is raised again here.
    """
    barrier = threading.Barrier(clients)
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            barrier.wait()
            results[number] = work(number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    if stuck := [thread.name for thread in threads if thread.is_alive()]:
        raise AssertionError(f"clients still running after {JOIN_TIMEOUT_S} s (deadlock?): {stuck}")
    if errors:
        raise errors[0]
    return [results[n] for n in range(clients)]
