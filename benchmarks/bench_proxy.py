"""The LiteLLM Proxy end to end: `openwebui/` against `openai/` + api_base, under load.

Two real `litellm --config` processes on 127.0.0.1, each in its own process group, in front of the
same fast local server: one whose model list says `openwebui/bench-model` (the provider comes in
through `custom_provider_map`, as in README.md), one `openai/bench-model` with
`api_base=<server>/api`. Everything else in the two configs and environments is the same. An
`httpx.AsyncClient` load client sends a fixed number of chat requests at a fixed concurrency,
rounds alternating between the two proxies (order rotated), non-streamed and streamed; it
records requests per second per round and each request's latency (to the end of the answer;
for streams also to the first chunk). Both proxies are stopped by PID (SIGTERM to the group,
SIGKILL after a timeout) whatever happens.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contenders import Run
from report import Part, target_row
from stats import percentile, ratio_interval

NAME = "proxy"
PLAN = ((3, 100), (6, 200))  # quick, full: rounds, requests per round and proxy
CONCURRENCY = 50
HOST = "127.0.0.1"
READY_TIMEOUT = 300.0  # importing the proxy takes 25-35 s on a quiet machine, more when loaded
STOP_TIMEOUT = 20.0
REQUEST_TIMEOUT = 120.0
MODEL_NAME = "bench"
SCRUBBED = ("DATABASE_URL", "DIRECT_URL", "LITELLM_MASTER_KEY", "LITELLM_CONFIG_PATH")
STREAM_CHUNKS = 20

CONFIGS = {
    "openwebui": """model_list:
  - model_name: bench
    litellm_params:
      model: openwebui/bench-model
      api_base: {url}
      api_key: sk-bench
