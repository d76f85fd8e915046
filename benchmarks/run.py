"""Benchmarks of openwebui-adapters against the libraries' own OpenAI paths, in one run.

`python benchmarks/run.py [--quick]` starts `benchmarks/server.py` in its own process, points every
contender at it, and writes `benchmarks/RESULTS.md`, `benchmarks/results.json` and
`benchmarks/chart.svg`. Timed sections interleave the contenders (round-robin, the order rotated
each repetition) so a noisy, shared machine slows all of them alike; results are medians, and the
pairs that matter are reported as ratios against their targets. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import math
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# LiteLLM fetches its model cost map over the network at import unless told not to: that would
# measure the network (and here it retries for seconds against a blocked host).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODEL = "bench-model"
API_KEY = "sk-bench"
STREAM_CHUNKS = 1000
MEMORY_CALLS = 1000
CONCURRENCY = (1, 10, 50, 100)
# Every contender gets the same limits, so no one pays for (or skips) a different policy: the read
# timeout all of them default to, and the OpenAI SDK's default of 2 retries (never used here: the
# server does not fail, so retries cost nothing, but the settings are equal anyway).
TIMEOUT = 600.0
MAX_RETRIES = 2
# Modules whose presence after an import says which frameworks it dragged in.
HEAVY_MODULES = ("litellm", "langchain_core", "langchain_openai", "smolagents", "openai")


# -- the server ------------------------------------------------------------------------------
class BenchServer:
    """`server.py` in its own process (its own GIL), on 127.0.0.1, stopped by PID."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.stop()
            raise RuntimeError(f"benchmark server did not start (said {line!r})")
        self.url = f"http://127.0.0.1:{line[1]}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


# -- contenders ------------------------------------------------------------------------------
@dataclass
class Contender:
    """One way to call the server: a sync call, a stream of `n` chunks, an async call.

    `converse` makes one call with a given conversation, already in the library's own message
    format (`fmt`: "openai" dicts, "langchain" messages or "smolagents" dicts): see
    `bench_growth.py`, which builds the same conversation in each format.
    """

    key: str
    label: str
    call: Callable[[], Any] | None = None
    stream: Callable[[int], Iterable[Any]] | None = None
    acall: Callable[[], Awaitable[Any]] | None = None
    converse: Callable[[Any], Any] | None = None
    fmt: str = "openai"


def _text(n: int | None = None) -> str:
    return "Say hello." if n is None else f"Say hello. chunks={n}"


def _messages(n: int | None = None) -> list[dict[str, Any]]:
    return [{"role": "user", "content": _text(n)}]


def build_httpx(url: str) -> Contender:
    """The floor: httpx posting JSON and parsing the answer, SSE by iter_lines + json.loads."""
    import httpx

    headers = {"Authorization": f"Bearer {API_KEY}"}
    client = httpx.Client(headers=headers, timeout=TIMEOUT)
    aclients: dict[Any, httpx.AsyncClient] = {}
    path = f"{url}/api/chat/completions"
    body = {"model": MODEL, "messages": _messages()}

    def call() -> Any:
        response = client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def stream(n: int) -> Iterator[Any]:
        payload = {
            "model": MODEL,
            "messages": _messages(n),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        with client.stream("POST", path, json=payload) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        return
                    yield json.loads(data)

    async def acall() -> Any:
        loop = asyncio.get_running_loop()
        aclient = aclients.get(loop)
        if aclient is None:
            # httpx's default pool limits, as the core uses.
            aclient = aclients[loop] = httpx.AsyncClient(headers=headers, timeout=TIMEOUT)
        response = await aclient.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def converse(messages: Any) -> Any:
        response = client.post(path, json={"model": MODEL, "messages": messages})
        response.raise_for_status()
        return response.json()

    return Contender("httpx", "raw httpx (floor)", call, stream, acall, converse)


def build_core(url: str) -> Contender:
    from openwebui_adapters import OpenWebUIClient

    client = OpenWebUIClient(url, API_KEY, timeout=TIMEOUT, max_retries=MAX_RETRIES)
    payload = {"model": MODEL, "messages": _messages()}

    def stream(n: int) -> Iterator[Any]:
        return client.stream_chat({"model": MODEL, "messages": _messages(n)})

    return Contender(
        "core",
        "openwebui_adapters core (OpenWebUIClient)",
        lambda: client.chat(payload),
        stream,
        lambda: client.achat(payload),
        lambda messages: client.chat({"model": MODEL, "messages": messages}),
    )


def build_openai_sdk(url: str) -> Contender:
    """A reference point: the OpenAI SDK, which LiteLLM, ChatOpenAI and smolagents wrap."""
    import openai

    options: Any = {"timeout": TIMEOUT, "max_retries": MAX_RETRIES}
    client = openai.OpenAI(base_url=f"{url}/api", api_key=API_KEY, **options)
    aclient = openai.AsyncOpenAI(base_url=f"{url}/api", api_key=API_KEY, **options)
    messages: Any = _messages()

    def stream(n: int) -> Iterator[Any]:
        return iter(
            client.chat.completions.create(
                model=MODEL,
                messages=_messages(n),
                stream=True,
                stream_options={"include_usage": True},
            )  # type: ignore[call-overload]
        )

    return Contender(
        "openai_sdk",
        "openai SDK (reference)",
        lambda: client.chat.completions.create(model=MODEL, messages=messages),
        stream,
        lambda: aclient.chat.completions.create(model=MODEL, messages=messages),
        lambda conversation: client.chat.completions.create(model=MODEL, messages=conversation),
    )


def _quiet_litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def build_litellm_openwebui(url: str) -> Contender:
    litellm = _quiet_litellm()
    adapter = importlib.import_module("openwebui_adapters.litellm")
    register = getattr(adapter, "register", None)
    if callable(register):
        register()
    messages = _messages()
    model = f"openwebui/{MODEL}"
    options = {"api_base": url, "api_key": API_KEY, "timeout": TIMEOUT, "max_retries": MAX_RETRIES}

    def stream(n: int) -> Iterable[Any]:
        return litellm.completion(model=model, messages=_messages(n), stream=True, **options)  # type: ignore[no-any-return]

    return Contender(
        "litellm_openwebui",
        "LiteLLM `openwebui/` (ours)",
        lambda: litellm.completion(model=model, messages=messages, **options),
        stream,
        lambda: litellm.acompletion(model=model, messages=messages, **options),
        lambda conversation: litellm.completion(model=model, messages=conversation, **options),
    )


def build_litellm_openai(url: str) -> Contender:
    litellm = _quiet_litellm()
    messages = _messages()
    model = f"openai/{MODEL}"
    options = {
        "api_base": f"{url}/api",
        "api_key": API_KEY,
        "timeout": TIMEOUT,
        "max_retries": MAX_RETRIES,
    }

    def stream(n: int) -> Iterable[Any]:
        # Ask for the usage chunk, as `openwebui/` does by default: the same bytes come back.
        return litellm.completion(  # type: ignore[no-any-return]
            model=model,
            messages=_messages(n),
            stream=True,
            stream_options={"include_usage": True},
            **options,
        )

    return Contender(
        "litellm_openai",
        "LiteLLM `openai/` + api_base",
        lambda: litellm.completion(model=model, messages=messages, **options),
        stream,
        lambda: litellm.acompletion(model=model, messages=messages, **options),
        lambda conversation: litellm.completion(model=model, messages=conversation, **options),
    )


def _langchain_contender(key: str, label: str, chat: Any) -> Contender:
    messages = [("user", _text())]
    return Contender(
        key,
        label,
        lambda: chat.invoke(messages),
        lambda n: chat.stream([("user", _text(n))]),
        lambda: chat.ainvoke(messages),
        chat.invoke,
        "langchain",
    )


def build_langchain_openwebui(url: str) -> Contender:
    from openwebui_adapters.langchain import ChatOpenWebUI  # type: ignore[import-not-found,unused-ignore]

    chat = ChatOpenWebUI(
        model=MODEL,
        base_url=url,
        api_key=API_KEY,  # type: ignore[arg-type]  # a str is accepted and made a SecretStr
        timeout=TIMEOUT,
        max_retries=MAX_RETRIES,
    )
    return _langchain_contender("langchain_openwebui", "LangChain ChatOpenWebUI (ours)", chat)


def build_langchain_openai(url: str) -> Contender:
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        model=MODEL,
        base_url=f"{url}/api",
        api_key=API_KEY,  # type: ignore[arg-type]
        timeout=TIMEOUT,
        max_retries=MAX_RETRIES,
        stream_usage=True,  # the usage chunk, as ChatOpenWebUI asks for: the same bytes come back
    )
    return _langchain_contender("langchain_openai", "LangChain ChatOpenAI + base_url", chat)


