"""Per call: wall time of one non-streaming call, the contenders interleaved batch by batch."""

from __future__ import annotations

import gc
import time
from typing import Any

from chart import colour
from chart import names as chart_names
from contenders import Contender, Run
from report import BELOW_ABOVE, Pair, Part, fmt_ms, interval, labels, target_row
from stats import pair_ratio, rotated, summary

NAME = "calls"
PLAN = ((20, 5), (80, 8))  # quick, full: repetitions, calls per turn
WARMUP = 20
PAIRS = (
    Pair("core", "httpx", 1.15, "core vs raw httpx"),
    Pair("litellm_openwebui", "litellm_openai", 0.80, "LiteLLM openwebui/ vs openai/"),
    Pair("langchain_openwebui", "langchain_openai", 0.75, "ChatOpenWebUI vs ChatOpenAI"),
    Pair("smolagents_openwebui", "smolagents_openai", 0.80, "OpenWebUIModel vs OpenAIModel"),
)


def bench_calls(contenders: list[Contender], reps: int, batch: int, warmup: int) -> dict[str, Any]:
    """Seconds per non-streaming call; each repetition runs `batch` calls of every contender."""
    active = [c for c in contenders if c.call is not None]
    for contender in active:
        for _ in range(warmup):
            contender.call()  # type: ignore[misc]
    samples: dict[str, list[float]] = {c.key: [] for c in active}
    clock = time.perf_counter
    for rep in range(reps):
        for contender in rotated(active, rep):
            call = contender.call
            assert call is not None
            times = samples[contender.key]
            gc.collect()  # each turn starts with no garbage left by the previous contender
            for _ in range(batch):
                start = clock()
                call()
                times.append(clock() - start)
    return {"samples": samples, "stats": {k: summary(v) for k, v in samples.items()}}


def measure(run: Run) -> dict[str, Any]:
    reps, batch = run.plan(PLAN)
    run.log("per-call latency")
    result = bench_calls(run.contenders, reps, batch, warmup=WARMUP)
    result["config"] = {"reps": reps, "batch": batch}
    return result


def render(results: dict[str, Any]) -> Part:
    calls = results.get("calls")
    ratios = {
        pair: pair_ratio(calls["samples"], pair.ours, pair.theirs) if calls else None
        for pair in PAIRS
    }
    part = Part(
        targets=[
            target_row(f"per call: {pair.name}", r, pair.target, sides=BELOW_ABOVE)
            for pair, r in ratios.items()
        ]
    )
    if not calls:
        return part
    names = labels(results)
    floor = calls["stats"].get("httpx", {}).get("median")
    part.lines += [
        "## Per non-streaming call",
        "",
        f"{calls['config']['reps']} repetitions x {calls['config']['batch']} calls per contender, interleaved.",
        "",
        "| contender | median ms | p10 ms | p90 ms | x raw httpx |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, s in calls["stats"].items():
        rel = f"{s['median'] / floor:.2f}x" if floor else "n/a"
        part.lines.append(
            f"| {names[key]} | {fmt_ms(s['median'])} | {fmt_ms(s['p10'])} | {fmt_ms(s['p90'])} | {rel} |"
        )
    part.lines += ["", "| pair | ratio (90% interval) | target |", "| --- | --- | --- |"]
    part.lines += [
        f"| {pair.name} | {interval(r)} | <= {pair.target}x |" for pair, r in ratios.items() if r
    ]
    part.lines.append("")
    shown = chart_names(results)
    rows = [(shown[k], s["median"] * 1000, colour(k)) for k, s in calls["stats"].items()]
    part.panels.append(
        ("Per non-streaming call, median ms (lower is better)", rows, "{:.2f} ms", False)
    )
    return part
