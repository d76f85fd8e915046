"""Memory: resident size of a fresh interpreter per contender, after one call and after many."""

from __future__ import annotations

import gc
import json
import subprocess
from typing import Any

from chart import colour
from chart import names as chart_names
from contenders import BUILDERS, Run, answer, worker
from report import Part, failed_row, labels

NAME = "memory"
MEMORY_CALLS = 1000
WORKER_FLAG = "--worker-memory"
MIB = 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def memory_worker(key: str, url: str, calls: int) -> None:
    """Inside a fresh interpreter: build one contender, make `calls` calls, print RSS."""
    contender = BUILDERS[key](url)
    assert contender.call is not None
    contender.call()
    before = rss_bytes()
    for _ in range(calls - 1):
        contender.call()
    gc.collect()
    print(json.dumps({"rss_after_first": before, "rss_after": rss_bytes()}))


def bench_memory(url: str, keys: list[str], calls: int, parallel: int = 2) -> dict[str, Any]:
    """RSS per contender, each in its own interpreter; `parallel` at a time (RSS is not a time)."""
    results: dict[str, Any] = {}
    pending = list(keys)
    running: list[tuple[str, subprocess.Popen[str]]] = []
    while pending or running:
        while pending and len(running) < parallel:
            key = pending.pop(0)
            running.append((key, worker(WORKER_FLAG, key, url, calls)))
        key, process = running.pop(0)
        stdout, stderr = process.communicate(timeout=600)
        results[key] = answer(process.returncode, stdout, stderr)
    return {key: results[key] for key in keys}


def measure(run: Run) -> dict[str, Any]:
    run.log("memory")
    calls = run.calls or MEMORY_CALLS
    keys = [c.key for c in run.contenders if c.call]
    return {"results": bench_memory(run.url, keys, calls), "config": {"calls": calls}}


def render(results: dict[str, Any]) -> Part:
    memory = results.get("memory")
    part = Part()
    if not memory:
        return part
    names = labels(results)
    part.lines += [
        "## Memory",
        "",
        f"Resident size in a fresh interpreter per contender, after its first call and after "
        f"{memory['config']['calls']} calls.",
        "",
        "| contender | RSS after 1 call MiB | RSS after all calls MiB | growth MiB |",
        "| --- | --- | --- | --- |",
    ]
    for key, m in memory["results"].items():
        if "error" in m:
            part.lines.append(failed_row(names.get(key, key), m["error"], 4))
            continue
        part.lines.append(
            f"| {names.get(key, key)} | {m['rss_after_first'] / MIB:.1f} | {m['rss_after'] / MIB:.1f} | "
            f"{(m['rss_after'] - m['rss_after_first']) / MIB:.1f} |"
        )
    part.lines.append("")
    shown = chart_names(results)
    rows = [
        (shown.get(k, k), m["rss_after"] / MIB, colour(k))
        for k, m in memory["results"].items()
        if "error" not in m
    ]
    calls = memory["config"]["calls"]
    part.panels.append(
        (f"Resident memory after {calls} calls, MiB (lower is better)", rows, "{:.0f} MiB", False)
    )
    return part
