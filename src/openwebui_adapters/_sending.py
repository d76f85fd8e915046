"""One request to Open WebUI, as a plan: retries with backoff, redirects, diagnosis, streams.

Retried: connection failures and connect timeouts, and the statuses in `RETRY_STATUSES`, with
exponential backoff and full jitter, honouring `Retry-After`. Never retried: anything after a
stream has started yielding. Redirects are followed only within the server's origin (or from
http to https on the same host): a redirect elsewhere (a sign-in gate, another host) is not
followed, so the key and the caller's headers never leave the origin.

The pool is shared; this client's headers, timeouts and retries go with each request. Every
function here returns a plan (see `_plan`): decisions only, performed by the client's driver.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from itertools import islice
from typing import Any, TypeVar

import httpx

from ._connection import Connection
from ._diagnosis import (
    error_from_redirect,
    error_from_response,
    error_from_transport,
    is_html,
    responder,
)
from ._discovery import rebase
from ._plan import Close, Open, Outgoing, Plan, Read, ReadAll, Send, Sleep
from ._settings import Settings
from ._sse import SSEDecoder
from .errors import (
    ConnectTimeoutError,
    OpenWebUIError,
    ResponseError,
    RouteError,
    ServerUnreachableError,
)

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DRAIN_LIMIT",
    "MAX_REDIRECTS",
    "RETRY_AFTER_CAP",
    "RETRY_STATUSES",
    "ChunkStream",
    "Diagnose",
    "Sender",
    "backoff_delay",
    "is_event_stream",
    "redirect_target",
    "retry_delay",
    "without_key",
]

logger = logging.getLogger("openwebui_adapters")
T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 60.0  # a server asking for a longer pause gets the error instead of a stall
MAX_REDIRECTS = 5
# After `[DONE]` Open WebUI sends only the chunked terminator; reading it (and at most this many
# more characters) lets the connection go back to the pool instead of being closed mid-body.
DRAIN_LIMIT = 64 * 1024
JSON_HEADERS = {"Content-Type": "application/json"}
# A caller's own reading of a failed answer (e.g. "no such file"), tried before the generic one.
Diagnose = Callable[[httpx.Response], OpenWebUIError | None]


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry `attempt` (1-based): `Retry-After` if given, else full jitter."""
    if retry_after is not None:
        return retry_after  # retry_delay refuses one over RETRY_AFTER_CAP before asking
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def retry_delay(
    error: OpenWebUIError, attempt: int, max_retries: int, statuses: frozenset[int]
) -> float:
    """Seconds to wait before retry `attempt`; re-raises `error` when it must not be retried."""
    if attempt > max_retries:
        raise error
    retry_after = error.retry_after
    if error.status_code is not None:
        retryable = error.status_code in statuses and (
            retry_after is None or retry_after <= RETRY_AFTER_CAP
        )
    else:
        # Without a status the request never reached the server's handler: safe to send again.
        retryable = isinstance(error, (ServerUnreachableError, ConnectTimeoutError))
    if not retryable:
        raise error
    delay = backoff_delay(attempt, retry_after)
    # The message and URL never hold the key; it travels in a header only.
    logger.info("retry %d/%d in %.2f s after: %s", attempt, max_retries, delay, error.message)
    return delay


def without_key(error: OpenWebUIError, key: str) -> OpenWebUIError:
    """`error` with the request's own key masked, should the server have echoed it back.

    Messages quote what the server said (an error detail, a body that is not JSON, a bad SSE
    line); a proxy that echoes the Authorization header must not put the key into logs. A cause
    that holds the text (a JSONDecodeError's `doc`) is dropped from the chain.
    """
    if len(key) < 8:
        return error
    if key in error.message or key in (error.body or ""):
        error.message = error.message.replace(key, "***")
        error.body = error.body.replace(key, "***") if error.body else error.body
        error.args = (str(error),)
    cause = error.__cause__ or error.__context__
    if cause is not None and (key in str(cause) or key in repr(getattr(cause, "__dict__", {}))):
        error.__cause__ = error.__context__ = None
        error.__suppress_context__ = True
    return error


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def redirect_target(request: Outgoing, response: httpx.Response) -> Outgoing | str:
    """Where a redirect may be followed to (the request to send next), or, when it must not be
    followed, its target (a string): another origin, https to http, or a POST made a GET.

    Within the origin, and from http to https on the same host and default ports (what httpx
    itself keeps credentials for), 307/308 keep the method and body and 301/302/303 turn a GET
    into a GET; a POST turned into a GET would lose its body, so it is not followed."""
    target = httpx.URL(request.url).join(response.headers.get("location", ""))
    sent = httpx.URL(request.url)
    upgrade = (
        sent.scheme == "http"
        and target.scheme == "https"
        and sent.host == target.host
        and sent.port is None  # httpx leaves a default port out of the URL
        and target.port is None
    )
    if _origin(sent) != _origin(target) and not upgrade:
        return str(target)
    if response.status_code in (307, 308) or request.method in ("GET", "HEAD"):
        return replace(request, url=str(target), params=None)
    return str(target)


