"""Streaming: time to the first chunk and the rate after it, one long stream per turn."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

from chart import colour
from chart import names as chart_names
from contenders import Contender, Run
from report import BELOW_ABOVE, Pair, Part, fmt_ms, interval, labels, target_row
from stats import Ratio, pair_ratio, rotated, summary

NAME = "streams"
PLAN = ((8, 1), (30, 1))  # quick, full: repetitions, streams per turn
STREAM_CHUNKS = 1000
PAIRS = (
    Pair("core", "httpx", 1.20, "core vs raw httpx SSE parsing"),
    Pair("litellm_openwebui", "litellm_openai", 0.80, "LiteLLM openwebui/ vs openai/"),
    Pair("langchain_openwebui", "langchain_openai", 0.75, "ChatOpenWebUI vs ChatOpenAI"),
    Pair("smolagents_openwebui", "smolagents_openai", 0.80, "OpenWebUIModel vs OpenAIModel"),
)
PARTS = (("after_first", "time per chunk"), ("ttfc", "time to first chunk"))


def time_stream(stream: Callable[[int], Iterable[Any]], n: int) -> tuple[float, float, int]:
    """(time to first chunk, seconds from first chunk to the end, chunks yielded)."""
    clock = time.perf_counter
    start = clock()
    first = None
    count = 0
    for _ in stream(n):
        if first is None:
            first = clock()
        count += 1
    end = clock()
    if first is None:
        raise RuntimeError("the stream yielded nothing")
    return first - start, end - first, count


def bench_streams(contenders: list[Contender], reps: int, per_turn: int, n: int) -> dict[str, Any]:
    """Each repetition streams every contender `per_turn` times in turn (the same for all)."""
    active = [c for c in contenders if c.stream is not None]
    for contender in active:  # warm-up: a short stream and a full one, untimed
        time_stream(contender.stream, 20)  # type: ignore[arg-type]
        time_stream(contender.stream, n)  # type: ignore[arg-type]
    first: dict[str, list[float]] = {c.key: [] for c in active}
    rest: dict[str, list[float]] = {c.key: [] for c in active}
    counts: dict[str, int] = {}
    for rep in range(reps):
        for contender in rotated(active, rep):
            gc.collect()
            stream = contender.stream
            assert stream is not None
            for _ in range(per_turn):
                ttfc, after, count = time_stream(stream, n)
                first[contender.key].append(ttfc)
                rest[contender.key].append(after)
                counts[contender.key] = count
    stats = {}
    for key in first:
        stats[key] = {
            "ttfc": summary(first[key]),
            "after_first": summary(rest[key]),
            # Content chunks the server sent, per second of streaming after the first one arrived.
            "chunks_per_s": n / statistics.median(rest[key]),
            "items": counts[key],
            "streams": len(rest[key]),
        }
    return {"samples": {"after_first": rest, "ttfc": first}, "stats": stats, "chunks": n}


def measure(run: Run) -> dict[str, Any]:
    reps, per_turn = run.plan(PLAN)
    run.log("streaming")
    result = bench_streams(run.contenders, reps, per_turn, STREAM_CHUNKS)
    result["config"] = {"reps": reps, "per_turn": per_turn}
    return result


def stream_ratio(streams: dict[str, Any] | None, pair: Pair, part: str) -> Ratio | None:
    """Ours / theirs for `after_first` (the rest of the stream) or `ttfc` (time to first chunk)."""
    return pair_ratio(streams["samples"][part], pair.ours, pair.theirs) if streams else None


def render(results: dict[str, Any]) -> Part:
    streams = results.get("streams")
    part = Part(
        targets=[
            target_row(
                f"streaming, {what}: {pair.name}",
                stream_ratio(streams, pair, sample),
                pair.target,
                sides=BELOW_ABOVE,
            )
            for sample, what in PARTS
            for pair in PAIRS
        ]
    )
    if not streams:
        return part
    names = labels(results)
    floor_rate = streams["stats"].get("httpx", {}).get("chunks_per_s")
    part.lines += [
        f"## Streaming ({streams['chunks']} content chunks)",
        "",
        f"{streams['config']['reps']} repetitions x {streams['config'].get('per_turn', 1)} "
        "stream(s) per contender, interleaved. Chunks/s counts the server's content chunks "
        "over the time from the first chunk to the end.",
        "",
        "| contender | time to first chunk ms | rest of stream ms | chunks/s | x raw httpx time | items yielded |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, s in streams["stats"].items():
        rel = f"{floor_rate / s['chunks_per_s']:.2f}x" if floor_rate else "n/a"
        part.lines.append(
            f"| {names[key]} | {fmt_ms(s['ttfc']['median'])} | {fmt_ms(s['after_first']['median'])} | "
            f"{s['chunks_per_s']:,.0f} | {rel} | {s['items']} |"
        )
    part.lines += [
        "",
        "| pair | stream time ratio (90% interval) | TTFC ratio | target |",
        "| --- | --- | --- | --- |",
    ]
    st = streams["stats"]
    for pair in PAIRS:
        r = stream_ratio(streams, pair, "after_first")
        if r:
            ttfc = st[pair.ours]["ttfc"]["median"] / st[pair.theirs]["ttfc"]["median"]
            part.lines.append(f"| {pair.name} | {interval(r)} | {ttfc:.2f}x | <= {pair.target}x |")
    part.lines.append("")
    n = streams["chunks"]
    shown = chart_names(results)
    rows = [(shown[k], s["chunks_per_s"], colour(k)) for k, s in st.items()]
    part.panels.append(
        (
            f"Streaming, chunks per second on a {n}-chunk stream, log scale (higher is better)",
            rows,
            "{:,.0f}/s",
            True,
        )
    )
    return part
