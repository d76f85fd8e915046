"""Load: many concurrent async calls through the core and each adapter, against the fault server.

For each library, `CALLS` chat calls run at `CONCURRENCY` in flight at once, and must all succeed
with the right answer, while:

- the server never sees more TCP connections open at once than the pool allows (counted
  server-side, accepted sockets), nor more idle ones left after the run than it keeps: the core's
  httpx pool (`POOL_LIMITS`) for the core, LangChain and smolagents; LiteLLM's aiohttp connector
  (`AIOHTTP_CONNECTOR_LIMIT`, idle ones kept up to it) for `openwebui/` async calls, as for
  LiteLLM's own `openai/`;
- running the same batch a second time opens no more file descriptors (`/proc/self/fd`) and leaves
  no asyncio task and no thread behind (a leak grows with the number of calls; a pool does not);
- a server restart in the middle of a batch (listener closed, keep-alive connections dropped, back
  on the same port at least `DOWNTIME` later, once some call has met the closed port) is survived
  through the core's retries: every call succeeds.

The pool-limit run asks for more calls in flight (`OVER_LIMIT`) than the pool allows, with answers
that take a while, so the limit is what bounds the connections, not the workload.

Traffic that differs per call: two rounds of `VARIED_CALLS` calls, each from a new client with its
own header (a trace id) and timeout, as tracing middleware and LiteLLM send them, keep one pool per
server and resident memory flat (`RSS_SLACK`) over the second round: a pool per setting cost
0.6 MiB a call.
Sequential streams read to `[DONE]` reuse one connection; streams stopped early give theirs back.

smolagents' models have no async API: its calls run in a thread pool of `CONCURRENCY` workers, as
an async application would run them (`loop.run_in_executor`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from server import CHAT, FaultServer, ok_chat, slow, sse, stream_events

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._connection import POOL_LIMITS, reset_connections, shared_connections

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
# LiteLLM spends about 3 ms of its own per call: fewer calls keep the run near 10 s.
VARIED_CALLS = {"core": 5_000, "litellm": 2_000}  # per round; two rounds
VARIED_WARM_UP = 300
RSS_SLACK = 1 << 20  # bytes
STREAMS = 20

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


def wait_until(
    condition: Callable[[], bool], limit: float = 10.0, failure: str = "the calls did not get going"
) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.005)


def pool_bounds(library: str) -> tuple[int, int]:
    """(connections open at once, idle connections kept) of the pool the library's async calls
    use: LiteLLM's aiohttp connector for LiteLLM, the core's httpx pool for the others."""
    if library == "litellm":
        from litellm.constants import AIOHTTP_CONNECTOR_LIMIT

        return AIOHTTP_CONNECTOR_LIMIT, AIOHTTP_CONNECTOR_LIMIT
    return POOL_LIMITS.max_connections, POOL_LIMITS.max_keepalive_connections


def settle(server: FaultServer, kept_idle: int) -> int:
    """File descriptors open once the server has closed what the client let go of, not counting
    the idle keep-alive connections (two sockets each).

    The server runs in this process, so its sockets count too: wait (at most 2 s) until it holds
    no more connections than the client pool keeps idle. How many stay idle (up to that bound)
    depends on how far a batch's calls overlapped, which differs from batch to batch.
    """
    deadline = time.monotonic() + 2
    while server.open_connections > kept_idle:
        assert time.monotonic() < deadline, f"{server.open_connections} connections left open"
        time.sleep(0.02)
    time.sleep(0.05)
    gc.collect()
    return fds() - 2 * server.open_connections


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
    most_open, kept_idle = pool_bounds(library)
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
                grown.append(await asyncio.to_thread(settle, load_server, kept_idle))

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started

    assert load_server.hits(CHAT) - hits_before == 2 * CALLS, "one request per call, no retry"
    assert load_server.peak_open <= most_open
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
    most_open, _ = pool_bounds(library)
    if most_open >= OVER_LIMIT:
        pytest.skip(
            f"{library}'s async pool allows {most_open} connections (LiteLLM's aiohttp "
            f"connector): {OVER_LIMIT} calls in flight cannot reach its limit"
        )
    load_server.route(CHAT, slow(ok_chat, POOL_THINK))
    warm_up(library, load_server)
    load_server.accepted = load_server.peak_open = 0
    calls = OVER_LIMIT

    async def main() -> list[str]:
        with caller(library, load_server.url, "sk-load-0123456789") as call:
            return await batch(call, calls, OVER_LIMIT)

    assert asyncio.run(main()) == [TEXT] * calls
    # The server counts a socket until its thread has seen it close, so a connection the pool
    # has just let go of may still count while its successor opens (seen once, on a loaded CI).
    assert load_server.peak_open <= most_open + 1
    assert load_server.accepted >= min(CONCURRENCY, most_open), (
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


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def varied_caller(library: str, url: str) -> Callable[[int], str]:
    """Call `i` from a new client with its own trace header and timeout, as middleware sends."""
    key = "sk-load-0123456789"
    if library == "core":

        def core(i: int) -> str:
            client = OpenWebUIClient(
                url, key, headers={"X-Request": str(i)}, timeout=30 + i / 1000, max_retries=i % 3
            )
            answer = client.chat({"model": MODEL, "messages": MESSAGES})
            return str(answer["choices"][0]["message"]["content"])

        return core
    import litellm

    import openwebui_adapters.litellm  # noqa: F401  (registers the provider)

    def via_litellm(i: int) -> str:
        response = litellm.completion(
            model=f"openwebui/{MODEL}",
            messages=MESSAGES,
            api_base=url,
            api_key=key,
            extra_headers={"X-Request": str(i)},
            timeout=30 + i / 1000,
        )
        return str(response.choices[0].message.content)

    return via_litellm


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")
@pytest.mark.parametrize("library", sorted(VARIED_CALLS))
def test_calls_with_their_own_headers_and_timeouts_share_one_pool_and_memory_stays_flat(
    library: str, load_server: FaultServer
) -> None:
    # The server records every request; keep only the last few so it does not grow either.
    load_server.requests = collections.deque(maxlen=10)  # type: ignore[assignment]
    reset_connections()
    call = varied_caller(library, load_server.url)
    for i in range(VARIED_WARM_UP):
        assert call(i) == TEXT
    calls = VARIED_CALLS[library]
    # Two equal rounds: the first may still fill one-off caches and malloc arenas (more of them
    # when the machine is busy and LiteLLM's logging threads overlap); a leak grows the second
    # as much as the first, a plateau does not.
    growth = []
    for round_ in range(2):
        gc.collect()
        before = resident_bytes()
        for i in range(round_ * calls, (round_ + 1) * calls):
            assert call(i) == TEXT
        gc.collect()
        growth.append(resident_bytes() - before)
    grown = growth[1]
    calls *= 2

    assert load_server.requests[-1].headers["x-request"] == str(calls - 1), "headers per request"
    assert shared_connections() == 1
    assert load_server.accepted == 1, "one pool: every call reused its connection"
    assert grown < RSS_SLACK, (
        f"resident memory grew {grown / 2**20:.2f} MiB over the second {calls // 2} calls "
        f"({growth[0] / 2**20:.2f} MiB over the first)"
    )
    print(f"{library}: {calls} varied calls, 1 pool, RSS {grown / 2**20:+.2f} MiB")
    reset_connections()


STREAM_ASK = {"model": MODEL, "messages": MESSAGES}


def stream_to_done(client: OpenWebUIClient) -> None:
    chunks = list(client.stream_chat(STREAM_ASK))
    assert chunks[-1]["usage"], "read to the end"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_streams_read_to_done_reuse_their_connection(mode: str, load_server: FaultServer) -> None:
    client = OpenWebUIClient(load_server.url, "sk-load-0123456789", max_retries=0)
    if mode == "sync":
        for _ in range(STREAMS):
            stream_to_done(client)
    else:

        async def read_all() -> None:  # one event loop, so one async pool
            for _ in range(STREAMS):
                chunks = [chunk async for chunk in client.astream_chat(STREAM_ASK)]
                assert chunks[-1]["usage"]

        asyncio.run(read_all())
    assert load_server.hits(CHAT) == STREAMS
    assert load_server.accepted <= 2, f"{STREAMS} streams opened {load_server.accepted} connections"
    client.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_streams_stopped_early_give_their_connection_back(
    mode: str, load_server: FaultServer
) -> None:
    client = OpenWebUIClient(load_server.url, "sk-load-0123456789", max_retries=0)
    left_open = "streams stopped early left their connections open"

    def released() -> bool:
        return load_server.open_connections <= 1

    async def stop_early_async() -> None:
        for _ in range(STREAMS):
            async with contextlib.aclosing(client.astream_chat(STREAM_ASK)) as chunks:
                async for _chunk in chunks:
                    break
        await asyncio.to_thread(wait_until, released, 5.0, left_open)

    if mode == "sync":
        for _ in range(STREAMS):
            chunks = client.stream_chat(STREAM_ASK)
            next(chunks)
            chunks.close()
        wait_until(released, 5.0, left_open)
    else:
        asyncio.run(stop_early_async())
    assert load_server.hits(CHAT) == STREAMS
    # A stream stopped mid-body closes its connection (the rest of the answer is not worth
    # waiting for) instead of holding it: none is left open, and a full stream still works.
    stream_to_done(client)
    client.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stream_that_stalls_after_done_still_ends_within_the_read_timeout(
    mode: str, load_server: FaultServer
) -> None:
    # Reading past [DONE] waits for the body's end; a server that never sends it costs at most
    # the read timeout, and the complete answer is returned, not an error.
    load_server.route(CHAT, sse(stream_events(MODEL), then=lambda conn: conn.stall()))
    client = OpenWebUIClient(load_server.url, "sk-load-0123456789", timeout=0.5, max_retries=0)

    async def read() -> list[dict[str, Any]]:
        return [chunk async for chunk in client.astream_chat(STREAM_ASK)]

    started = time.monotonic()
    chunks = list(client.stream_chat(STREAM_ASK)) if mode == "sync" else asyncio.run(read())
    elapsed = time.monotonic() - started
    assert chunks[-1]["usage"]
    assert elapsed < 0.5 + 1.0, f"the stream took {elapsed:.2f} s to end"
    client.close()