def _check(response: httpx.Response, diagnose: Diagnose | None, **context: Any) -> None:
    """Raise the diagnosed error for a failed answer, or for HTML where the API should answer."""
    if not response.is_success or is_html(response):
        own = diagnose(response) if diagnose is not None and not is_html(response) else None
        raise own or error_from_response(response, **context)


def _json(response: httpx.Response, names: Mapping[str, str] | None = None) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        who = responder(response)
        if who.kind == "proxy":  # Caddy answers a path it has no route for with an empty 200
            raise RouteError(
                f"{who.in_front} answered {response.request.url} with {response.status_code} and "
                f"{'an empty body' if not response.content else 'a body that is not JSON'} "
                f"({who.evidence}): it has no route to Open WebUI's API at that path",
                hint="set {server_url} to the address you open in the browser, with the "
                "sub-path the proxy serves Open WebUI under, if any",
                status_code=response.status_code,
                url=str(response.request.url),
                names=names,
            ) from exc
        raise ResponseError(
            f"{response.request.url} answered {response.status_code} with a body that is not "
            f"JSON: {response.text[:120]!r}",
            status_code=response.status_code,
            url=str(response.request.url),
        ) from exc


def is_event_stream(response: httpx.Response) -> bool:
    """Whether an answer to a stream request is an event stream to read as it arrives; else it
    is read whole (a failure, a page, or a JSON answer)."""
    return response.is_success and "text/event-stream" in response.headers.get("content-type", "")


