"""Per connection, once: finding Open WebUI above a base URL that is not its API (a page
address beyond the known ones), and warning that a key is a session token.

The walk runs only after a request failed at the route layer: the happy path costs one request.
The walk goes up the base's path, deepest first, to where `/api/version` answers as Open WebUI;
it runs once per connection, and what it finds becomes the connection's base (and is logged).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .connection import Connection
from .errors import OpenWebUIError, RouteError, is_html
from .pasted import describe_session_token

logger = logging.getLogger("openwebui_adapters")

VERSION_PATH = "/api/version"
WALK_TIMEOUT = 10.0

_walked: weakref.WeakSet[Connection] = weakref.WeakSet()
_warned: weakref.WeakSet[Connection] = weakref.WeakSet()
_lock = threading.Lock()


def parent_bases(base_url: str) -> list[str]:
    """`https://h/a/b` -> `["https://h/a", "https://h"]`: each base above this one, deepest first."""
    parts = urlsplit(base_url)
    segments = [s for s in parts.path.split("/") if s]
    return [
        urlunsplit((parts.scheme, parts.netloc, "".join("/" + s for s in segments[:n]), "", ""))
        for n in range(len(segments) - 1, -1, -1)
    ]


def answers_as_open_webui(response: httpx.Response) -> bool:
    """True if this `/api/version` answer is Open WebUI's (`{"version": "..."}`, not the web UI)."""
    if response.status_code != 200 or is_html(response):
        return False
    try:
        data: Any = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("version"), str)


def _claim(connection: Connection, error: OpenWebUIError, sent_base: str) -> str:
    """`retry` (another call moved the base already), `walk` (this call walks) or `no`."""
    if not isinstance(error, RouteError):
        return "no"
    with _lock:
        if sent_base != connection.base_url:
            return "retry"
        if not parent_bases(connection.base_url):
            return "no"  # a server root: nothing above it to try
        if connection in _walked:
            return "no"
        _walked.add(connection)
        return "walk"


def walk_timeout(timeout: httpx.Timeout) -> httpx.Timeout:
    """The caller's timeout, but no long wait for a version number."""
    read = WALK_TIMEOUT if timeout.read is None else min(timeout.read, WALK_TIMEOUT)
    return httpx.Timeout(read, connect=timeout.connect)


def _found(
    connection: Connection, base: str | None, tried: list[str], error: OpenWebUIError
) -> bool:
    if base is None:
        if len(tried) <= 1:
            return False  # nothing above the base to try: the original error says it all
        error.message += "; Open WebUI's /api/version answered at none of " + ", ".join(tried)
        error.args = (str(error),)
        return False
    logger.warning(
        "%s is not Open WebUI's API but %s is: using it (set OPENWEBUI_SERVER_URL=%s)",
        connection.base_url,
        base,
        base,
    )
    connection.base_url = base
    return True


def walk(
    client: httpx.Client, base_url: str, headers: Mapping[str, str], timeout: httpx.Timeout
) -> tuple[str | None, list[str]]:
    """The base where Open WebUI answers, at or above `base_url`, and the URLs tried."""
    tried: list[str] = []
    for base in [base_url, *parent_bases(base_url)]:
        url = base + VERSION_PATH
        tried.append(url)
        try:
            if answers_as_open_webui(client.get(url, headers=headers, timeout=timeout)):
                return base, tried
        except httpx.HTTPError:
            pass
    return None, tried


async def awalk(
    client: httpx.AsyncClient, base_url: str, headers: Mapping[str, str], timeout: httpx.Timeout
) -> tuple[str | None, list[str]]:
    """The async twin of `walk`."""
    tried: list[str] = []
    for base in [base_url, *parent_bases(base_url)]:
        url = base + VERSION_PATH
        tried.append(url)
        try:
            if answers_as_open_webui(await client.get(url, headers=headers, timeout=timeout)):
                return base, tried
        except httpx.HTTPError:
            pass
    return None, tried


def rebase(
    connection: Connection,
    error: OpenWebUIError,
    sent_base: str,
    headers: Mapping[str, str],
    timeout: httpx.Timeout,
) -> bool:
    """After a route failure of a call sent to `sent_base`: True to send it again to the
    connection's (new) base.

    False leaves `error` to be raised; when the walk tried bases above, it names them.
    """
    claim = _claim(connection, error, sent_base)
    if claim != "walk":
        return claim == "retry"
    base, tried = walk(connection.client, connection.base_url, headers, walk_timeout(timeout))
    if base == connection.base_url:
        return False  # Open WebUI answers here: the route error is not about the base
    return _found(connection, base, tried, error)


async def arebase(
    connection: Connection,
    error: OpenWebUIError,
    sent_base: str,
    headers: Mapping[str, str],
    timeout: httpx.Timeout,
) -> bool:
    """The async twin of `rebase`."""
    claim = _claim(connection, error, sent_base)
    if claim != "walk":
        return claim == "retry"
    base, tried = await awalk(
        connection.async_client, connection.base_url, headers, walk_timeout(timeout)
    )
    if base == connection.base_url:
        return False
    return _found(connection, base, tried, error)


def warn_once_if_session_token(connection: Connection) -> None:
    """Log, once per connection, that its key is a browser session token that will expire."""
    warning = describe_session_token(connection.api_key)
    if warning is None:
        return
    with _lock:
        if connection in _warned:
            return
        _warned.add(connection)
    logger.warning("%s", warning)