def _smolagents_contender(key: str, label: str, model: Any) -> Contender:
    messages = [{"role": "user", "content": [{"type": "text", "text": _text()}]}]

    def stream(n: int) -> Iterable[Any]:
        return model.generate_stream(  # type: ignore[no-any-return]
            [{"role": "user", "content": [{"type": "text", "text": _text(n)}]}]
        )

    # smolagents has no async API: its async figure is `generate` in a thread pool as large as
    # the concurrency (what an async application has to do), the same for both models.
    executors: dict[int, Any] = {}

    async def acall() -> Any:
        from concurrent.futures import ThreadPoolExecutor

        executor = executors.get(0)
        if executor is None:
            executor = executors[0] = ThreadPoolExecutor(max_workers=max(CONCURRENCY))
        return await asyncio.get_running_loop().run_in_executor(executor, model.generate, messages)

    return Contender(
        key, label, lambda: model.generate(messages), stream, acall, model.generate, "smolagents"
    )


def build_smolagents_openwebui(url: str) -> Contender:
    from openwebui_adapters.smolagents import OpenWebUIModel  # type: ignore[import-not-found,unused-ignore]

    model = OpenWebUIModel(
        model_id=MODEL, api_base=url, api_key=API_KEY, timeout=TIMEOUT, max_retries=MAX_RETRIES
    )
    return _smolagents_contender("smolagents_openwebui", "smolagents OpenWebUIModel (ours)", model)


def build_smolagents_openai(url: str) -> Contender:
    from smolagents import OpenAIModel

    model = OpenAIModel(
        model_id=MODEL,
        api_base=f"{url}/api",
        api_key=API_KEY,
        client_kwargs={"timeout": TIMEOUT, "max_retries": MAX_RETRIES},
    )
    return _smolagents_contender("smolagents_openai", "smolagents OpenAIModel + api_base", model)


BUILDERS: dict[str, Callable[[str], Contender]] = {
    "httpx": build_httpx,
    "core": build_core,
    "openai_sdk": build_openai_sdk,
    "litellm_openwebui": build_litellm_openwebui,
    "litellm_openai": build_litellm_openai,
    "langchain_openwebui": build_langchain_openwebui,
    "langchain_openai": build_langchain_openai,
    "smolagents_openwebui": build_smolagents_openwebui,
    "smolagents_openai": build_smolagents_openai,
}


@dataclass(frozen=True)
class Pair:
    """Ours against theirs, with the target ratio (ours / theirs, time; lower is better)."""

    ours: str
    theirs: str
    target: float
    name: str


CALL_PAIRS = (
    Pair("core", "httpx", 1.15, "core vs raw httpx"),
    Pair("litellm_openwebui", "litellm_openai", 0.80, "LiteLLM openwebui/ vs openai/"),
    Pair("langchain_openwebui", "langchain_openai", 0.75, "ChatOpenWebUI vs ChatOpenAI"),
    Pair("smolagents_openwebui", "smolagents_openai", 0.80, "OpenWebUIModel vs OpenAIModel"),
)
STREAM_PAIRS = (
    Pair("core", "httpx", 1.20, "core vs raw httpx SSE parsing"),
    Pair("litellm_openwebui", "litellm_openai", 0.80, "LiteLLM openwebui/ vs openai/"),
    Pair("langchain_openwebui", "langchain_openai", 0.75, "ChatOpenWebUI vs ChatOpenAI"),
    Pair("smolagents_openwebui", "smolagents_openai", 0.80, "OpenWebUIModel vs OpenAIModel"),
)
# What is imported: a module name (`import X`), or a whole statement.
CORE_IMPORT = "from openwebui_adapters import OpenWebUIClient"
SMOLAGENTS_PEER_IMPORT = "from smolagents import OpenAIModel"
IMPORT_PAIRS = (
    (CORE_IMPORT, "openai"),
    ("openwebui_adapters.litellm", "litellm"),
    ("openwebui_adapters.langchain", "langchain_openai"),
    ("openwebui_adapters.smolagents", SMOLAGENTS_PEER_IMPORT),
)
IMPORT_MODULES = (
    "httpx",
    "openwebui_adapters",
    "openwebui_adapters._client",
    CORE_IMPORT,
    "openai",
    "openwebui_adapters.litellm",
    "litellm",
    "openwebui_adapters.langchain",
    "langchain_openai",
    "openwebui_adapters.smolagents",
    "smolagents",
    SMOLAGENTS_PEER_IMPORT,
)


