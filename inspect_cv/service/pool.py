"""A bounded worker pool: ``workers`` threads and at most ``queue`` waiting jobs.

A job that finds every worker busy and the queue full is refused at once
(:class:`PoolFullError`, the service answers 429) instead of piling up in an unbounded
queue. A slot is held until the job's thread finishes, even when the request has timed
out, so the pool never runs more than ``workers`` jobs at a time.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


class PoolFullError(Exception):
    """Every worker is busy and the queue is full (HTTP 429)."""


class JobTimeoutError(Exception):
    """A job ran past its time limit (HTTP 504); its thread finishes in the background."""


class WorkerPool:
    """``workers`` threads with a queue of at most ``queue`` waiting jobs."""

    def __init__(self, workers: int, queue: int, thread_name: str = "inspect-cv"):
        if workers < 1 or queue < 0:
            raise ValueError(f"workers must be >= 1 and queue >= 0, got {workers}, {queue}")
        self.workers, self.queue = int(workers), int(queue)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix=thread_name)
        self._slots = threading.BoundedSemaphore(self.workers + self.queue)
        self._lock = threading.Lock()
        self.pending = 0   # accepted, not finished (running + waiting)
        self.running = 0
        self.rejected = 0
        self.completed = 0
        self.timed_out = 0

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Start ``fn(*args, **kwargs)`` on a worker; :class:`PoolFullError` when full."""
        if not self._slots.acquire(blocking=False):
            self._refuse()
        with self._lock:
            self.pending += 1

        def job():
            with self._lock:
                self.running += 1
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1
                    self.pending -= 1
                    self.completed += 1
                self._slots.release()

        try:
            return self._executor.submit(job)
        except BaseException:  # e.g. the executor is shut down
            with self._lock:
                self.pending -= 1
            self._slots.release()
            raise

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Await ``fn(*args, **kwargs)`` run on a worker, at most ``timeout`` seconds."""
        fut = asyncio.wrap_future(self.submit(fn, *args, **kwargs))
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # no 'never retrieved' noise
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            with self._lock:
                self.timed_out += 1
            raise JobTimeoutError(f"processing took over {timeout:g} s (the per-request limit)") from None

    def _refuse(self):
        with self._lock:
            self.rejected += 1
        raise PoolFullError(f"all {self.workers} workers are busy and {self.queue} requests wait; retry later")

    def check_room(self) -> None:
        """:class:`PoolFullError` now if a job submitted now would be refused (an early check
        before costly work; :meth:`submit` still decides)."""
        with self._lock:
            full = self.pending >= self.workers + self.queue
        if full:
            self._refuse()

    @property
    def waiting(self) -> int:
        with self._lock:
            return max(0, self.pending - self.running)

    def stats(self) -> dict:
        with self._lock:
            return {"workers": self.workers, "queue": self.queue, "running": self.running,
                    "waiting": max(0, self.pending - self.running), "rejected": self.rejected,
                    "completed": self.completed, "timed_out": self.timed_out}

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)


__all__ = ["WorkerPool", "PoolFullError", "JobTimeoutError"]
