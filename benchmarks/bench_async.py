"""Async throughput: calls per second of many calls over `c` tasks in one event loop."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chart import colour
from chart import names as chart_names
from contenders import MAX_CONCURRENCY, Contender, Run
from report import Pair, Part, interval, labels, target_row
from stats import Ratio, pair_ratio, rotated

NAME = "async"
PLAN = ((5, 60), (9, 150))  # quick, full: repetitions, calls per contender and level (at least)
CONCURRENCY = (1, 10, 50, MAX_CONCURRENCY)
PAIRS = (
    Pair("core", "httpx", 0.95, "core vs raw httpx"),
    Pair("litellm_openwebui", "litellm_openai", 1.0, "LiteLLM openwebui/ vs openai/"),
    Pair("langchain_openwebui", "langchain_openai", 1.0, "ChatOpenWebUI vs ChatOpenAI"),
    Pair(
        "smolagents_openwebui", "smolagents_openai", 1.0, "OpenWebUIModel vs OpenAIModel (threads)"
    ),
)


async def _throughput(acall: Callable[[], Awaitable[Any]], concurrency: int, calls: int) -> float:
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await acall()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return calls / (time.perf_counter() - start)


async def _bench_async(
    contenders: list[Contender], reps: int, calls: int, levels: tuple[int, ...]
) -> dict[str, Any]:
    """Calls/s at each concurrency; each level starts with an untimed round that fills the pools."""
    active = [c for c in contenders if c.acall is not None]
    samples: dict[str, dict[str, list[float]]] = {str(c): {} for c in levels}
    for level in levels:
        count = max(calls, level * 2)  # the same count for every contender at this level
        for contender in active:
            await _throughput(contender.acall, level, level * 2)  # type: ignore[arg-type]
        per = samples[str(level)]
        for rep in range(reps):
            for contender in rotated(active, rep):
                acall = contender.acall
                assert acall is not None
                gc.collect()
                rate = await _throughput(acall, level, count)
                per.setdefault(contender.key, []).append(rate)
    stats = {
        level: {key: statistics.median(rates) for key, rates in per.items()}
        for level, per in samples.items()
    }
    return {"samples": samples, "stats": stats}


def bench_async(contenders: list[Contender], reps: int, calls: int) -> dict[str, Any]:
    return asyncio.run(_bench_async(contenders, reps, calls, CONCURRENCY))


def measure(run: Run) -> dict[str, Any]:
    reps, calls = run.plan(PLAN)
    run.log("async throughput")
    result = bench_async(run.contenders, reps, calls)
    result["config"] = {"reps": reps, "calls": calls}
    return result


def async_ratio(aio: dict[str, Any], pair: Pair, level: str) -> Ratio | None:
    return pair_ratio(aio["samples"].get(level, {}), pair.ours, pair.theirs)


def render(results: dict[str, Any]) -> Part:
    aio = results.get("async")
    part = Part()
    if not aio:
        return part
    for level in aio["samples"]:
        for pair in PAIRS:
            r = async_ratio(aio, pair, level)
            if r is not None:
                part.targets.append(
                    target_row(
                        f"async throughput at concurrency {level}: {pair.name}",
                        r,
                        pair.target,
                        higher=True,
                    )
                )
    names = labels(results)
    levels = list(aio["stats"])
    part.lines += [
        "## Async throughput (calls per second)",
        "",
        f"{aio['config']['reps']} repetitions of at least {aio['config']['calls']} calls per "
        "contender and concurrency, interleaved; one event loop.",
        "",
        "| contender | " + " | ".join(f"concurrency {c}" for c in levels) + " |",
        "| --- | " + " | ".join("---" for _ in levels) + " |",
    ]
    keys = list(aio["stats"][levels[0]])
    for key in keys:
        part.lines.append(
            f"| {names[key]} | " + " | ".join(f"{aio['stats'][c][key]:,.0f}" for c in levels) + " |"
        )
    part.lines += [
        "",
        "| pair (throughput, ours / theirs; higher is better; 90% interval) | "
        + " | ".join(levels)
        + " | goal |",
        "| --- | " + " | ".join("---" for _ in levels) + " | --- |",
    ]
    for pair in PAIRS:
        if pair.ours in keys and pair.theirs in keys:
            cells = []
            for c in levels:
                r = async_ratio(aio, pair, c)
                cells.append(interval(r) if r else "n/a")
            part.lines.append(f"| {pair.name} | " + " | ".join(cells) + f" | >= {pair.target}x |")
    part.lines += [
        "",
        "smolagents has no async API: its figures are `generate` run in a thread pool as "
        "large as the concurrency, the same for both models.",
        "",
    ]
    shown = chart_names(results)
    for level in (levels[0], levels[-1]):
        rows = [(shown[k], v, colour(k)) for k, v in aio["stats"][level].items()]
        part.panels.append(
            (
                f"Async throughput at concurrency {level}, calls/s (higher is better)",
                rows,
                "{:,.0f}/s",
                False,
            )
        )
    return part