def _non_stream_as_chunks(data: Any, url: str) -> list[dict[str, Any]]:
    """A whole chat.completion answered to a stream request, as the equivalent chunk."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise ResponseError(f"{url} answered a stream request with {str(data)[:120]!r}", url=url)
    chunk = {**data, "object": "chat.completion.chunk"}
    chunk["choices"] = [
        {
            "index": choice.get("index", 0),
            "delta": choice.get("message") or {},
            "finish_reason": choice.get("finish_reason"),
        }
        for choice in data["choices"]
    ]
    return [chunk]


class _Attempts:
    """The retry decision for one request: mask the key in each failure, count the attempts."""

    def __init__(self, api_key: str, max_retries: int, statuses: frozenset[int]) -> None:
        self.api_key = api_key
        self.max_retries = max_retries
        self.statuses = statuses
        self.count = 0

    def failed(self, error: OpenWebUIError) -> None:
        """Mask the key in `error` before anything quotes it."""
        without_key(error, self.api_key)

    def delay(self, error: OpenWebUIError) -> float:
        """Seconds before the next attempt; re-raises `error` when there is none."""
        self.count += 1
        return retry_delay(error, self.count, self.max_retries, self.statuses)


class ChunkStream:
    """An opened chat stream: what has arrived, and the plan that reads the next chunks."""

    def __init__(
        self, response: httpx.Response | None, url: str, first: list[dict[str, Any]], key: str
    ) -> None:
        self.response = response  # None: the answer came whole
        self.url = url
        self.pending = first
        self.decoder = SSEDecoder(url)
        self._rest: Iterator[dict[str, Any]] | None = None  # the piece read, decoded as asked
        self._batch = 1  # how many of its chunks go out next
        self.key = key
        self._read = Read(response) if response is not None else None  # made once: the hot path

    def next_chunks(self) -> Plan[list[dict[str, Any]]]:
        """The chunks that arrive next (at least one), or none once the stream has ended; a
        failure is never retried (part of the answer is out) and never quotes the key."""
        try:
            return (yield from self._next())
        except OpenWebUIError as error:
            raise without_key(error, self.key) from error.__cause__

    def _next(self) -> Plan[list[dict[str, Any]]]:
        if self.pending:
            chunks, self.pending = self.pending, []
            return chunks
        while True:
            if self._rest is not None:
                # A piece may hold many chunks (a whole answer): they go out in batches that
                # double, 1, 2, 4..., so the first token does not wait for the rest to decode.
                chunks = list(islice(self._rest, self._batch))
                if len(chunks) == self._batch:
                    self._batch *= 2
                    return chunks
                self._rest = None
                if self.decoder.done:
                    yield from self._drain()
                if chunks:
                    return chunks
            if self._read is None or self.decoder.done:
                return []
            try:
                text = yield self._read
            except httpx.RequestError as exc:
                error = error_from_transport(exc, self.url)
                raise ResponseError(
                    f"The stream from {self.url} broke off: {error.message}", url=self.url
                ) from exc
            if text is None:
                self.decoder.finish()  # raises unless the body's last line was [DONE]
                return []
            self._rest, self._batch = self.decoder.feed_text(text), 1

    def _drain(self) -> Plan[None]:
        """Read the body to its end after `[DONE]`, so its connection can be reused."""
        assert self.response is not None
        read = 0
        try:
            while read <= DRAIN_LIMIT:
                text = yield Read(self.response)
                if text is None:
                    return
                read += len(text)
        except httpx.RequestError:
            pass  # the answer was complete; a connection that breaks now is just not reused
        yield Close(self.response)  # not Open WebUI's usual ending: closed, not reused


class Sender:
    """Builds one client's requests over a shared `Connection` (its headers, timeouts, retries)."""

    def __init__(self, connection: Connection, settings: Settings) -> None:
        self.connection = connection
        self.names = settings.names
        self.key_header = settings.api_key_header  # read by the diagnosis of a 401
        self.max_retries = settings.max_retries
        self.headers = dict(settings.headers)
        self.read_timeout = settings.timeout
        self.timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)

    def outgoing(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Outgoing:
        """The request for `path` on the connection's (current) base: JSON bytes the caller
        encoded (a chat: encoding is its check), or data httpx encodes."""
        encoded = isinstance(body, bytes)
        return Outgoing(
            method,
            self.connection.url(path),
            {**self.headers, **JSON_HEADERS} if encoded else self.headers,
            self.timeout if timeout is None else timeout,
            params=params,
            content=body if encoded else None,
            json=None if encoded else body,
            files=files,
        )

    def exchange(self, request: Outgoing, *, stream: bool = False) -> Plan[httpx.Response]:
        """Send `request`, following redirects within the origin; the transport's failures as
        the core's errors. With `stream`, a success's body is left to read."""
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response: httpx.Response = yield (Open if stream else Send)(request)
            except httpx.RequestError as exc:
                raise error_from_transport(exc, request.url, names=self.names) from exc
            if not response.has_redirect_location:
                return response
            if stream:
                yield ReadAll(response)
            following = redirect_target(request, response)
            if isinstance(following, str):
                raise error_from_redirect(response, following, names=self.names)
            request = following
        raise error_from_redirect(response, str(response.headers["location"]), names=self.names)

    def _retried(
        self, attempt: Callable[[], Plan[T]], statuses: frozenset[int], *, rebases: bool = True
    ) -> Plan[T]:
        """`attempt()` until it succeeds, retrying what `retry_delay` allows; after a route
        failure, once per connection, the walk up the base's path (`rebase`)."""
        attempts = _Attempts(self.connection.api_key, self.max_retries, statuses)
        while True:
            sent_base = self.connection.base_url
            try:
                return (yield from attempt())
            except OpenWebUIError as error:
                attempts.failed(error)
                if rebases:
                    explained = yield from rebase(self.connection, error, sent_base, self)
                    if explained is None:
                        continue  # the base moved: send it there
                    error = explained
                yield Sleep(attempts.delay(error))

    def json(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        model: str | None = None,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
        timeout: float | None = None,
        files: Mapping[str, Any] | None = None,
        diagnose: Diagnose | None = None,
    ) -> Plan[Any]:
        """One JSON request and its decoded answer."""

        def attempt() -> Plan[Any]:
            request = self.outgoing(method, path, body, params=params, files=files, timeout=timeout)
            response = yield from self.exchange(request)
            _check(response, diagnose, model=model, names=self.names, key_header=self.key_header)
            return _json(response, self.names)

        return (yield from self._retried(attempt, retry_statuses))

    def open_stream(self, path: str, body: bytes, *, model: str | None = None) -> Plan[ChunkStream]:
        """POST a stream request and read until its first chunk: every failure before it is
        diagnosed (and retried as such); what comes after is the caller's to read."""

        def attempt() -> Plan[ChunkStream]:
            request = self.outgoing("POST", path, body)
            response = yield from self.exchange(request, stream=True)
            if not is_event_stream(response):
                yield ReadAll(response)
                _check(response, None, model=model, names=self.names, key_header=self.key_header)
                first = _non_stream_as_chunks(_json(response, self.names), request.url)
                return ChunkStream(None, request.url, first, self.connection.api_key)
            stream = ChunkStream(response, request.url, [], self.connection.api_key)
            try:
                stream.pending = yield from stream.next_chunks()  # left for the caller to read
            except ResponseError as error:
                if isinstance(error.__cause__, httpx.RequestError):
                    # Nothing arrived yet: the transport failed before the answer started.
                    raise error_from_transport(
                        error.__cause__, request.url, names=self.names
                    ) from None
                raise
            return stream

        return (yield from self._retried(attempt, RETRY_STATUSES))

    def open_events(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        diagnose: Diagnose | None = None,
    ) -> Plan[httpx.Response]:
        """GET an answer to read as it arrives (an event stream that is not chat chunks), or
        read whole when it is not an event stream; failures before it starts are retried."""

        def attempt() -> Plan[httpx.Response]:
            request = self.outgoing("GET", path, params=params, timeout=timeout)
            response = yield from self.exchange(request, stream=True)
            if not is_event_stream(response):
                yield ReadAll(response)
                _check(response, diagnose, names=self.names, key_header=self.key_header)
            return response

        return (yield from self._retried(attempt, RETRY_STATUSES, rebases=False))
