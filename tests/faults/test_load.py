"""Load: many concurrent async calls through the core and each adapter, against the fault server.

For each library, `CALLS` chat calls run at `CONCURRENCY` in flight at once, and must all succeed
with the right answer, while:

- the server never sees more TCP connections open at once than `POOL_LIMITS.max_connections`
  (counted server-side, accepted sockets), nor more idle ones left after the run than
  `max_keepalive_connections`;
- running the same batch a second time opens no more file descriptors (`/proc/self/fd`) and leaves
  no asyncio task and no thread behind (a leak grows with the number of calls; a pool does not);
- a server restart in the middle of a batch (listener closed, keep-alive connections dropped, back
  on the same port at least `DOWNTIME` later, once some call has met the closed port) is survived
  through the core's retries: every call succeeds.

The pool-limit run asks for more calls in flight (`OVER_LIMIT`) than the pool allows, with answers
that take a while, so the limit is what bounds the connections, not the workload.

smolagents' models have no async API: its calls run in a thread pool of `CONCURRENCY` workers, as
an async application would run them (`loop.run_in_executor`).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from server import CHAT, FaultServer, ok_chat, slow

from openwebui_adapters.client import OpenWebUIClient
from openwebui_adapters.connection import POOL_LIMITS, reset_connections

CALLS = 200  # per library and batch: two batches make 400 calls
RESTART_CALLS = 100
CONCURRENCY = 50
OVER_LIMIT = POOL_LIMITS.max_connections + 50  # calls in flight in the pool-limit run
THINK = 0.02  # seconds the server takes per answer in the restart run
# In the pool-limit run answers must outlast the time a busy 2-core machine needs to start 50+
# calls, or the calls never overlap enough to need many connections (seen with 20 ms).
POOL_THINK = 0.2
DOWNTIME = 0.3  # seconds the server is away during a restart
RETRIES = 8  # full-jitter backoff: the chance that 8 waits all fall inside DOWNTIME is nil
TIMEOUT = 10.0
MODEL = "llama3:latest"
TEXT = "Hello from the fault server."
MESSAGES = [{"role": "user", "content": "Say hello."}]
LIBRARIES = ("core", "litellm", "langchain", "smolagents")

Caller = Callable[[int], Awaitable[str]]


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextmanager
def caller(library: str, url: str, key: str) -> Iterator[Caller]:
    """An async function making call `i` through `library`, and its clean-up."""
    settings: dict[str, Any] = {"timeout": TIMEOUT, "max_retries": RETRIES}
    if library == "core":
        client = OpenWebUIClient(url, key, **settings)

        async def core(i: int) -> str:
            answer = await client.achat({"model": MODEL, "messages": MESSAGES})
            return str(answer["choices"][0]["message"]["content"])

        yield core
    elif library == "litellm":
        import litellm

        import openwebui_adapters.litellm  # noqa: F401  (registers the provider)

        async def via_litellm(i: int) -> str:
            response = await litellm.acompletion(
                model=f"openwebui/{MODEL}", messages=MESSAGES, api_base=url, api_key=key, **settings
            )
            return str(response.choices[0].message.content)

        yield via_litellm
    elif library == "langchain":
        from openwebui_adapters.langchain import ChatOpenWebUI

        chat = ChatOpenWebUI(model=MODEL, base_url=url, api_key=key, **settings)

        async def via_langchain(i: int) -> str:
            return str((await chat.ainvoke("Say hello.")).content)

        yield via_langchain
    else:
        from smolagents.models import ChatMessage, MessageRole

        from openwebui_adapters.smolagents import OpenWebUIModel

        model = OpenWebUIModel(model_id=MODEL, api_base=url, api_key=key, **settings)
        messages = [ChatMessage(role=MessageRole.USER, content="Say hello.")]
        with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="smolagents-load") as pool:

            async def via_smolagents(i: int) -> str:
                loop = asyncio.get_running_loop()
                message = await loop.run_in_executor(pool, model.generate, messages)
                return str(message.content)

            yield via_smolagents


async def batch(call: Caller, calls: int, concurrency: int) -> list[str]:
    """`calls` calls, at most `concurrency` in flight; their answers in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with gate:
            return await call(i)

    return list(await asyncio.gather(*(one(i) for i in range(calls))))


# LiteLLM starts one logging worker task per event loop, on its first call, and keeps it: not a
# leak (it does not grow with the calls), and not ours.
RESIDENT_TASKS = ("LoggingWorker._worker_loop",)