def import_statement(entry: str) -> str:
    return entry if " " in entry else f"import {entry}"


def import_label(entry: str) -> str:
    return f"`{import_statement(entry)}`"


# Importing these must never load litellm.
NO_LITELLM = (
    "openwebui_adapters",
    "openwebui_adapters._client",
    CORE_IMPORT,
    "openwebui_adapters.langchain",
    "openwebui_adapters.smolagents",
)


def build_all(url: str, keys: Iterable[str]) -> tuple[list[Contender], dict[str, str]]:
    """The contenders that could be built, and why the others could not."""
    built, missing = [], {}
    for key in keys:
        try:
            contender = BUILDERS[key](url)
            if contender.call is not None:
                contender.call()  # fail now, not in the middle of a timed loop
        except Exception as exc:  # an adapter not written yet, or broken: report, don't stop
            missing[key] = (
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            )
            continue
        built.append(contender)
    return built, missing


# -- statistics ------------------------------------------------------------------------------
def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    n = len(ordered)
    return {
        "median": statistics.median(ordered),
        "p10": ordered[int(n * 0.1)],
        "p90": ordered[min(n - 1, int(n * 0.9))],
        "n": n,
    }


def ratio_interval(
    ours: list[float], theirs: list[float], rounds: int = 400
) -> tuple[float, float]:
    """A 90% bootstrap interval of median(ours) / median(theirs)."""
    rng = random.Random(1234)
    ratios = []
    for _ in range(rounds):
        a = statistics.median(rng.choices(ours, k=len(ours)))
        b = statistics.median(rng.choices(theirs, k=len(theirs)))
        ratios.append(a / b)
    ratios.sort()
    return ratios[int(rounds * 0.05)], ratios[int(rounds * 0.95) - 1]


def rotated(items: list[Any], rep: int) -> list[Any]:
    k = rep % len(items)
    return items[k:] + items[:k]


# -- timed sections --------------------------------------------------------------------------
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


# -- subprocess measurements ----------------------------------------------------------------
IMPORT_SNIPPET = """
import json, sys, time
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def bench_imports(reps: int) -> dict[str, Any]:
    """Import time of each module in a fresh interpreter, interleaved across modules."""
    samples: dict[str, list[float]] = {}
    loaded: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    modules = list(IMPORT_MODULES)
    for rep in range(reps):
        for module in rotated(modules, rep):
            if module in errors:
                continue
            code = IMPORT_SNIPPET.format(statement=import_statement(module), heavy=HEAVY_MODULES)
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                errors[module] = (done.stderr.strip().splitlines() or ["failed"])[-1][:160]
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            samples.setdefault(module, []).append(result["seconds"])
            loaded[module] = result["loaded"]
    stats = {m: summary(s) for m, s in samples.items()}
    return {"samples": samples, "stats": stats, "loaded": loaded, "errors": errors}


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


HEADERS_KEYS = ("litellm_openwebui", "litellm_openai")
HEADERS_CALLS = 10_000
HEADERS_ABORT_MIB = 1536  # a leak that large stops the worker early (the machine is shared)


def headers_worker(key: str, url: str, calls: int) -> None:
    """Inside a fresh interpreter: `calls` LiteLLM calls, each with its own extra_headers and
    timeout; prints RSS before and after, and the pools the process holds."""
    litellm = _quiet_litellm()
    if key == "litellm_openwebui":
        adapter = importlib.import_module("openwebui_adapters.litellm")
        register = getattr(adapter, "register", None)
        if callable(register):
            register()
        model, base = f"openwebui/{MODEL}", url
    else:
        model, base = f"openai/{MODEL}", f"{url}/api"
    messages = _messages()

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
        if i % 500 == 499 and rss_bytes() - before > HEADERS_ABORT_MIB * 2**20:
            aborted = True
            break
    elapsed = time.perf_counter() - started
    gc.collect()
    after = rss_bytes()
    pools = None
    try:
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
    running = {}
    for key in keys:
        command = [sys.executable, __file__, "--worker-headers", key, "--server", url]
        command += ["--calls", str(calls)]
        running[key] = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    results: dict[str, Any] = {}
    for key, process in running.items():
        try:
            stdout, stderr = process.communicate(timeout=1800)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        if process.returncode != 0:
            results[key] = {"error": (stderr.strip().splitlines() or ["failed"])[-1][:160]}
        else:
            results[key] = json.loads(stdout.strip().splitlines()[-1])
    return {"results": results, "config": {"calls": calls}}


def server_counts(url: str) -> dict[str, int]:
    """The server's counters, asked over a connection of its own (counted: subtract 1)."""
    import urllib.request

    with urllib.request.urlopen(f"{url}/bench/stats", timeout=10) as response:
        return dict(json.loads(response.read()))


def bench_connections(url: str, contenders: list[Contender], count: int) -> dict[str, Any]:
    """New TCP connections the server accepted during `count` sequential calls (and streams)
    of each contender on its warm client; the contenders run one after another."""
    out: dict[str, dict[str, int]] = {}
    for contender in contenders:
        per: dict[str, int] = {}
        for mode in ("calls", "streams"):
            run: Callable[[], Any] | None
            if mode == "calls":
                run = contender.call
            elif contender.stream is not None:
                stream = contender.stream
                run = lambda stream=stream: sum(1 for _ in stream(10))  # type: ignore[misc]  # noqa: E731
            else:
                run = None
            if run is None:
                continue
            run()  # the client's pool holds a connection before counting starts
            before = server_counts(url)
            for _ in range(count):
                run()
            after = server_counts(url)
            per[mode] = after["accepted"] - before["accepted"] - 1
            per[f"{mode}_requests"] = after["requests"] - before["requests"] - 1
        out[contender.key] = per
    return {"results": out, "config": {"count": count}}


