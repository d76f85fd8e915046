"""The async pool: requests spread over small pools, least busy first, limits kept in total."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters._async_pool import POOLS, SpreadTransport, spread_limits
from openwebui_adapters._connection import POOL_LIMITS, reset_connections

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    reset_connections()
    yield
    reset_connections()


class Body(httpx.AsyncByteStream):
    """A body still to be read, as a real pool's response has."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.content


class Recording(httpx.AsyncBaseTransport):
    """A pool that notes that it served a request and answers its index."""

    def __init__(self, index: int, served: list[int]) -> None:
        self.index, self.served = index, served

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.served.append(self.index)
        content = b'{"pool": %d}' % self.index
        return httpx.Response(
            200, headers={"content-type": "application/json"}, stream=Body(content)
        )


def recording_pools(count: int, served: list[int]) -> list[httpx.AsyncBaseTransport]:
    return [Recording(index, served) for index in range(count)]


def test_the_pools_together_keep_the_connection_limits() -> None:
    share = spread_limits(POOL_LIMITS, POOLS)
    assert share.max_connections is not None
    assert share.max_keepalive_connections is not None
    assert POOLS * share.max_connections == POOL_LIMITS.max_connections
    assert POOLS * share.max_keepalive_connections <= (POOL_LIMITS.max_keepalive_connections or 0)
    assert share.keepalive_expiry == POOL_LIMITS.keepalive_expiry
    unbounded = spread_limits(httpx.Limits(max_connections=None, max_keepalive_connections=None), 4)
    assert (unbounded.max_connections, unbounded.max_keepalive_connections) == (None, None)
    assert spread_limits(httpx.Limits(max_connections=3, max_keepalive_connections=1), 10) == (
        httpx.Limits(max_connections=1, max_keepalive_connections=1)
    )


def test_a_spread_transport_needs_a_pool() -> None:
    with pytest.raises(ValueError, match="at least one pool"):
        SpreadTransport([])


async def test_sequential_requests_reuse_the_first_pool() -> None:
    served: list[int] = []
    transport = SpreadTransport(recording_pools(4, served))
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(5):
            assert (await client.get("http://owui.test/api/version")).json() == {"pool": 0}
    assert served == [0] * 5
    assert transport.in_flight == (0, 0, 0, 0)


async def test_requests_in_flight_go_to_the_least_busy_pool_until_their_body_is_closed() -> None:
    served: list[int] = []
    transport = SpreadTransport(recording_pools(3, served))
    async with (
        httpx.AsyncClient(transport=transport) as client,
        contextlib.AsyncExitStack() as open_,
    ):
        for _ in range(4):
            await open_.enter_async_context(client.stream("GET", "http://owui.test/x"))
        assert served == [0, 1, 2, 0]
        assert transport.in_flight == (2, 1, 1)
    assert transport.in_flight == (0, 0, 0)


class Refusing(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)


class Stalling(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        raise AssertionError("not cancelled")


async def test_a_failed_or_cancelled_request_gives_its_pool_back() -> None:
    transport = SpreadTransport([Stalling(), Refusing()])
    async with httpx.AsyncClient(transport=transport) as client:
        stalled = asyncio.ensure_future(client.get("http://owui.test/a"))
        await asyncio.sleep(0.01)
        assert transport.in_flight == (1, 0)
        with pytest.raises(httpx.ConnectError):
            await client.get("http://owui.test/b")  # the least busy pool: the refusing one
        assert transport.in_flight == (1, 0)
        stalled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stalled
    assert transport.in_flight == (0, 0)


async def test_a_body_read_before_it_is_returned_gives_its_pool_back_at_once() -> None:
    pools = [httpx.MockTransport(lambda request: httpx.Response(200, json={})) for _ in range(2)]
    transport = SpreadTransport(pools)
    async with (
        httpx.AsyncClient(transport=transport) as client,
        client.stream("GET", "http://owui.test/x"),
    ):
        assert transport.in_flight == (0, 0)


async def test_closing_a_body_twice_releases_its_pool_once() -> None:
    transport = SpreadTransport(recording_pools(2, []))
    request = httpx.Request("GET", "http://owui.test/x")
    response = await transport.handle_async_request(request)
    await response.aclose()
    await response.aclose()
    assert transport.in_flight == (0, 0)


@contextlib.asynccontextmanager
async def recording_server(body: bytes) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A plain HTTP/1.1 listener on 127.0.0.1 noting each request line; it answers `body`."""
    lines: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        lines.append(head.split(b"\r\n", 1)[0])
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", lines
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("no_proxy", [None, "localhost,127.0.0.1"])
async def test_the_default_async_pool_is_spread_and_reaches_the_server_directly(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str | None
) -> None:
    if no_proxy is not None:  # a NO_PROXY list alone configures no proxy
        monkeypatch.setenv("NO_PROXY", no_proxy)
    async with recording_server(b'{"version": "0.12.4"}') as (url, lines):
        connection = OpenWebUIClient(url, "sk-pool-0123456789").connection
        client = connection.async_client
        assert isinstance(client._transport, SpreadTransport)  # the wiring under test
        assert (await client.get(connection.url("/api/version"))).json() == {"version": "0.12.4"}
    assert lines == [b"GET /api/version HTTP/1.1"]


async def test_with_a_proxy_in_the_environment_async_calls_go_through_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with recording_server(b'{"version": "0.12.4"}') as (proxy, lines):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        connection = OpenWebUIClient("http://owui.invalid", "sk-pool-0123456789").connection
        answer = await connection.async_client.get(connection.url("/api/version"))
    assert answer.json() == {"version": "0.12.4"}
    assert lines == [b"GET http://owui.invalid/api/version HTTP/1.1"]