litellm_settings:
  custom_provider_map:
    - {{provider: openwebui, custom_handler: openwebui_adapters.litellm.handler}}
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
""",
    "openai": """model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench-model
      api_base: {url}/api
      api_key: sk-bench
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
""",
}
LABELS = {
    "openwebui": "Proxy, `openwebui/` (ours)",
    "openai": "Proxy, `openai/` + api_base",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Proxy:
    name: str
    url: str
    master_key: str = field(repr=False)
    log: Path
    process: subprocess.Popen[bytes]

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def litellm_command() -> str:
    beside = Path(sys.executable).parent / "litellm"
    found = str(beside) if beside.exists() else shutil.which("litellm")
    if found is None:
        raise RuntimeError(
            "no `litellm` command next to this Python or on PATH (pip install litellm[proxy])"
        )
    return found


def start(name: str, server_url: str, workdir: Path) -> Proxy:
    directory = workdir / f"proxy-{name}"
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.yaml"
    config.write_text(CONFIGS[name].format(url=server_url))
    port = free_port()
    master_key = f"sk-{secrets.token_urlsafe(24)}"  # only in the proxy's environment
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(
        {
            "LITELLM_MASTER_KEY": master_key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": f"{HOST},localhost",
            "no_proxy": f"{HOST},localhost",
        }
    )
    log = directory / "proxy.log"
    command = [litellm_command(), "--config", str(config), "--host", HOST, "--port", str(port)]
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
            start_new_session=True,  # its own process group, stopped whole by its PID
        )
    return Proxy(name, f"http://{HOST}:{port}", master_key, log, process)


def stop(proxy: Proxy) -> None:
    process = proxy.process
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def wait_ready(proxies: list[Proxy]) -> None:
    """Until every proxy answers a chat (or one exits, or the timeout passes)."""
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(proxies)
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"proxy {pending[0].name} not ready within {READY_TIMEOUT:.0f} s\n"
                    + pending[0].tail()
                )
            for proxy in list(pending):
                if proxy.process.poll() is not None:
                    raise RuntimeError(
                        f"proxy {proxy.name} exited with {proxy.process.returncode}\n"
                        + proxy.tail()
                    )
                try:
                    response = client.post(
                        f"{proxy.url}/v1/chat/completions",
                        headers={"Authorization": f"Bearer {proxy.master_key}"},
                        json={"model": MODEL_NAME, "messages": [{"role": "user", "content": "hi"}]},
                    )
                except httpx.TransportError:
                    continue
                if response.status_code == 200:
                    pending.remove(proxy)
                elif response.status_code not in (401, 404, 503):
                    raise RuntimeError(
                        f"proxy {proxy.name} answered {response.status_code}: "
                        f"{response.text[:300]}\n{proxy.tail()}"
                    )
            time.sleep(0.5)


async def _one(client: Any, proxy: Proxy, stream: bool) -> tuple[float, float]:
    """(seconds to the first body byte or chunk, seconds to the end) of one request."""
    body: dict[str, Any] = {
        "model": MODEL_NAME,
        "messages": [{"role": "user", "content": f"Say hello. chunks={STREAM_CHUNKS}"}],
    }
    headers = {"Authorization": f"Bearer {proxy.master_key}"}
    clock = time.perf_counter
    start = clock()
    if not stream:
        response = await client.post(f"{proxy.url}/v1/chat/completions", json=body, headers=headers)
        end = clock()
        if response.status_code != 200:
            raise RuntimeError(f"{proxy.name}: {response.status_code} {response.text[:200]}")
        answer = response.json()
        if not answer["choices"][0]["message"]["content"]:
            raise RuntimeError(f"{proxy.name}: empty answer")
        return end - start, end - start
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
    first = None
    content = 0
    async with client.stream(
        "POST", f"{proxy.url}/v1/chat/completions", json=body, headers=headers
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{proxy.name}: {response.status_code}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            if first is None:
                first = clock()
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    content += 1
    end = clock()
    if content < STREAM_CHUNKS:
        raise RuntimeError(f"{proxy.name}: {content} content chunks, {STREAM_CHUNKS} sent")
    return (first or end) - start, end - start


async def _round(
    client: Any, proxy: Proxy, stream: bool, concurrency: int, requests: int
) -> tuple[float, list[float], list[float]]:
    """(requests/s, first-byte latencies, end latencies) of `requests` at `concurrency`."""
    remaining = requests
    firsts: list[float] = []
    ends: list[float] = []

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            first, end = await _one(client, proxy, stream)
            firsts.append(first)
            ends.append(end)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - start), firsts, ends


async def _load(
    proxies: list[Proxy], rounds: int, per_round: int, concurrency: int
) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(trust_env=False, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        for mode, stream in (("chat", False), ("stream", True)):
            for proxy in proxies:  # warm-up: fills the proxies' pools and the load client's
                await _round(client, proxy, stream, concurrency, concurrency * 2)
            per: dict[str, dict[str, list[float]]] = {
                p.name: {"rps": [], "first": [], "end": []} for p in proxies
            }
            for rep in range(rounds):
                order = proxies[rep % 2 :] + proxies[: rep % 2]
                for proxy in order:
                    rps, firsts, ends = await _round(client, proxy, stream, concurrency, per_round)
                    per[proxy.name]["rps"].append(rps)
                    per[proxy.name]["first"] += firsts
                    per[proxy.name]["end"] += ends
            out[mode] = per
    return out


def bench_proxy(
    server_url: str, workdir: Path, rounds: int, per_round: int, concurrency: int, log: Any
) -> dict[str, Any]:
    proxies: list[Proxy] = []
    try:
        for name in ("openwebui", "openai"):
            proxies.append(start(name, server_url, workdir))
        log(f"proxies starting (PIDs {', '.join(str(p.process.pid) for p in proxies)})")
        started = time.monotonic()
        wait_ready(proxies)
        log(f"proxies ready after {time.monotonic() - started:.0f} s")
        samples = asyncio.run(_load(proxies, rounds, per_round, concurrency))
    finally:
        for proxy in proxies:
            stop(proxy)
    stats: dict[str, Any] = {}
    for mode, per in samples.items():
        stats[mode] = {
            name: {
                "rps": statistics.median(s["rps"]),
                "p50": percentile(s["end"], 0.50),
                "p99": percentile(s["end"], 0.99),
                "first_p50": percentile(s["first"], 0.50),
                "requests": len(s["end"]),
            }
            for name, s in per.items()
        }
    return {
        "samples": samples,
        "stats": stats,
        "config": {
            "rounds": rounds,
            "per_round": per_round,
            "concurrency": concurrency,
            "stream_chunks": STREAM_CHUNKS,
            # The proxies run in this interpreter's environment; without the SDK each request
            # re-runs LiteLLM's failing OTel import (README: Why each dependency is there).
            "opentelemetry_sdk": importlib.util.find_spec("opentelemetry.sdk") is not None
            if importlib.util.find_spec("opentelemetry") is not None
            else False,
        },
    }


OTEL_NOTE = {
    True: " opentelemetry-sdk is installed.",
    False: " opentelemetry-sdk is not installed: each request re-runs LiteLLM's failing OTel import.",
}


def measure(run: Run) -> dict[str, Any]:
    rounds, per_round = run.plan(PLAN)
    run.log("LiteLLM Proxy under load")
    try:
        workdir = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
        return bench_proxy(run.url, workdir, rounds, per_round, CONCURRENCY, run.log)
    except Exception as exc:  # reported, the rest of the run stands
        return {"error": f"{type(exc).__name__}: {str(exc)[:600]}"}


def render(results: dict[str, Any]) -> Part:
    data = results.get("proxy")
    if not data:
        return Part()
    if "error" in data:
        return Part(["## LiteLLM Proxy under load", "", f"Failed: {data['error']}", ""])
    cfg = data["config"]
    part = Part(
        [
            "## LiteLLM Proxy under load",
            "",
            f"Two `litellm --config` processes (1 worker each) in front of the same server; an "
            f"`httpx.AsyncClient` at concurrency {cfg['concurrency']}, {cfg['rounds']} rounds of "
            f"{cfg['per_round']} requests per proxy and mode, alternating (streams: "
            f"{cfg['stream_chunks']} content chunks + usage). Latency is per request, to the end "
            "of the answer; requests/s is the median over rounds."
            + OTEL_NOTE.get(cfg.get("opentelemetry_sdk"), ""),
            "",
            "| mode | proxy | requests/s | p50 ms | p99 ms | first chunk p50 ms | requests |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
    )
    for mode, per in data["stats"].items():
        for name, s in per.items():
            part.lines.append(
                f"| {mode} | {LABELS[name]} | {s['rps']:.0f} | {s['p50'] * 1000:.1f} | "
                f"{s['p99'] * 1000:.1f} | {s['first_p50'] * 1000:.1f} | {s['requests']} |"
            )
        ours, theirs = data["samples"][mode]["openwebui"], data["samples"][mode]["openai"]
        what = "non-streamed" if mode == "chat" else "streamed"
        for measured, samples, stat, goal in (
            ("requests/s", "rps", statistics.median, 1.1),
            ("p50 latency", "end", lambda v: percentile(v, 0.5), 1.0),
            ("p99 latency", "end", lambda v: percentile(v, 0.99), 1.0),
        ):
            r = ratio_interval(ours[samples], theirs[samples], stat, rounds=300, seed=7)
            part.targets.append(
                target_row(
                    f"Proxy {what}: {measured}, openwebui/ / openai/",
                    r,
                    goal,
                    higher=measured == "requests/s",
                )
            )
    part.lines.append("")
    return part