def bench_memory(url: str, keys: list[str], calls: int, parallel: int = 2) -> dict[str, Any]:
    """RSS per contender, each in its own interpreter; `parallel` at a time (RSS is not a time)."""
    results: dict[str, Any] = {}
    pending = list(keys)
    running: list[tuple[str, subprocess.Popen[str]]] = []
    while pending or running:
        while pending and len(running) < parallel:
            key = pending.pop(0)
            command = [sys.executable, __file__, "--worker-memory", key, "--server", url]
            command += ["--calls", str(calls)]
            running.append(
                (
                    key,
                    subprocess.Popen(
                        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                    ),
                )
            )
        key, process = running.pop(0)
        stdout, stderr = process.communicate(timeout=600)
        if process.returncode != 0:
            results[key] = {"error": (stderr.strip().splitlines() or ["failed"])[-1][:160]}
        else:
            results[key] = json.loads(stdout.strip().splitlines()[-1])
    return {key: results[key] for key in keys}


# -- reporting -------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in (
        "openwebui-adapters",
        "httpx",
        "openai",
        "litellm",
        "langchain-core",
        "langchain-openai",
        "smolagents",
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def command_line() -> str:
    """How this run was started, as a user would type it."""
    if os.environ.get("NOX_CURRENT_SESSION"):
        extra = " ".join(sys.argv[1:])
        return f"nox -s bench{' -- ' + extra if extra else ''}"
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return " ".join(["python", str(shown), *sys.argv[1:]])


def machine() -> str:
    """CPU model, logical CPUs, memory and OS, from /proc where there is one."""
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as info:
            total_kib = int(info.readline().split()[1])
            memory = f", {total_kib / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs{memory}, {platform.system()} {platform.release()}"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= target else "**missed**"


def certainty(r: tuple[float, float, float] | None, target: float) -> str:
    """Where the whole 90% interval lies against the goal: a straddling interval is a tie."""
    if r is None:
        return "n/a"
    if r[2] <= target:
        return "all below goal"
    if r[1] > target:
        return "all above goal"
    return "straddles goal"


def labels(results: dict[str, Any]) -> dict[str, str]:
    return dict(results["labels"])


def call_ratio(results: dict[str, Any], pair: Pair) -> tuple[float, float, float] | None:
    calls = results.get("calls")
    if not calls or pair.ours not in calls["samples"] or pair.theirs not in calls["samples"]:
        return None
    ours, theirs = calls["samples"][pair.ours], calls["samples"][pair.theirs]
    low, high = ratio_interval(ours, theirs)
    return statistics.median(ours) / statistics.median(theirs), low, high


def stream_ratio(
    results: dict[str, Any], pair: Pair, part: str = "after_first"
) -> tuple[float, float, float] | None:
    """Ours / theirs for `after_first` (the rest of the stream) or `ttfc` (time to first chunk)."""
    streams = results.get("streams")
    if not streams:
        return None
    rest = streams["samples"][part]
    if pair.ours not in rest or pair.theirs not in rest:
        return None
    low, high = ratio_interval(rest[pair.ours], rest[pair.theirs])
    return statistics.median(rest[pair.ours]) / statistics.median(rest[pair.theirs]), low, high


ASYNC_PAIRS = (
    Pair("core", "httpx", 0.95, "core vs raw httpx"),
    Pair("litellm_openwebui", "litellm_openai", 1.0, "LiteLLM openwebui/ vs openai/"),
    Pair("langchain_openwebui", "langchain_openai", 1.0, "ChatOpenWebUI vs ChatOpenAI"),
    Pair(
        "smolagents_openwebui", "smolagents_openai", 1.0, "OpenWebUIModel vs OpenAIModel (threads)"
    ),
)
GROWTH_PAIRS = (
    Pair("core", "httpx", 1.0, "core vs raw httpx"),
    Pair("litellm_openwebui", "litellm_openai", 1.0, "LiteLLM openwebui/ vs openai/"),
    Pair("langchain_openwebui", "langchain_openai", 1.0, "ChatOpenWebUI vs ChatOpenAI"),
    Pair("smolagents_openwebui", "smolagents_openai", 1.0, "OpenWebUIModel vs OpenAIModel"),
)
OURS = ("core", "litellm_openwebui", "langchain_openwebui", "smolagents_openwebui")
MAX_CONNECTIONS = 2
HEADERS_GROWTH_MIB = 1.0


def target_row(
    name: str, r: tuple[float, float, float] | None, goal: float, *, higher: bool = False
) -> str:
    """One row of the Targets table for a ratio (ours / theirs) with its 90% interval."""
    goal_text = f">= {goal}x" if higher else f"<= {goal}x"
    if r is None:
        return f"| {name} | n/a | {goal_text} | n/a | not measured |"
    met = r[0] >= goal if higher else r[0] <= goal
    if (r[1] >= goal) if higher else (r[2] <= goal):
        where = "all on the good side"
    elif (r[2] < goal) if higher else (r[1] > goal):
        where = "all on the bad side"
    else:
        where = "straddles goal"
    return (
        f"| {name} | {r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f}) | {goal_text} | {where} | "
        f"{'met' if met else '**missed**'} |"
    )


def async_ratio(
    results: dict[str, Any], pair: Pair, level: str
) -> tuple[float, float, float] | None:
    aio = results.get("async")
    per = aio["samples"].get(level, {}) if aio else {}
    if pair.ours not in per or pair.theirs not in per:
        return None
    ours, theirs = per[pair.ours], per[pair.theirs]
    low, high = ratio_interval(ours, theirs)
    return statistics.median(ours) / statistics.median(theirs), low, high


