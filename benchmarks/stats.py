"""The statistics every section shares: summaries, percentiles, bootstrap ratios, rotation."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Ratio = tuple[float, float, float]  # ours / theirs, and its 90% interval (low, high)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    n = len(ordered)
    return {
        "median": statistics.median(ordered),
        "p10": ordered[int(n * 0.1)],
        "p90": ordered[min(n - 1, int(n * 0.9))],
        "n": n,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ratio_interval(
    ours: list[float],
    theirs: list[float],
    stat: Callable[[list[float]], float] = statistics.median,
    rounds: int = 400,
    seed: int = 1234,
) -> Ratio:
    """stat(ours) / stat(theirs), with a 90% bootstrap interval (seeded: a render is repeatable)."""
    rng = random.Random(seed)
    ratios = sorted(
        stat(rng.choices(ours, k=len(ours))) / stat(rng.choices(theirs, k=len(theirs)))
        for _ in range(rounds)
    )
    return stat(ours) / stat(theirs), ratios[int(rounds * 0.05)], ratios[int(rounds * 0.95) - 1]


def rotated(items: list[T], rep: int) -> list[T]:
    """`items` starting at `rep` (mod its length): the order of turns in repetition `rep`."""
    k = rep % len(items)
    return items[k:] + items[:k]


def pair_ratio(samples: dict[str, Any], ours: str, theirs: str) -> Ratio | None:
    """The ratio of medians of two contenders' samples, or None if either was not measured."""
    if ours not in samples or theirs not in samples:
        return None
    return ratio_interval(samples[ours], samples[theirs])
