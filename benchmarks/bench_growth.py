"""Cost as the work grows: per-call time against conversation length and stream length.

The time fitted is the client's: this process's CPU time (`time.process_time`, every thread, so
LiteLLM's logging threads count), not the wall clock, which adds the server's share of a long body
(the server runs in its own process) and how the two processes fall on 2 cores; runs of the same
code differed by 1.5x in wall-clock slope, not in CPU. Wall-clock medians are kept (`wall`).

Each contender gets the same conversation (tool calls in it) in its library's own message format,
built before the clock starts; a conversation of `n` messages repeats the block user question,
assistant tool call, tool result, assistant answer, and ends with the user's question. Times are
fitted as `time = a + b * n` (least squares over the per-length medians); `b` is the cost of one
more message (or chunk), and the ratio of two slopes says which client grows faster. Intervals
are 90% bootstrap intervals (the samples of each length resampled, medians refitted).

At one length, the contenders take turns call by call until each has spent `SLOT_SECONDS` (at
least the given count, at most `MAX_PER_SLOT` calls), as `timeit` sizes its loops: a client that
takes 40 ms per stream gets many samples, where a fixed count left 4 per length and intervals too
wide to tell two close slopes apart.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from contenders import Run
from report import Pair, Part, interval, labels, target_row
from stats import Ratio, rotated

NAME = "growth"
# Quick, full: repetitions and least calls per turn of the conversation lengths; repetitions of
# the stream lengths.
PLAN = {"conversation": ((5, 3), (10, 4)), "stream": ((2,), (4,))}
PAIRS = (
    Pair("core", "httpx", 1.0, "core vs raw httpx"),
    Pair("litellm_openwebui", "litellm_openai", 1.0, "LiteLLM openwebui/ vs openai/"),
    Pair("langchain_openwebui", "langchain_openai", 1.0, "ChatOpenWebUI vs ChatOpenAI"),
    Pair("smolagents_openwebui", "smolagents_openai", 1.0, "OpenWebUIModel vs OpenAIModel"),
)
PARTS = (
    ("conversation", "Per call against conversation length", "message"),
    ("stream", "Per stream against stream length", "chunk"),
)
CONVERSATION_LENGTHS = (10, 100, 1000)
STREAM_LENGTHS = (100, 1000, 10000)
TOOL = "get_weather"
SLOT_SECONDS = 0.1  # a contender's turn at one length lasts at least this long...
MAX_PER_SLOT = 25  # ...or this many calls


def openai_conversation(n: int) -> list[dict[str, Any]]:
    """`n` OpenAI-format messages: tool-call rounds, then the question."""
    messages: list[dict[str, Any]] = []
    i = 0
    while len(messages) < n - 1:
        call_id = f"call_{i}"
        block: list[dict[str, Any]] = [
            {"role": "user", "content": f"What is the weather in city {i}?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": TOOL, "arguments": json.dumps({"city": f"c{i}"})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": f"{i % 30} C and sunny"},
            {"role": "assistant", "content": f"It is {i % 30} C and sunny in city {i}."},
        ]
        messages.extend(block[: n - 1 - len(messages)])
        i += 1
    # A block cut short after a tool call would leave it unanswered: end on a complete round.
    while messages and messages[-1].get("tool_calls"):
        messages.pop()
        messages.append({"role": "user", "content": "Never mind."})
    messages.append({"role": "user", "content": "Say hello."})
    return messages


def langchain_conversation(n: int) -> list[Any]:
    from langchain_core.messages import convert_to_messages

    return list(convert_to_messages(openai_conversation(n)))


def smolagents_conversation(n: int) -> list[dict[str, Any]]:
    """What a smolagents agent sends: tool calls and results as `tool-call`/`tool-response`."""
    out: list[dict[str, Any]] = []
    for message in openai_conversation(n):
        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            text = f"Calling tools:\n[{json.dumps(call)}]"
            out.append({"role": "tool-call", "content": [{"type": "text", "text": text}]})
        elif message["role"] == "tool":
            text = f"Call id: {message['tool_call_id']}\nObservation:\n{message['content']}"
            out.append({"role": "tool-response", "content": [{"type": "text", "text": text}]})
        else:
            out.append(
                {"role": message["role"], "content": [{"type": "text", "text": message["content"]}]}
            )
    return out


BUILD = {
    "openai": openai_conversation,
    "langchain": langchain_conversation,
    "smolagents": smolagents_conversation,
}


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(a, b) of the least-squares line y = a + b * x."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - b * mx, b


def _measure(
    active: list[Any],
    lengths: tuple[int, ...],
    reps: int,
    least: int,
    run: Callable[[Any, int], None],
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, list[float]]]]:
    """(client CPU, wall) seconds of `run(contender, n)`, per contender and length.

    At each repetition and length the contenders take turns call by call, in an order rotated
    per repetition; one stays in the round until it has made `least` calls and spent
    `SLOT_SECONDS` (at most `MAX_PER_SLOT` calls), so a fast client's calls are spread among
    its peer's, not bunched in one stretch of the machine's weather.
    """
    cpu_times, wall_times = _empty(active, lengths), _empty(active, lengths)
    for rep in range(reps):
        for n in rotated(list(lengths), rep):
            gc.collect()
            made = dict.fromkeys((c.key for c in active), 0)
            spent = dict.fromkeys((c.key for c in active), 0.0)

            while turn := [
                c
                for c in rotated(active, rep)
                if made[c.key] < MAX_PER_SLOT
                and (made[c.key] < least or spent[c.key] < SLOT_SECONDS)
            ]:
                for c in turn:
                    start, cpu = time.perf_counter(), time.process_time()
                    run(c, n)
                    cpu_times[c.key][str(n)].append(time.process_time() - cpu)
                    wall_times[c.key][str(n)].append(time.perf_counter() - start)
                    made[c.key] += 1
                    spent[c.key] += wall_times[c.key][str(n)][-1]
    return cpu_times, wall_times


def bench_conversations(
    contenders: list[Any], reps: int, batch: int, lengths: tuple[int, ...] = CONVERSATION_LENGTHS
) -> dict[str, Any]:
    """Seconds per non-streamed call at each conversation length, interleaved."""
    active = [c for c in contenders if c.converse is not None]
    inputs = {(c.key, n): BUILD[c.fmt](n) for c in active for n in lengths}
    for c in active:  # warm-up, and a check that every library accepts the conversation
        for n in lengths:
            c.converse(inputs[c.key, n])

    def converse(c: Any, n: int) -> None:
        c.converse(inputs[c.key, n])

    samples, wall = _measure(active, lengths, reps, batch, converse)
    return {"samples": samples, "wall": wall, "lengths": list(lengths), "fits": fits(samples)}


def _empty(active: list[Any], lengths: tuple[int, ...]) -> dict[str, dict[str, list[float]]]:
    return {c.key: {str(n): [] for n in lengths} for c in active}


def bench_stream_lengths(
    contenders: list[Any], reps: int, lengths: tuple[int, ...] = STREAM_LENGTHS
) -> dict[str, Any]:
    """Seconds per whole stream (call to last chunk) at each stream length, interleaved."""
    active = [c for c in contenders if c.stream is not None]
    for c in active:
        for _ in c.stream(lengths[0]):
            pass

    def stream(c: Any, n: int) -> None:
        count = sum(1 for _ in c.stream(n))
        if count < n:
            raise RuntimeError(f"{c.key} yielded {count} items for {n} chunks")

    samples, wall = _measure(active, lengths, reps, 1, stream)
    return {"samples": samples, "wall": wall, "lengths": list(lengths), "fits": fits(samples)}


def fits(samples: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    out = {}
    for key, per in samples.items():
        xs = [float(n) for n in per]
        a, b = fit(xs, [statistics.median(v) for v in per.values()])
        out[key] = {"a": a, "b": b, **{n: statistics.median(v) for n, v in per.items()}}
    return out


def slope_ratio(
    samples: dict[str, dict[str, list[float]]], ours: str, theirs: str, rounds: int = 300
) -> Ratio | None:
    """Slope(ours) / slope(theirs), with a 90% bootstrap interval."""
    if ours not in samples or theirs not in samples:
        return None
    rng = random.Random(99)

    def slope(per: dict[str, list[float]], resample: bool) -> float:
        xs = [float(n) for n in per]
        ys = [statistics.median(rng.choices(v, k=len(v)) if resample else v) for v in per.values()]
        return fit(xs, ys)[1]

    point = slope(samples[ours], False) / slope(samples[theirs], False)
    ratios = sorted(
        slope(samples[ours], True) / slope(samples[theirs], True) for _ in range(rounds)
    )
    return point, ratios[int(rounds * 0.05)], ratios[int(rounds * 0.95) - 1]


def measure(run: Run) -> dict[str, Any]:
    reps, batch = run.plan(PLAN["conversation"])
    run.log("per call against conversation length")
    conversation = bench_conversations(run.contenders, reps, batch)
    conversation["config"] = {"reps": reps, "batch": batch}
    (reps,) = run.plan(PLAN["stream"])
    run.log("per stream against stream length")
    streamed = bench_stream_lengths(run.contenders, reps)
    streamed["config"] = {"reps": reps}
    return {"conversation": conversation, "stream": streamed}


def render(results: dict[str, Any]) -> Part:
    growth = results.get("growth") or {}
    part = Part()
    for key, title, unit in PARTS:
        if key in growth:
            render_part(part, title, unit, growth[key], labels(results))
    return part


def render_part(
    part: Part, title: str, unit: str, data: dict[str, Any], names: dict[str, str]
) -> None:
    """One growth measurement's lines and target rows, added to `part`."""
    lengths = [str(n) for n in data["lengths"]]
    part.lines += [
        f"## {title}",
        "",
        f"{data['config']['reps']} repetitions per contender and length, interleaved; each turn "
        f"at least {data['config'].get('batch', 1)} call(s) and {SLOT_SECONDS} s (at most "
        f"{MAX_PER_SLOT} calls). Client CPU time: median ms per call, and the fitted line "
        f"`time = a + b * n` (b in microseconds per {unit}); the last column is the wall clock "
        "at the longest length.",
        "",
        "| contender | "
        + " | ".join(f"n = {n} ms" for n in lengths)
        + f" | a ms | b us/{unit} | wall ms, n = {lengths[-1]} |",
        "| --- | " + " | ".join("---" for _ in lengths) + " | --- | --- | --- |",
    ]
    wall = data.get("wall", {})
    for key, f in data["fits"].items():
        longest = wall.get(key, {}).get(lengths[-1])
        part.lines.append(
            f"| {names.get(key, key)} | "
            + " | ".join(f"{f[n] * 1000:.3f}" for n in lengths)
            + f" | {f['a'] * 1000:.3f} | {f['b'] * 1e6:.3f} | "
            + (f"{statistics.median(longest) * 1000:.3f} |" if longest else "n/a |")
        )
    part.lines += [
        "",
        "| pair | slope ratio, ours / theirs (90% interval) | goal |",
        "| --- | --- | --- |",
    ]
    for pair in PAIRS:
        r = slope_ratio(data["samples"], pair.ours, pair.theirs)
        if r is None:
            continue
        part.lines.append(f"| {pair.name} | {interval(r)} | <= {pair.target}x |")
        part.targets.append(target_row(f"{title.lower()}: slope, {pair.name}", r, pair.target))
    part.lines.append("")