def leftover_tasks() -> list[asyncio.Task[Any]]:
    """Unfinished tasks other than the caller and the libraries' resident workers."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        and not any(name in repr(task.get_coro()) for name in RESIDENT_TASKS)
    ]


async def no_leftover_tasks(grace: float = 2.0) -> None:
    """Every task the calls started finishes (LiteLLM's logging tasks may take a moment)."""
    deadline = time.monotonic() + grace
    while leftover_tasks():
        assert time.monotonic() < deadline, f"tasks left running: {leftover_tasks()[:3]}"
        await asyncio.sleep(0.02)


def wait_until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the calls did not get going"
        time.sleep(0.005)


def settle(server: FaultServer) -> int:
    """File descriptors open once the server has closed what the client let go of.

    The server runs in this process, so its sockets count too: wait (at most 2 s) until it holds
    no more connections than the client pool keeps idle.
    """
    deadline = time.monotonic() + 2
    while server.open_connections > POOL_LIMITS.max_keepalive_connections:
        assert time.monotonic() < deadline, f"{server.open_connections} connections left open"
        time.sleep(0.02)
    time.sleep(0.05)
    gc.collect()
    return fds()


def warm_up(library: str, server: FaultServer) -> None:
    """Import the library and build its one-off state (loggers, caches) before anything counts."""
    with caller(library, server.url, "sk-load-warm-up") as call:
        assert asyncio.run(call(0)) == TEXT
    reset_connections()


@pytest.fixture
def load_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.mark.parametrize("library", LIBRARIES)
def test_many_concurrent_calls_stay_in_the_pool_and_leak_nothing(
    library: str, load_server: FaultServer
) -> None:
    warm_up(library, load_server)
    gc.collect()
    threads_before, fds_before = threading.active_count(), fds()
    load_server.accepted = load_server.peak_open = 0
    hits_before = load_server.hits(CHAT)
    grown: list[int] = []

    async def main() -> None:
        with caller(library, load_server.url, "sk-load-0123456789") as call:
            for _ in range(2):
                answers = await batch(call, CALLS, CONCURRENCY)
                assert answers == [TEXT] * CALLS
                await no_leftover_tasks()
                grown.append(await asyncio.to_thread(settle, load_server))

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started

    assert load_server.hits(CHAT) - hits_before == 2 * CALLS, "one request per call, no retry"
    assert load_server.peak_open <= POOL_LIMITS.max_connections
    # A second batch reuses the pool: no new descriptors. A leak would grow with the CALLS calls;
    # the slack is for sockets the server is still closing.
    assert grown[1] <= grown[0] + 6, f"descriptors grew from {grown[0]} to {grown[1]}"
    # Closing the shared pools gives every descriptor and thread back.
    reset_connections()
    gc.collect()
    deadline = time.monotonic() + 2
    while fds() > fds_before + 2 or threading.active_count() > threads_before:
        assert time.monotonic() < deadline, (
            f"fds {fds_before} -> {fds()}, threads {threads_before} -> {threading.active_count()}"
        )
        time.sleep(0.02)
    print(
        f"{library}: {2 * CALLS} calls at {CONCURRENCY} in {elapsed:.2f} s, "
        f"{load_server.accepted} connections, peak {load_server.peak_open} open"
    )


@pytest.mark.parametrize("library", LIBRARIES)
def test_more_calls_in_flight_than_the_pool_allows_wait_for_a_connection(
    library: str, load_server: FaultServer
) -> None:
    load_server.route(CHAT, slow(ok_chat, POOL_THINK))
    warm_up(library, load_server)
    load_server.accepted = load_server.peak_open = 0
    calls = OVER_LIMIT

    async def main() -> list[str]:
        with caller(library, load_server.url, "sk-load-0123456789") as call:
            return await batch(call, calls, OVER_LIMIT)

    assert asyncio.run(main()) == [TEXT] * calls
    assert load_server.peak_open <= POOL_LIMITS.max_connections
    assert load_server.accepted >= min(CONCURRENCY, POOL_LIMITS.max_connections), (
        "the run never needed many connections: it tests nothing"
    )
    reset_connections()


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_server_restart_in_the_middle_is_survived_through_retries(
    library: str, load_server: FaultServer, backoff: Any
) -> None:
    load_server.route(CHAT, slow(ok_chat, THINK))
    warm_up(library, load_server)
    backoff.calls.clear()
    backoff.scale = 1.0  # real backoff sleeps: the retries have to outlast the downtime
    port = load_server.port

    async def main() -> list[str]:
        with caller(library, load_server.url, "sk-load-0123456789") as call:
            calls = asyncio.ensure_future(batch(call, RESTART_CALLS, CONCURRENCY))
            await asyncio.to_thread(
                wait_until, lambda: load_server.hits(CHAT) >= RESTART_CALLS // 3
            )
            # Down for DOWNTIME, and until a call has met the closed port (a slow library on a
            # busy machine may start no new call within DOWNTIME).
            await asyncio.to_thread(load_server.restart, DOWNTIME, lambda: bool(backoff.calls))
            return await calls

    assert asyncio.run(main()) == [TEXT] * RESTART_CALLS
    assert load_server.port == port
    assert backoff.calls, "the restart cost no retry: it did not happen in the middle"
    assert max(attempt for attempt, _, _ in backoff.calls) <= RETRIES
    reset_connections()
