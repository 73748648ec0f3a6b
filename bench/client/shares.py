"""How a run's requests and its concurrency cap are shared among load-generator workers.
Pure: numbers in, numbers out.

Without a cap, request i goes to worker i mod N (round robin keeps each worker's share of
the schedule even). With a cap of c streams, the cap is split, not shared: stream s
belongs to worker s mod N, so worker k holds c // N streams, one more when k < c mod N,
and the N caps add up to c exactly (so no more than c requests are ever in flight across
all workers); request i goes to the worker holding stream i mod c, so each worker's share
of the requests is in proportion to its streams. A cap below N leaves nothing for the
extra workers: only min(N, c) are used (and never more than there are requests).
"""

from __future__ import annotations


def workers_used(asked: int, cap: int | None, requests: int) -> int:
    """The workers a run uses: no more than its cap or its measured requests, at least 1."""
    return max(1, min(asked, cap if cap is not None else asked, requests))


def worker_caps(cap: int | None, workers: int) -> list[int | None]:
    """Each worker's share of the cap (None: no cap); the shares add up to `cap`."""
    if cap is None:
        return [None] * workers
    if cap < workers:
        raise ValueError(f"a cap of {cap} cannot be split among {workers} workers")
    return [cap // workers + (1 if k < cap % workers else 0) for k in range(workers)]


def worker_of(index: int, workers: int, cap: int | None) -> int:
    """The worker that sends request `index`."""
    return (index % cap) % workers if cap is not None else index % workers


def split(count: int, workers: int, cap: int | None) -> list[list[int]]:
    """The request indices of each worker, in index order."""
    shares: list[list[int]] = [[] for _ in range(workers)]
    for index in range(count):
        shares[worker_of(index, workers, cap)].append(index)
    return shares
