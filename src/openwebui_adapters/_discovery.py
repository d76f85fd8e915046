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

from ._connection import Connection
from ._pasted import describe_session_token
from ._server_versions import tested_range
from .errors import OpenWebUIError, RouteError, is_html

__all__ = [
    "VERSION_PATH",
    "WALK_TIMEOUT",
    "answers_as_open_webui",
    "arebase",
    "awalk_with_version",
    "lacks_route",
    "open_webui_version",
    "parent_bases",
    "rebase",
    "walk",
    "walk_timeout",
    "walk_with_version",
    "warn_once_if_session_token",
]

logger = logging.getLogger("openwebui_adapters")

VERSION_PATH = "/api/version"
WALK_TIMEOUT = 10.0

_walked: weakref.WeakSet[Connection] = weakref.WeakSet()
_warned: weakref.WeakSet[Connection] = weakref.WeakSet()
# Where the walk found Open WebUI at the connection's own base: its version, for later errors.
_version_at_base: weakref.WeakKeyDictionary[Connection, str] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def parent_bases(base_url: str) -> list[str]:
    """`https://h/a/b` -> `["https://h/a", "https://h"]`: each base above this one, deepest first."""
    parts = urlsplit(base_url)
    segments = [s for s in parts.path.split("/") if s]
    return [
        urlunsplit((parts.scheme, parts.netloc, "".join("/" + s for s in segments[:n]), "", ""))
        for n in range(len(segments) - 1, -1, -1)
    ]


def open_webui_version(response: httpx.Response) -> str | None:
    """The version in an `/api/version` answer that is Open WebUI's (not the web UI), or None."""
    if response.status_code != 200 or is_html(response):
        return None
    try:
        data: Any = response.json()
    except ValueError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def answers_as_open_webui(response: httpx.Response) -> bool:
    """True if this `/api/version` answer is Open WebUI's (`{"version": "..."}`, not the web UI)."""
    return open_webui_version(response) is not None


def lacks_route(error: OpenWebUIError, base: str, version: str) -> None:
    """Open WebUI answers at the base, so a route error is about the server's release, not the
    URL: say so instead of blaming OPENWEBUI_SERVER_URL. Only for the server's own "no such
    route" answers (404, 405); a redirect or a page keeps its own diagnosis."""
    if type(error) is not RouteError or error.status_code not in (404, 405):
        return
    if not (error.url or "").startswith(base):
        return  # answered somewhere else (a redirect): not this server's route table
    path = (error.url or "").removeprefix(base)
    error.message = (
        f"Open WebUI {version} answers at {base} but has no {path} "
        f"(HTTP {error.status_code}): this release of the server lacks the route"
    )
    error.setting = None
    error.hint = (
        f"the URL is right; ask the admin to upgrade Open WebUI (this package is tested with "
        f"{tested_range()})"
    )
    error.args = (str(error),)


def _claim(connection: Connection, error: OpenWebUIError, sent_base: str) -> str:
    """`retry` (another call moved the base already), `walk` (this call walks) or `no`."""
    if not isinstance(error, RouteError):
        return "no"
    with _lock:
        if sent_base != connection.base_url:
            return "retry"
        if connection in _walked:
            return "no"
        _walked.add(connection)
        return "walk"


def _after_walk(connection: Connection, error: OpenWebUIError, claim: str) -> bool:
    """No walk this time: send again (another call moved the base), or explain as the walk did."""
    if claim == "retry":
        return True
    version = _version_at_base.get(connection)
    if version is not None:
        lacks_route(error, connection.base_url, version)
    return False


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
    base, tried, _ = walk_with_version(client, base_url, headers, timeout)
    return base, tried


def walk_with_version(
    client: httpx.Client, base_url: str, headers: Mapping[str, str], timeout: httpx.Timeout
) -> tuple[str | None, list[str], str | None]:
    """`walk`, with the version Open WebUI gave where it answered."""
    tried: list[str] = []
    for base in [base_url, *parent_bases(base_url)]:
        url = base + VERSION_PATH
        tried.append(url)
        try:
            version = open_webui_version(client.get(url, headers=headers, timeout=timeout))
        except httpx.HTTPError:
            continue
        if version is not None:
            return base, tried, version
    return None, tried, None


async def awalk_with_version(
    client: httpx.AsyncClient, base_url: str, headers: Mapping[str, str], timeout: httpx.Timeout
) -> tuple[str | None, list[str], str | None]:
    """The async twin of `walk_with_version`."""
    tried: list[str] = []
    for base in [base_url, *parent_bases(base_url)]:
        url = base + VERSION_PATH
        tried.append(url)
        try:
            version = open_webui_version(await client.get(url, headers=headers, timeout=timeout))
        except httpx.HTTPError:
            continue
        if version is not None:
            return base, tried, version
    return None, tried, None


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
        return _after_walk(connection, error, claim)
    base, tried, version = walk_with_version(
        connection.client, connection.base_url, headers, walk_timeout(timeout)
    )
    if base == connection.base_url:
        _version_at_base[connection] = version or "?"
        lacks_route(error, base, version or "?")  # Open WebUI answers here: not the URL's fault
        return False
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
        return _after_walk(connection, error, claim)
    base, tried, version = await awalk_with_version(
        connection.async_client, connection.base_url, headers, walk_timeout(timeout)
    )
    if base == connection.base_url:
        _version_at_base[connection] = version or "?"
        lacks_route(error, base, version or "?")
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
