"""Shared connections: one httpx pool and one model catalog per server, credentials and TLS trust.

A pool depends only on `Settings.pool_key`; headers, timeouts and retries travel with each
request, so many adapter objects and calls with different ones reuse the same pool. The registry
keeps the `MAX_SHARED` most recently used connections: whatever the call pattern (a new key or
SSL context per call), it stays bounded. An `httpx.AsyncClient` is bound to the event loop that
first used it, so each loop gets its own async client, over a `SpreadTransport` (several small
httpcore pools; see `async_pool`) unless an adapter brings its own or a proxy is configured.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import urllib.request
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx

from . import __version__
from ._async_pool import SpreadTransport
from ._catalog import Catalog
from ._discovery import DiscoveryState
from ._knowledge._records import KnowledgeCache
from ._settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, Settings, auth_headers
from ._tls import ssl_context

USER_AGENT = f"openwebui-adapters/{__version__}"
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30)
# Every request passes its own timeout; this only covers a direct use of `Connection.client`.
POOL_TIMEOUT = httpx.Timeout(DEFAULT_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
MAX_SHARED = 64  # connections kept in the registry; the least recently used one is dropped

AsyncTransportFactory = Callable[[ssl.SSLContext], "httpx.AsyncBaseTransport | None"]
"""Builds a connection's async transport from its SSL context, once per event loop (None:
httpx's own). An adapter whose library brings a faster one passes it (LiteLLM's aiohttp)."""

__all__ = [
    "MAX_SHARED",
    "POOL_LIMITS",
    "USER_AGENT",
    "AsyncTransportFactory",
    "Connection",
    "get_connection",
    "reset_connections",
    "shared_connections",
]


class Connection:
    """The pools and catalog for one `Settings.pool_key`; thread-safe.

    Shared connections come from `get_connection`. Each `OpenWebUIClient` holds one `acquire`
    and gives it back on close; the pools close when the last holder has closed, never under
    another client that still uses them.
    """

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        async_transport_factory: AsyncTransportFactory | None = None,
    ) -> None:
        self.key = settings.pool_key
        # What this server and key are known to have, shared by every client of the connection.
        self.catalog = Catalog()
        self.knowledge = KnowledgeCache()
        self.discovery = DiscoveryState()
        self.base_url = settings.server_url
        self.api_key = settings.api_key
        # Built once, eagerly: a CA bundle that cannot load fails here, not on the first call.
        self.ssl_context, self.trust = ssl_context(settings.verify, settings.cert_env)
        self._headers = {**auth_headers(settings), "User-Agent": USER_AGENT}
        self._transport = transport
        self._async_transport = async_transport
        self._async_transport_factory = async_transport_factory
        self._lock = threading.Lock()
        self._holders = 0
        self._client: httpx.Client | None = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._async_clients = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"Connection(server_url={self.base_url!r}, api_key='***', trust={self.trust!r})"

    def _options(self) -> dict[str, Any]:
        return {
            "headers": self._headers,
            "timeout": POOL_TIMEOUT,
            "verify": self.ssl_context,
            "limits": POOL_LIMITS,
            # Redirects are the plans' decision (`_sending.redirect_target`): never to another origin.
            "follow_redirects": False,
        }

    @property
    def client(self) -> httpx.Client:
        """The sync client (created on first use; httpx clients are thread-safe)."""
        client = self._client
        if client is None or client.is_closed:
            with self._lock:
                client = self._client
                if client is None or client.is_closed:
                    client = httpx.Client(transport=self._transport, **self._options())
                    self._client = client
                    # Dropped from the registry and no longer held: give its sockets back.
                    weakref.finalize(self, client.close)
        return client

    @property
    def async_client(self) -> httpx.AsyncClient:
        """The async client of the running event loop (never shared across loops)."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None or client.is_closed:
            with self._lock:
                client = self._async_clients.get(loop)
                if client is None or client.is_closed:
                    transport = self._async_transport
                    if transport is None and self._async_transport_factory is not None:
                        transport = self._async_transport_factory(self.ssl_context)
                    if transport is None and not _proxy_configured():
                        # With a proxy configured, httpx's own transport (it routes proxies).
                        transport = SpreadTransport.over_httpcore(self.ssl_context, POOL_LIMITS)
                    client = httpx.AsyncClient(transport=transport, **self._options())
                    self._async_clients[loop] = client
        return client

    def url(self, path: str) -> str:
        return self.base_url + path

    def acquire(self) -> None:
        """Count one more holder (an `OpenWebUIClient`)."""
        with self._lock:
            self._holders += 1

    def release(self) -> bool:
        """Count one holder less; True when none is left and the pools may close."""
        with self._lock:
            self._holders = max(0, self._holders - 1)
            return self._holders == 0

    def close(self) -> None:
        """Close the sync pool and forget async clients (their loops close their sockets)."""
        with self._lock:
            client, self._client = self._client, None
            self._async_clients = weakref.WeakKeyDictionary()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the running loop's async pool and the sync pool."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()
        self.close()


def _proxy_configured() -> bool:
    """Whether httpx would route a request through a proxy from the environment (as httpx does,
    by `urllib.request.getproxies`; a NO_PROXY list alone, its "no" entry, routes nothing)."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())


_registry: OrderedDict[tuple[object, ...], Connection] = OrderedDict()
_registry_lock = threading.Lock()


def get_connection(
    settings: Settings, async_transport_factory: AsyncTransportFactory | None = None
) -> Connection:
    """The shared connection for these settings' server, credentials and TLS trust (and async
    transport: connections built with another factory are other pools)."""
    key = (*settings.pool_key, async_transport_factory)
    with _registry_lock:
        connection = _registry.get(key)
        if connection is not None:
            _registry.move_to_end(key)
            return connection
    # Built outside the lock: loading a CA bundle takes a while. A racing twin is discarded.
    built = Connection(settings, async_transport_factory=async_transport_factory)
    with _registry_lock:
        connection = _registry.setdefault(key, built)
        _registry.move_to_end(key)
        while len(_registry) > MAX_SHARED:
            # Not closed: a client may still be using it; its finalizer closes it once unused.
            _registry.popitem(last=False)
    return connection


def shared_connections() -> int:
    """How many shared connections the registry holds (a bounded number)."""
    return len(_registry)


def reset_connections() -> None:
    """Close and forget every shared connection and catalog (tests call this between cassettes)."""
    with _registry_lock:
        connections = list(_registry.values())
        _registry.clear()
    for connection in connections:
        connection.close()
