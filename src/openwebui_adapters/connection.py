"""Shared connections: one httpx pool and one model catalog per server, key and options.

Many adapter objects and calls with equal settings reuse the same pool. An `httpx.AsyncClient` is
bound to the event loop that first used it, so each loop gets its own async client.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import httpx

from . import __version__
from .catalog import Catalog
from .settings import Settings

USER_AGENT = f"openwebui-adapters/{__version__}"
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30)


class Connection:
    """The pools and catalog for one `Settings`; thread-safe; create through `get_connection`."""

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = Catalog()
        self.base_url = settings.server_url
        self.timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
        self._headers = {
            "Authorization": f"Bearer {settings.api_key}",
            "User-Agent": USER_AGENT,
            **dict(settings.headers),
        }
        self._transport = transport
        self._async_transport = async_transport
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._async_clients = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"Connection({self.settings!r})"

    def _options(self) -> dict[str, Any]:
        return {
            "headers": self._headers,
            "timeout": self.timeout,
            "verify": self.settings.verify,
            "limits": POOL_LIMITS,
            "follow_redirects": True,
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
                    client = httpx.AsyncClient(transport=self._async_transport, **self._options())
                    self._async_clients[loop] = client
        return client

    def url(self, path: str) -> str:
        return self.base_url + path

    def close(self) -> None:
        """Close the sync pool and forget async clients (their loops close their sockets)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            self._async_clients = weakref.WeakKeyDictionary()

    async def aclose(self) -> None:
        """Close the running loop's async pool."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()


_registry: dict[Settings, Connection] = {}
_registry_lock = threading.Lock()


def get_connection(settings: Settings) -> Connection:
    """The shared connection for these settings."""
    connection = _registry.get(settings)
    if connection is None:
        with _registry_lock:
            connection = _registry.get(settings)
            if connection is None:
                connection = Connection(settings)
                _registry[settings] = connection
    return connection


def reset_connections() -> None:
    """Close and forget every shared connection and catalog (tests call this between cassettes)."""
    with _registry_lock:
        connections = list(_registry.values())
        _registry.clear()
    for connection in connections:
        connection.close()
