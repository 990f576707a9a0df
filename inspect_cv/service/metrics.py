"""Prometheus metrics written by hand in the text exposition format (version 0.0.4).

Counters and histograms keyed by label tuples; :meth:`Metrics.render` adds gauges read
at scrape time (worker pool, process memory). No ``prometheus_client`` needed.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Request latency buckets (seconds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values)) + "}"


def _num(v: float) -> str:
    if v == float("inf"):
        return "+Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class Counter:
    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()):
        self.name, self.help, self.labels = name, help, labels
        self._values: dict[tuple, float] = {}
        self._lock = threading.Lock()

    def inc(self, *values, amount: float = 1.0) -> None:
        key = tuple(str(v) for v in values)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *values) -> float:
        with self._lock:
            return self._values.get(tuple(str(v) for v in values), 0.0)

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for key, v in sorted(self._values.items()):
                out.append(f"{self.name}{_labels(self.labels, key)} {_num(v)}")
        return out


class Histogram:
    def __init__(self, name: str, help: str, labels: tuple[str, ...] = (), buckets=BUCKETS):
        self.name, self.help, self.labels, self.buckets = name, help, labels, tuple(buckets)
        self._data: dict[tuple, list] = {}  # key -> [bucket counts..., sum, count]
        self._lock = threading.Lock()

    def observe(self, seconds: float, *values) -> None:
        key = tuple(str(v) for v in values)
        with self._lock:
            d = self._data.setdefault(key, [0] * len(self.buckets) + [0.0, 0])
            for i, b in enumerate(self.buckets):
                if seconds <= b:
                    d[i] += 1
            d[-2] += seconds
            d[-1] += 1

    def count(self, *values) -> int:
        with self._lock:
            d = self._data.get(tuple(str(v) for v in values))
            return 0 if d is None else int(d[-1])

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        names = self.labels + ("le",)
        with self._lock:
            for key, d in sorted(self._data.items()):
                for b, c in zip(self.buckets + (float("inf"),), d[:len(self.buckets)] + [d[-1]]):
                    out.append(f"{self.name}_bucket{_labels(names, key + (_num(b),))} {c}")
                out.append(f"{self.name}_sum{_labels(self.labels, key)} {_num(round(d[-2], 6))}")
                out.append(f"{self.name}_count{_labels(self.labels, key)} {d[-1]}")
        return out


def rss_bytes() -> int | None:
    """Resident set size of this process (Linux /proc), else None."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Metrics:
    """The service's metrics."""

    def __init__(self):
        self.started = time.time()
        self.requests = Counter("inspect_cv_requests_total", "HTTP requests by route and status code",
                                ("route", "status"))
        self.latency = Histogram("inspect_cv_request_duration_seconds", "HTTP request duration", ("route",))
        self.inference = Histogram("inspect_cv_inference_duration_seconds",
                                   "Time in the worker (decode and inference)", ("model",))
        self.alarms = Counter("inspect_cv_alarms_total", "Inspections that raised an alarm", ("model",))
        self.decisions = Counter("inspect_cv_decisions_total", "Operator decisions recorded", ("decision",))
        self.auth_failures = Counter("inspect_cv_auth_failures_total", "Refused requests (401/403)", ("status",))
        self.gauges: list[tuple[str, str, Callable[[], float | None]]] = []

    def gauge(self, name: str, help: str, read: Callable[[], float | None]) -> None:
        """Add a gauge read when metrics are scraped."""
        self.gauges.append((name, help, read))

    def render(self) -> str:
        lines: list[str] = []
        for m in (self.requests, self.latency, self.inference, self.alarms, self.decisions, self.auth_failures):
            lines += m.render()
        all_gauges = self.gauges + [
            ("inspect_cv_uptime_seconds", "Seconds since the service started", lambda: time.time() - self.started),
            ("process_resident_memory_bytes", "Resident memory of the service process", rss_bytes),
        ]
        for name, help, read in all_gauges:
            v = read()
            if v is None:
                continue
            lines += [f"# HELP {name} {help}", f"# TYPE {name} gauge", f"{name} {_num(round(float(v), 3))}"]
        return "\n".join(lines) + "\n"


__all__ = ["Metrics", "Counter", "Histogram", "CONTENT_TYPE", "rss_bytes"]
