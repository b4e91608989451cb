"""Medians, p99 and ratios, printed the same way by every benchmark."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> dict:
    median = statistics.median(values)
    return {"name": name, "n": len(values), "median_ms": median * 1000,
            "p99_ms": p99(values) * 1000, "per_second": len(values) / sum(values)}  # fmt: skip


def show(title: str, rows: list[dict], *, baseline: str | None = None, of: str = "raw") -> None:
    print(f"\n{title}")
    base = next((r for r in rows if r["name"] == baseline), None)
    for row in rows:
        ratio = f"  ratio {row['median_ms'] / base['median_ms']:.2f}× {of}" if base else ""
        print(f"  {row['name']:<34} n={row['n']:<6} median {row['median_ms']:8.3f} ms  "
              f"p99 {row['p99_ms']:8.3f} ms  {row['per_second']:8.0f}/s{ratio}")  # fmt: skip
