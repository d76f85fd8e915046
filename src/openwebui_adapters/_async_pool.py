"""An async transport that spreads requests over several small httpcore pools.

httpcore's async pool re-examines all its connections and queued requests whenever a request
starts or ends, and part of that scan is quadratic in the pool's size: with 50-100 requests in
flight on one pool of 100 it costs more than the calls themselves (the benchmark's raw httpx drops
from ~1,400 calls/s at 10 in flight to ~600 at 50). Ten pools, each with a tenth of the limits,
keep every scan small while the total stays the same. A request goes to the pool with the fewest
requests in flight (the first on a tie), so one caller's sequential calls reuse one connection.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from typing import cast

import httpx

__all__ = ["POOLS", "SpreadTransport", "spread_limits"]

POOLS = 10


def spread_limits(limits: httpx.Limits, pools: int) -> httpx.Limits:
    """One pool's share of `limits`: the pools together never exceed them."""
    total = limits.max_connections
    idle = limits.max_keepalive_connections
    return httpx.Limits(
        max_connections=None if total is None else max(1, total // pools),
        max_keepalive_connections=None if idle is None else max(1, idle // pools),
        keepalive_expiry=limits.keepalive_expiry,
    )


class _Released(httpx.AsyncByteStream):
    """A response body that tells its pool's counter when it is closed (once)."""

    def __init__(self, body: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._body = body
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._body:
            yield part

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._body.aclose()
        finally:
            if release is not None:
                release()


class SpreadTransport(httpx.AsyncBaseTransport):
    """Sends each request through the least busy of `pools` (used from one event loop)."""

    def __init__(self, pools: Sequence[httpx.AsyncBaseTransport]) -> None:
        if not pools:
            raise ValueError("SpreadTransport needs at least one pool")
        self._pools = list(pools)
        self._in_flight = [0] * len(self._pools)

    @classmethod
    def over_httpcore(
        cls, ssl_context: ssl.SSLContext, limits: httpx.Limits, pools: int = POOLS
    ) -> SpreadTransport:
        """`pools` httpx transports sharing `limits` between them."""
        share = spread_limits(limits, pools)
        return cls(
            [httpx.AsyncHTTPTransport(verify=ssl_context, limits=share) for _ in range(pools)]
        )

    @property
    def in_flight(self) -> tuple[int, ...]:
        """Requests each pool is serving: sent, and their response not yet closed."""
        return tuple(self._in_flight)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._pools)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:  # cancelled too: the request no longer holds the pool
            self._in_flight[index] -= 1
            raise
        if response.is_closed:  # a body read in full already (httpx.MockTransport's)
            self._in_flight[index] -= 1
            return response
        # An async transport's response body is an AsyncByteStream (httpx's own contract).
        body = cast(httpx.AsyncByteStream, response.stream)
        response.stream = _Released(body, lambda: self._release(index))
        return response

    def _release(self, index: int) -> None:
        self._in_flight[index] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
