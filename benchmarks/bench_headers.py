"""Memory with per-call headers: many LiteLLM calls, each with its own headers and timeout.

A fresh interpreter per contender, both at once: its resident size after a warm-up and after all
the calls, the pools the core holds at the end (one server: one pool) and LiteLLM's client cache.
"""

from __future__ import annotations

import gc
import json
import subprocess
import time
from typing import Any

from bench_memory import rss_bytes
from contenders import (
    API_KEY,
    MAX_RETRIES,
    MODEL,
    Run,
    answer,
    chat_messages,
    quiet_litellm,
    register_openwebui,
    worker,
)
from report import Part, check_row, failed_row, labels

NAME = "headers"
HEADERS_CALLS = 10_000
PLAN = ((3000,), (HEADERS_CALLS,))  # quick, full: LiteLLM calls per worker
KEYS = ("litellm_openwebui", "litellm_openai")
ABORT_MIB = 1536  # a leak that large stops the worker early (the machine is shared)
GROWTH_MIB = 1.0  # the target: RSS growth over HEADERS_CALLS calls
WORKER_FLAG = "--worker-headers"
MIB = 2**20


def headers_worker(key: str, url: str, calls: int) -> None:
    """Inside a fresh interpreter: `calls` LiteLLM calls, each with its own extra_headers and
    timeout; prints RSS before and after, and the pools the process holds."""
    litellm = quiet_litellm()
    if key == "litellm_openwebui":
        register_openwebui()
        model, base = f"openwebui/{MODEL}", url
    else:
        model, base = f"openai/{MODEL}", f"{url}/api"
    messages = chat_messages()

    def call(i: int) -> None:
        litellm.completion(
            model=model,
            messages=messages,
            api_base=base,
            api_key=API_KEY,
            max_retries=MAX_RETRIES,
            extra_headers={"X-Bench-Call": str(i), "X-Bench-Tenant": f"tenant-{i % 997}"},
            timeout=60.0 + i / 1000,
        )

    for i in range(20):  # warm-up: imports, caches, the first pool
        call(-1 - i)
    gc.collect()
    before = rss_bytes()
    done = 0
    aborted = False
    started = time.perf_counter()
    for i in range(calls):
        call(i)
        done += 1
        if i % 500 == 499 and rss_bytes() - before > ABORT_MIB * MIB:
            aborted = True
            break
    elapsed = time.perf_counter() - started
    gc.collect()
    after = rss_bytes()
    pools = None
    try:
        # A package internal (no public name yet): the pools the core's connections share.
        from openwebui_adapters._connection import shared_connections

        pools = shared_connections()
    except ImportError:
        pass
    cached = None
    cache = getattr(litellm, "in_memory_llm_clients_cache", None)
    for attr in ("cache_dict", "_cache"):
        if cache is not None and isinstance(getattr(cache, attr, None), dict):
            cached = len(getattr(cache, attr))
            break
    print(
        json.dumps(
            {
                "rss_before": before,
                "rss_after": after,
                "calls": done,
                "aborted": aborted,
                "seconds": elapsed,
                "shared_connections": pools,
                "litellm_cached_clients": cached,
            }
        )
    )


def bench_headers(url: str, keys: list[str], calls: int) -> dict[str, Any]:
    """`headers_worker` per contender, each in its own interpreter, both at once (RSS, not time)."""
    running = {key: worker(WORKER_FLAG, key, url, calls) for key in keys}
    results: dict[str, Any] = {}
    for key, process in running.items():
        try:
            stdout, stderr = process.communicate(timeout=1800)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        results[key] = answer(process.returncode, stdout, stderr)
    return {"results": results, "config": {"calls": calls}}


def measure(run: Run) -> dict[str, Any]:
    (calls,) = run.plan(PLAN)
    run.log(f"memory with per-call headers ({calls} LiteLLM calls per contender)")
    return bench_headers(run.url, [k for k in KEYS if k in run.asked], calls)


def render(results: dict[str, Any]) -> Part:
    headers = results.get("headers")
    part = Part()
    if not headers:
        return part
    names = labels(results)
    calls = headers["config"]["calls"]
    part.lines += [
        "## Memory with per-call headers and timeouts",
        "",
        f"{calls} `litellm.completion` calls in a fresh interpreter per contender, each call "
        "with its own `extra_headers` and `timeout`; resident size after 20 warm-up calls and "
        "after all of them (a worker stops early past "
        f"{ABORT_MIB} MiB of growth), and the pools left.",
        "",
        "| contender | calls made | RSS before MiB | growth MiB | shared pools (core) | "
        "LiteLLM cached clients | s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, m in headers["results"].items():
        if "error" in m:
            part.lines.append(failed_row(names.get(key, key), m["error"], 7))
            continue
        growth_mib = (m["rss_after"] - m["rss_before"]) / MIB
        part.lines.append(
            f"| {names.get(key, key)} | {m['calls']}{' (stopped)' if m['aborted'] else ''} | "
            f"{m['rss_before'] / MIB:.1f} | {growth_mib:.1f} | {m['shared_connections']} | "
            f"{m['litellm_cached_clients']} | {m['seconds']:.0f} |"
        )
        if key == "litellm_openwebui":
            # A shorter (quick) run is judged by its growth scaled to the target's count.
            scaled = growth_mib * HEADERS_CALLS / max(1, m["calls"])
            shown = f"{growth_mib:.1f} MiB" + (
                f" ({scaled:.1f} MiB scaled to {HEADERS_CALLS})"
                if m["calls"] != HEADERS_CALLS
                else ""
            )
            part.targets.append(
                check_row(
                    f"{m['calls']} LiteLLM calls with distinct headers/timeout: RSS growth",
                    shown,
                    f"<= {GROWTH_MIB} MiB per {HEADERS_CALLS}",
                    scaled <= GROWTH_MIB,
                )
            )
            pools = m["shared_connections"]
            part.targets.append(check_row("... and pools left (one server)", pools, 1, pools == 1))
    part.lines.append("")
    return part
