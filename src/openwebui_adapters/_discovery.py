"""Per connection, once: finding Open WebUI above a base URL that is not its API (a page
address beyond the known ones), and warning that a key is a session token.

The walk runs only after a request failed at the route layer: the happy path costs one request.
It goes up the base's path, deepest first, to where `/api/version` answers as Open WebUI; it runs
once per connection, and what it finds becomes the connection's base (and is logged).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ._pasted import describe_session_token
from ._plan import Outgoing, Plan
from ._server_versions import tested_range
from .errors import OpenWebUIError, RouteError

if TYPE_CHECKING:
    from ._connection import Connection
    from ._sending import Sender

__all__ = [
    "VERSION_PATH",
    "WALK_TIMEOUT",
    "DiscoveryState",
    "open_webui_version",
    "parent_bases",
    "rebase",
    "walk",
    "warn_once_if_session_token",
]

logger = logging.getLogger("openwebui_adapters")

VERSION_PATH = "/api/version"
WALK_TIMEOUT = 10.0


class DiscoveryState:
    """One connection's discovery: whether the walk ran, the release it found at the base (for
    later route errors), whether the session-token note was logged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.walked = False
        self.version_at_base: str | None = None
        self.warned = False


def parent_bases(base_url: str) -> list[str]:
    """`https://h/a/b` -> `["https://h/a", "https://h"]`: each base above this one, deepest first."""
    parts = urlsplit(base_url)
    segments = [s for s in parts.path.split("/") if s]
    return [
        urlunsplit((parts.scheme, parts.netloc, "".join("/" + s for s in segments[:n]), "", ""))
        for n in range(len(segments) - 1, -1, -1)
    ]


def open_webui_version(response: httpx.Response) -> str | None:
    """The version in an `/api/version` answer that is Open WebUI's (not the web UI's page, which
    is no JSON), or None."""
    if response.status_code != 200:
        return None
    try:
        data: Any = response.json()
    except ValueError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def _lacks_route(error: RouteError, base: str, version: str) -> RouteError:
    """Open WebUI answers at the base, so its own "no such route" (404, 405) is about the
    server's release, not the URL; any other failure keeps its own diagnosis."""
    if error.status_code not in (404, 405):
        return error  # a redirect not followed (RedirectedPostError too), a proxy's page at 200
    url = error.url or ""
    if not url.startswith(base):
        return error  # answered somewhere else (a redirect): not this server's route table
    path = url.removeprefix(base)
    return RouteError(
        f"Open WebUI {version} answers at {base} but has no {path} "
        f"(HTTP {error.status_code}): this release of the server lacks the route",
        setting="",
        hint=f"the URL is right; ask the admin to upgrade Open WebUI (this package is tested "
        f"with {tested_range()})",
        status_code=error.status_code,
        url=error.url,
        body=error.body,
    )


def walk(sender: Sender, base_url: str) -> Plan[tuple[tuple[str, str] | None, list[str]]]:
    """(The base where Open WebUI answers at or above `base_url`, its version), or None; and the
    URLs tried."""
    short = httpx.Timeout(min(sender.read_timeout, WALK_TIMEOUT), connect=sender.timeout.connect)
    tried: list[str] = []
    for base in [base_url, *parent_bases(base_url)]:
        tried.append(base + VERSION_PATH)
        request = Outgoing("GET", base + VERSION_PATH, sender.headers, short)
        try:
            version = open_webui_version((yield from sender.exchange(request)))
        except OpenWebUIError:
            continue
        if version is not None:
            return (base, version), tried
    return None, tried


def rebase(
    connection: Connection, error: OpenWebUIError, sent_base: str, sender: Sender
) -> Plan[OpenWebUIError | None]:
    """After a failure of a call sent to `sent_base`: None to send it again (to the
    connection's new base), else the error to go on with (explained further when the walk
    found why)."""
    if not isinstance(error, RouteError):
        return error
    state = connection.discovery
    with state.lock:
        if sent_base != connection.base_url:
            return None  # another call moved the base already
        walking = not state.walked
        state.walked = True
    if not walking:
        known = state.version_at_base
        return _lacks_route(error, connection.base_url, known) if known else error
    found, tried = yield from walk(sender, connection.base_url)
    if found is not None:
        base, version = found
        if base == connection.base_url:
            state.version_at_base = version
            return _lacks_route(error, base, version)
        logger.warning(
            "%s is not Open WebUI's API but %s is: using it (set OPENWEBUI_SERVER_URL=%s)",
            connection.base_url,
            base,
            base,
        )
        connection.base_url = base
        return None
    if len(tried) <= 1:
        return error  # nothing above the base to try: the original error says it all
    return type(error)(
        error.message + "; Open WebUI's /api/version answered at none of " + ", ".join(tried),
        hint=error.hint,
        status_code=error.status_code,
        url=error.url,
        body=error.body,
        names=sender.names,
    )


def warn_once_if_session_token(connection: Connection) -> None:
    """Log, once per connection, that its key is a browser session token that will expire."""
    warning = describe_session_token(connection.api_key)
    if warning is None:
        return
    state = connection.discovery
    with state.lock:
        if state.warned:
            return
        state.warned = True
    logger.warning("%s", warning)