def extra_sections(results: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(markdown sections, target rows) of the measurements added for issue #16."""
    import bench_growth
    import bench_knowledge
    import bench_proxy

    names = labels(results)
    lines: list[str] = []
    targets: list[str] = []
    aio = results.get("async")
    if aio:
        for level in aio["samples"]:
            for pair in ASYNC_PAIRS:
                r = async_ratio(results, pair, level)
                if r is not None:
                    targets.append(
                        target_row(
                            f"async throughput at concurrency {level}: {pair.name}",
                            r,
                            pair.target,
                            higher=True,
                        )
                    )
    if results.get("proxy"):
        if "error" in results["proxy"]:
            lines += ["## LiteLLM Proxy under load", "", f"Failed: {results['proxy']['error']}", ""]
        else:
            more, rows = bench_proxy.render(results["proxy"], target_row)
            lines += more
            targets += rows
    growth = results.get("growth") or {}
    for part, title, unit in (
        ("conversation", "Per call against conversation length", "message"),
        ("stream", "Per stream against stream length", "chunk"),
    ):
        if part in growth:
            more, rows = bench_growth.render(
                title, unit, growth[part], names, list(GROWTH_PAIRS), target_row
            )
            lines += more
            targets += rows
    conns = results.get("connections")
    if conns:
        count = conns["config"]["count"]
        lines += [
            "## Connections",
            "",
            f"TCP connections the server accepted during {count} sequential calls, and during "
            f"{count} sequential 10-chunk streams, on one warm client per contender (requests the "
            "server received in brackets).",
            "",
            "| contender | new connections, calls | new connections, streams |",
            "| --- | --- | --- |",
        ]
        for key, per in conns["results"].items():
            lines.append(
                f"| {names.get(key, key)} | {per.get('calls', 'n/a')} "
                f"({per.get('calls_requests', '-')}) | {per.get('streams', 'n/a')} "
                f"({per.get('streams_requests', '-')}) |"
            )
            if key in OURS:
                for mode in ("calls", "streams"):
                    if mode in per:
                        ok = per[mode] <= MAX_CONNECTIONS
                        targets.append(
                            f"| connections for {count} sequential {mode}: {names.get(key, key)} "
                            f"| {per[mode]} | <= {MAX_CONNECTIONS} | n/a | "
                            f"{'met' if ok else '**missed**'} |"
                        )
        lines.append("")
    headers = results.get("headers")
    if headers:
        calls = headers["config"]["calls"]
        lines += [
            "## Memory with per-call headers and timeouts",
            "",
            f"{calls} `litellm.completion` calls in a fresh interpreter per contender, each call "
            "with its own `extra_headers` and `timeout`; resident size after 20 warm-up calls and "
            "after all of them (a worker stops early past "
            f"{HEADERS_ABORT_MIB} MiB of growth), and the pools left.",
            "",
            "| contender | calls made | RSS before MiB | growth MiB | shared pools (core) | "
            "LiteLLM cached clients | s |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        mib = 2**20
        for key, m in headers["results"].items():
            if "error" in m:
                lines.append(f"| {names.get(key, key)} | failed: {m['error']} | | | | | |")
                continue
            growth_mib = (m["rss_after"] - m["rss_before"]) / mib
            lines.append(
                f"| {names.get(key, key)} | {m['calls']}{' (stopped)' if m['aborted'] else ''} | "
                f"{m['rss_before'] / mib:.1f} | {growth_mib:.1f} | {m['shared_connections']} | "
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
                targets.append(
                    f"| {m['calls']} LiteLLM calls with distinct headers/timeout: RSS growth "
                    f"| {shown} | <= {HEADERS_GROWTH_MIB} MiB per {HEADERS_CALLS} | n/a | "
                    f"{'met' if scaled <= HEADERS_GROWTH_MIB else '**missed**'} |"
                )
                pools = m["shared_connections"]
                targets.append(
                    f"| ... and pools left (one server) | {pools} | 1 | n/a | "
                    f"{'met' if pools == 1 else '**missed**'} |"
                )
        lines.append("")
    if results.get("knowledge"):
        more, rows = bench_knowledge.render(results["knowledge"], target_row)
        lines += more
        targets += rows
    return lines, targets


def render_markdown(results: dict[str, Any]) -> str:
    names = labels(results)
    out = ["# Benchmark results", ""]
    meta = results["meta"]
    duration = meta.get("duration_s")
    out += [
        "| | |",
        "| --- | --- |",
        f"| date | {meta['when']} |",
        f"| run | {'quick' if meta['quick'] else 'full'} |",
        f"| command | `{meta.get('command', 'python benchmarks/run.py')}` |",
        f"| duration | {duration / 60:.1f} min ({duration:.0f} s) |"
        if duration is not None
        else "| duration | n/a |",
        f"| machine | {meta.get('machine', '')} |",
        f"| load average (1, 5, 15 min) | before {meta['load_before']}; after {meta['load_after']} |",
        "| versions | " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + " |",
        "",
        "The server is `benchmarks/server.py`, in its own process on 127.0.0.1 (one write per "
        "response, keep-alive, answers built once and cached). Every contender talks to it with "
        f"the same payloads, a {TIMEOUT:.0f} s timeout and {MAX_RETRIES} retries (never needed). "
        "Every timed section warms each contender up first, interleaves the contenders round-robin "
        "(the order rotated each repetition), gives each the same number of calls, and starts "
        "each contender's turn with `gc.collect()` (what the imports and set-up allocated is "
        "frozen out of the collector's reach first, `gc.freeze()`); numbers are medians. The machine is shared "
        "with other work, so absolute times wobble between runs; the ratios come from interleaved "
        "samples and carry a bootstrap interval. See `benchmarks/README.md` for the method.",
        "",
        "![chart](chart.svg)",
        "",
    ]

    out += [
        "## Targets",
        "",
        "| target | measured (90% interval) | goal | interval | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    targets_at = len(out)
    for pair in CALL_PAIRS:
        r = call_ratio(results, pair)
        shown = f"{r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f})" if r else "n/a"
        out.append(
            f"| per call: {pair.name} | {shown} | <= {pair.target}x | "
            f"{certainty(r, pair.target)} | {verdict(r[0] if r else None, pair.target)} |"
        )
    for part, what in (("after_first", "time per chunk"), ("ttfc", "time to first chunk")):
        for pair in STREAM_PAIRS:
            r = stream_ratio(results, pair, part)
            shown = f"{r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f})" if r else "n/a"
            out.append(
                f"| streaming, {what}: {pair.name} | {shown} | <= {pair.target}x | "
                f"{certainty(r, pair.target)} | {verdict(r[0] if r else None, pair.target)} |"
            )
    imports = results.get("imports")
    for module in NO_LITELLM:
        if imports and module in imports["loaded"]:
            clean = "litellm" not in imports["loaded"][module]
            out.append(
                f"| {import_label(module)} loads no litellm | {'no litellm' if clean else 'litellm loaded'} | no litellm | n/a | {'met' if clean else '**missed**'} |"
            )
        else:
            reason = imports["errors"].get(module, "not measured") if imports else "not measured"
            out.append(
                f"| {import_label(module)} loads no litellm | n/a ({reason}) | no litellm | n/a | not measured |"
            )
    new_sections, new_targets = extra_sections(results)
    out += new_targets
    out.append("")
    verdicts = [line.rsplit("|", 2)[-2].strip() for line in out[targets_at:] if line]
    missed = verdicts.count("**missed**")
    out.append(
        f"{verdicts.count('met')} of {len(verdicts)} targets met"
        + (f", **{missed} missed** (see Findings)." if missed else ".")
        + (
            f" {verdicts.count('not measured')} not measured."
            if verdicts.count("not measured")
            else ""
        )
        + " A ratio is ours / theirs in time (lower is faster): per call, the whole call; for "
        "streams, the time from the first chunk to the end (time per chunk) and the time to the "
        "first chunk. The interval is a 90% bootstrap interval of the ratio of medians; where it "
        "straddles the goal, the verdict rests on noise (a tie), and another run may flip it."
    )
    out.append("")

    if results.get("missing"):
        out += ["Contenders that could not run:", ""]
        for key, reason in results["missing"].items():
            out.append(f"- `{key}`: {reason}")
        out.append("")

    calls = results.get("calls")
    if calls:
        floor = calls["stats"].get("httpx", {}).get("median")
        out += [
            "## Per non-streaming call",
            "",
            f"{calls['config']['reps']} repetitions x {calls['config']['batch']} calls per contender, interleaved.",
            "",
            "| contender | median ms | p10 ms | p90 ms | x raw httpx |",
            "| --- | --- | --- | --- | --- |",
        ]
        for key, s in calls["stats"].items():
            rel = f"{s['median'] / floor:.2f}x" if floor else "n/a"
            out.append(
                f"| {names[key]} | {fmt_ms(s['median'])} | {fmt_ms(s['p10'])} | {fmt_ms(s['p90'])} | {rel} |"
            )
        out.append("")
        out += ["| pair | ratio (90% interval) | target |", "| --- | --- | --- |"]
        for pair in CALL_PAIRS:
            r = call_ratio(results, pair)
            if r:
                out.append(
                    f"| {pair.name} | {r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f}) | <= {pair.target}x |"
                )
        out.append("")

    streams = results.get("streams")
    if streams:
        floor_rate = streams["stats"].get("httpx", {}).get("chunks_per_s")
        out += [
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
            out.append(
                f"| {names[key]} | {fmt_ms(s['ttfc']['median'])} | {fmt_ms(s['after_first']['median'])} | "
                f"{s['chunks_per_s']:,.0f} | {rel} | {s['items']} |"
            )
        out.append("")
        out += [
            "| pair | stream time ratio (90% interval) | TTFC ratio | target |",
            "| --- | --- | --- | --- |",
        ]
        for pair in STREAM_PAIRS:
            r = stream_ratio(results, pair)
            st = streams["stats"]
            if r:
                ttfc = st[pair.ours]["ttfc"]["median"] / st[pair.theirs]["ttfc"]["median"]
                out.append(
                    f"| {pair.name} | {r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f}) | {ttfc:.2f}x | <= {pair.target}x |"
                )
        out.append("")

    aio = results.get("async")
    if aio:
        levels = list(aio["stats"])
        out += [
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
            out.append(
                f"| {names[key]} | "
                + " | ".join(f"{aio['stats'][c][key]:,.0f}" for c in levels)
                + " |"
            )
        out.append("")
        out += [
            "| pair (throughput, ours / theirs; higher is better; 90% interval) | "
            + " | ".join(levels)
            + " | goal |",
            "| --- | " + " | ".join("---" for _ in levels) + " | --- |",
        ]
        for pair in ASYNC_PAIRS:
            if pair.ours in keys and pair.theirs in keys:
                cells = []
                for c in levels:
                    r = async_ratio(results, pair, c)
                    cells.append(f"{r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f})" if r else "n/a")
                out.append(f"| {pair.name} | " + " | ".join(cells) + f" | >= {pair.target}x |")
        out += [
            "",
            "smolagents has no async API: its figures are `generate` run in a thread pool as "
            "large as the concurrency, the same for both models.",
            "",
        ]

    if imports:
        out += [
            "## Import time",
            "",
            f"A fresh interpreter per measurement, {imports['config']['reps']} repetitions, interleaved.",
            "",
            "| module | median ms | frameworks loaded |",
            "| --- | --- | --- |",
        ]
        for module in IMPORT_MODULES:
            if module in imports["stats"]:
                loaded = ", ".join(imports["loaded"][module]) or "none"
                out.append(
                    f"| {import_label(module)} | {imports['stats'][module]['median'] * 1000:.0f} | {loaded} |"
                )
            elif module in imports["errors"]:
                out.append(f"| {import_label(module)} | failed: {imports['errors'][module]} | |")
        out.append("")
        out += ["| adapter import / peer import | ratio (90% interval) |", "| --- | --- |"]
        for ours, theirs in IMPORT_PAIRS:
            st = imports["samples"]
            if ours in st and theirs in st:
                low, high = ratio_interval(st[ours], st[theirs])
                ratio = statistics.median(st[ours]) / statistics.median(st[theirs])
                out.append(
                    f"| {import_label(ours)} / {import_label(theirs)} | {ratio:.2f}x "
                    f"({low:.2f}-{high:.2f}) |"
                )
        out.append("")

    memory = results.get("memory")
    if memory:
        out += [
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
                out.append(f"| {names.get(key, key)} | failed: {m['error']} | | |")
                continue
            mib = 1024 * 1024
            out.append(
                f"| {names.get(key, key)} | {m['rss_after_first'] / mib:.1f} | {m['rss_after'] / mib:.1f} | "
                f"{(m['rss_after'] - m['rss_after_first']) / mib:.1f} |"
            )
        out.append("")

    out += new_sections
    findings = HERE / "FINDINGS.md"
    if findings.exists():
        out += [findings.read_text().strip(), ""]
    return "\n".join(out)


Panel = tuple[str, list[tuple[str, float, str]], str, bool]  # title, rows, value format, log


def chart_panels(results: dict[str, Any]) -> list[Panel]:
    """What the chart shows: (title, [(label, value, colour)], format, log scale?)."""
    names = labels(results)
    panels: list[Panel] = []

    names = {key: label.replace("`", "") for key, label in names.items()}

    def colour(key: str) -> str:
        if key == "httpx":
            return "#2e7d32"
        if key == "core" or key.endswith("_openwebui") or key.startswith("openwebui_adapters"):
            return "#1565c0"
        return "#9e9e9e"

    if results.get("calls"):
        rows = [
            (names[k], s["median"] * 1000, colour(k)) for k, s in results["calls"]["stats"].items()
        ]
        panels.append(
            ("Per non-streaming call, median ms (lower is better)", rows, "{:.2f} ms", False)
        )
    if results.get("streams"):
        n = results["streams"]["chunks"]
        rows = [
            (names[k], s["chunks_per_s"], colour(k)) for k, s in results["streams"]["stats"].items()
        ]
        panels.append(
            (
                f"Streaming, chunks per second on a {n}-chunk stream, log scale (higher is better)",
                rows,
                "{:,.0f}/s",
                True,
            )
        )
    if results.get("async"):
        stats = results["async"]["stats"]
        levels = list(stats)
        for level in (levels[0], levels[-1]):
            rows = [(names[k], v, colour(k)) for k, v in stats[level].items()]
            panels.append(
                (
                    f"Async throughput at concurrency {level}, calls/s (higher is better)",
                    rows,
                    "{:,.0f}/s",
                    False,
                )
            )
    if results.get("imports"):
        rows = [
            (module, s["median"] * 1000, colour("httpx" if module == "httpx" else module))
            for module, s in results["imports"]["stats"].items()
        ]
        panels.append(
            ("Import time, median ms, log scale (lower is better)", rows, "{:,.0f} ms", True)
        )
    if results.get("memory"):
        rows = [
            (names.get(k, k), m["rss_after"] / 2**20, colour(k))
            for k, m in results["memory"]["results"].items()
            if "error" not in m
        ]
        calls = results["memory"]["config"]["calls"]
        panels.append(
            (
                f"Resident memory after {calls} calls, MiB (lower is better)",
                rows,
                "{:.0f} MiB",
                False,
            )
        )
    return [p for p in panels if p[1]]


def render_svg(results: dict[str, Any]) -> str:
    """Horizontal bar charts, one panel per measure; ours in blue, peers in grey, floor in green."""
    panels = chart_panels(results)
    width, label_w, bar_w, row_h, title_h, gap = 900, 330, 470, 22, 30, 20
    height = sum(title_h + row_h * len(rows) + gap for _, rows, _, _ in panels) + 40
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">openwebui-adapters benchmarks '
        f"({escape(results['meta']['when'])})</text>",
    ]
    y = 40
    for title, rows, fmt, log in panels:
        svg.append(
            f'<text x="10" y="{y + 18}" font-size="13" font-weight="bold">{escape(title)}</text>'
        )
        y += title_h
        top_value = max(v for _, v, _ in rows) or 1.0
        # On a log scale, bars start one decade below the smallest value so that it still shows.
        low = math.log10(max(min(v for _, v, _ in rows), 1e-9)) - 1
        span = (math.log10(top_value) - low) or 1.0
        for label, value, fill in rows:
            share = (math.log10(max(value, 1e-9)) - low) / span if log else value / top_value
            length = max(1.0, bar_w * share)
            svg.append(
                f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            )
            svg.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" fill="{fill}"/>'
            )
            svg.append(
                f'<text x="{label_w + length + 4:.1f}" y="{y + 15}">{escape(fmt.format(value))}</text>'
            )
            y += row_h
        y += gap
    svg.append(
        f'<text x="10" y="{height - 10}" fill="#555">green: raw httpx floor; blue: openwebui-adapters; '
        "grey: the libraries' own OpenAI paths</text>"
    )
    svg.append("</svg>")
    return "\n".join(svg)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- profiling helper ------------------------------------------------------------------------
def profile(url: str, key: str, calls: int, stream: bool) -> None:
    """cProfile `calls` calls (or streams) of one contender; prints the top of the profile."""
    import cProfile
    import pstats

    contender = BUILDERS[key](url)
    run: Callable[[], Any]
    if stream:
        assert contender.stream is not None
        run = lambda: sum(1 for _ in contender.stream(STREAM_CHUNKS))  # type: ignore[misc]  # noqa: E731
    else:
        assert contender.call is not None
        run = contender.call
    for _ in range(10):
        run()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        run()
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(30)


# -- main ------------------------------------------------------------------------------------
SECTIONS = (
    "calls",
    "streams",
    "async",
    "growth",
    "connections",
    "imports",
    "memory",
    "headers",
    "proxy",
)
# Quick run, full run: the repetition counts of each section.
PLAN = {
    "calls": ((20, 5), (80, 8)),  # repetitions, calls per turn
    "streams": ((8, 1), (30, 1)),  # repetitions, streams per turn
    "async": ((5, 60), (9, 150)),  # repetitions, calls per contender and level (at least)
    "conversation": ((5, 3), (10, 4)),  # repetitions, calls per turn
    "stream_lengths": ((2,), (4,)),  # repetitions
    "imports": ((3,), (5,)),
    "headers": ((3000,), (HEADERS_CALLS,)),  # LiteLLM calls per worker
    "proxy": ((3, 100), (6, 200)),  # rounds, requests per round and proxy
}
PROXY_CONCURRENCY = 50
CONNECTION_OPS = 100


def main() -> None:
    parser = argparse.ArgumentParser(description="openwebui-adapters benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a few minutes)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset")
    parser.add_argument("--contenders", default=",".join(BUILDERS), help="comma-separated subset")
    parser.add_argument(
        "--out", default=str(HERE), help="where RESULTS.md, results.json, chart.svg go"
    )
    parser.add_argument("--server", help="use a running server instead of starting one")
    parser.add_argument(
        "--knowledge",
        action="store_true",
        help="only the knowledge measurement, against a real Open WebUI (starts its own stack); "
        "merged into the saved results.json",
    )
    parser.add_argument("--knowledge-reps", type=int, default=5, help="uploads per way")
    parser.add_argument(
        "--knowledge-url", help="a running Open WebUI (key in OPENWEBUI_API_KEY) instead of a stack"
    )
    parser.add_argument("--profile", metavar="CONTENDER", help="cProfile one contender and exit")
    parser.add_argument("--stream", action="store_true", help="with --profile: profile streams")
    parser.add_argument("--calls", type=int, default=0, help="calls for --profile / memory")
    parser.add_argument(
        "--render",
        metavar="RESULTS_JSON",
        help="write RESULTS.md and chart.svg again from a saved results.json; measure nothing",
    )
    parser.add_argument("--worker-memory", metavar="CONTENDER", help=argparse.SUPPRESS)
    parser.add_argument("--worker-headers", metavar="CONTENDER", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker_headers:
        headers_worker(args.worker_headers, args.server, args.calls or HEADERS_CALLS)
        return
    if args.worker_memory:
        memory_worker(args.worker_memory, args.server, args.calls or MEMORY_CALLS)
        return
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        out = Path(args.out)
        (out / "RESULTS.md").write_text(render_markdown(saved))
        (out / "chart.svg").write_text(render_svg(saved) + "\n")
        return

    if args.knowledge:
        import bench_knowledge

        out = Path(args.out)
        saved_path = out / "results.json"
        saved = json.loads(saved_path.read_text()) if saved_path.exists() else None
        state_dir = os.environ.get("OPENWEBUI_STACK_STATE_DIR", "/tmp/openwebui-bench-stack")
        data = bench_knowledge.bench_knowledge(
            args.knowledge_reps, log, args.knowledge_url, state_dir
        )
        data["when"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if saved is None:
            print(json.dumps(data, indent=1))
            return
        saved["knowledge"] = data
        saved_path.write_text(json.dumps(saved, indent=1) + "\n")
        (out / "RESULTS.md").write_text(render_markdown(saved))
        (out / "chart.svg").write_text(render_svg(saved) + "\n")
        print(
            "\n".join(
                extra_sections(
                    {
                        **saved,
                        "async": None,
                        "proxy": None,
                        "growth": None,
                        "connections": None,
                        "headers": None,
                    }
                )[0]
            )
        )
        return

    started = time.perf_counter()
    quick = args.quick
    sections = [s for s in args.sections.split(",") if s]
    keys = [k for k in args.contenders.split(",") if k]
    server = None if args.server else BenchServer()
    url = args.server or server.url  # type: ignore[union-attr]
    os.environ["OPENWEBUI_SERVER_URL"] = url
    os.environ["OPENWEBUI_API_KEY"] = API_KEY
    try:
        if args.profile:
            profile(url, args.profile, args.calls or (20 if args.stream else 2000), args.stream)
            return
        results: dict[str, Any] = {
            "meta": {
                "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "quick": quick,
                "command": command_line(),
                "machine": machine(),
                "cpus": os.cpu_count(),
                "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                "versions": versions(),
            }
        }
        contenders, missing = build_all(url, keys)
        # Everything imported and built so far (LiteLLM alone is hundreds of thousands of objects)
        # moves out of the collector's reach: the `gc.collect()` before each turn then costs
        # milliseconds, and a collection during a timed call scans only what the calls allocate.
        gc.collect()
        gc.freeze()
        results["missing"] = missing
        results["labels"] = {c.key: c.label for c in contenders}
        for key in missing:
            results["labels"][key] = key
        log(f"server {url}; contenders: {', '.join(c.key for c in contenders)}")
        for key, reason in missing.items():
            log(f"skipped {key}: {reason}")

        def plan(name: str) -> tuple[int, ...]:
            return PLAN[name][0 if quick else 1]

        if "calls" in sections:
            reps, batch = plan("calls")
            log("per-call latency")
            results["calls"] = bench_calls(contenders, reps, batch, warmup=20)
            results["calls"]["config"] = {"reps": reps, "batch": batch}
        if "streams" in sections:
            reps, per_turn = plan("streams")
            log("streaming")
            results["streams"] = bench_streams(contenders, reps, per_turn, STREAM_CHUNKS)
            results["streams"]["config"] = {"reps": reps, "per_turn": per_turn}
        if "async" in sections:
            reps, calls = plan("async")
            log("async throughput")
            results["async"] = bench_async(contenders, reps, calls)
            results["async"]["config"] = {"reps": reps, "calls": calls}
        if "growth" in sections:
            import bench_growth

            reps, batch = plan("conversation")
            log("per call against conversation length")
            conversation = bench_growth.bench_conversations(contenders, reps, batch)
            conversation["config"] = {"reps": reps, "batch": batch}
            (reps,) = plan("stream_lengths")
            log("per stream against stream length")
            streamed = bench_growth.bench_stream_lengths(contenders, reps)
            streamed["config"] = {"reps": reps}
            results["growth"] = {"conversation": conversation, "stream": streamed}
        if "connections" in sections:
            log("connections")
            results["connections"] = bench_connections(url, contenders, CONNECTION_OPS)
        if "imports" in sections:
            (reps,) = plan("imports")
            log("import time")
            results["imports"] = bench_imports(reps)
            results["imports"]["config"] = {"reps": reps}
        if "memory" in sections:
            log("memory")
            calls = args.calls or MEMORY_CALLS
            results["memory"] = {
                "results": bench_memory(url, [c.key for c in contenders if c.call], calls),
                "config": {"calls": calls},
            }
        if "headers" in sections:
            (calls,) = plan("headers")
            log(f"memory with per-call headers ({calls} LiteLLM calls per contender)")
            results["headers"] = bench_headers(url, [k for k in HEADERS_KEYS if k in keys], calls)
        if "proxy" in sections:
            import bench_proxy

            rounds, per_round = plan("proxy")
            log("LiteLLM Proxy under load")
            try:
                results["proxy"] = bench_proxy.bench_proxy(
                    url,
                    Path(tempfile.mkdtemp(prefix="bench-proxy-")),
                    rounds,
                    per_round,
                    PROXY_CONCURRENCY,
                    log,
                )
            except Exception as exc:  # reported, the rest of the run stands
                results["proxy"] = {"error": f"{type(exc).__name__}: {str(exc)[:600]}"}
        previous = Path(args.out) / "results.json"
        if previous.exists():  # the knowledge figures come from a separate (online) run: kept
            kept = json.loads(previous.read_text()).get("knowledge")
            if kept:
                results["knowledge"] = kept
        results["meta"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        results["meta"]["duration_s"] = time.perf_counter() - started
    finally:
        if server is not None:
            server.stop()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "RESULTS.md").write_text(render_markdown(results))
    (out / "chart.svg").write_text(render_svg(results) + "\n")
    print(render_markdown(results))


if __name__ == "__main__":
    main()
