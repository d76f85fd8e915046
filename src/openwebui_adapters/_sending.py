"""One request to Open WebUI: retries with backoff, error diagnosis, and SSE streams.

Retried: connection failures and connect timeouts, and the statuses in `RETRY_STATUSES`, with
exponential backoff and full jitter, honouring `Retry-After`. Never retried: anything after a
stream has started yielding.

The pool is shared; this client's headers, timeouts and retries go with each request.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import Any

import httpx

from ._connection import Connection
from ._discovery import arebase, rebase
from ._settings import Settings
from ._sse import aiter_text_chunks, iter_text_chunks
from .errors import (
    ConnectTimeoutError,
    OpenWebUIError,
    ResponseError,
    ServerUnreachableError,
    error_from_response,
    error_from_transport,
    is_html,
)

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DRAIN_LIMIT",
    "RETRY_AFTER_CAP",
    "RETRY_STATUSES",
    "Diagnose",
    "Sender",
    "backoff_delay",
    "retry_delay",
    "without_key",
]

logger = logging.getLogger("openwebui_adapters")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 60.0  # a server asking for a longer pause gets the error instead of a stall
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
    retry_after = getattr(error, "retry_after", None)
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


def _check(response: httpx.Response, model: str | None, diagnose: Diagnose | None = None) -> None:
    """Raise the diagnosed error for a failed answer, or for HTML where the API should answer."""
    if not response.is_success or is_html(response):
        own = diagnose(response) if diagnose is not None and not is_html(response) else None
        raise own or error_from_response(response, model=model)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ResponseError(
            f"{response.request.url} answered {response.status_code} with a body that is not "
            f"JSON: {response.text[:120]!r}",
            status_code=response.status_code,
            url=str(response.request.url),
        ) from exc


def _drain(texts: Iterator[str]) -> None:
    """Read a stream's body to its end after `[DONE]`, so its connection can be reused."""
    read = 0
    try:
        for text in texts:
            read += len(text)
            if read > DRAIN_LIMIT:
                return  # not Open WebUI's usual ending: the connection is closed, not reused
    except httpx.TransportError:
        pass  # the answer was complete; a connection that breaks now is just not reused


async def _adrain(texts: AsyncIterator[str]) -> None:
    """The async twin of `_drain`."""
    read = 0
    try:
        async for text in texts:
            read += len(text)
            if read > DRAIN_LIMIT:
                return
    except httpx.TransportError:
        pass


class _Attempts:
    """The retry decision for one request, without I/O: the drivers only send and sleep."""

    def __init__(self, api_key: str, max_retries: int, statuses: frozenset[int]) -> None:
        self.api_key = api_key
        self.max_retries = max_retries
        self.statuses = statuses
        self.count = 0

    def failed(self, error: OpenWebUIError, *, started: bool = False) -> None:
        """Mask the key in `error`; re-raise it when the answer had already started."""
        without_key(error, self.api_key)
        if started:
            raise error

    def delay(self, error: OpenWebUIError) -> float:
        """Seconds before the next attempt; re-raises `error` when there is none."""
        self.count += 1
        return retry_delay(error, self.count, self.max_retries, self.statuses)


def _is_stream(response: httpx.Response) -> bool:
    """Whether an answer to a stream request is an event stream to read as it arrives; else it
    is read whole (a failure, the web UI's page, or a JSON answer)."""
    if not response.is_success or is_html(response):
        return False
    return "text/event-stream" in response.headers.get("content-type", "")


def _whole_answer(
    response: httpx.Response, url: str, model: str | None, diagnose: Diagnose | None = None
) -> Iterator[dict[str, Any]]:
    """A stream request's answer that was read whole: the diagnosed error, or, for a JSON
    answer (some errors come with 200), the equivalent chunks."""
    _check(response, model, diagnose)
    yield from _non_stream_as_chunks(_json(response), url)


def _broken(exc: httpx.TransportError, url: str, started: bool) -> OpenWebUIError:
    """A transport failure: before the first chunk the diagnosed error (retried as such),
    after it a ResponseError (never retried: part of the answer is already out)."""
    error = error_from_transport(exc, url)
    if started:
        return ResponseError(f"The stream from {url} broke off: {error.message}", url=url)
    return error


class Sender:
    """Sends requests over a shared `Connection` with one client's headers, timeouts, retries."""

    def __init__(self, connection: Connection, settings: Settings) -> None:
        self.connection = connection
        self.max_retries = settings.max_retries
        self.headers = dict(settings.headers)
        self.timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)

    def _timeout(self, timeout: float | None) -> httpx.Timeout | float:
        return self.timeout if timeout is None else timeout

    def _body(self, body: dict[str, Any] | bytes | None) -> dict[str, Any]:
        """The body arguments: JSON bytes the caller encoded (a chat: encoding is its check),
        or data httpx encodes; this client's headers either way."""
        if isinstance(body, bytes):
            return {"content": body, "headers": {**self.headers, **JSON_HEADERS}}
        return {"json": body, "headers": self.headers}

    def _attempts(self, statuses: frozenset[int]) -> _Attempts:
        return _Attempts(self.connection.api_key, self.max_retries, statuses)

    # -- sync ------------------------------------------------------------------------------
    def request_json(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes | None = None,
        *,
        params: dict[str, str] | None = None,
        model: str | None = None,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
        timeout: float | None = None,
        files: Mapping[str, Any] | None = None,
        diagnose: Diagnose | None = None,
    ) -> Any:
        """One JSON request and its decoded answer."""
        url = self.connection.url(path)
        client = self.connection.client
        attempts = self._attempts(retry_statuses)
        while True:
            try:
                try:
                    response = client.request(
                        method,
                        url,
                        params=params,
                        files=files,
                        **self._body(body),
                        timeout=self._timeout(timeout),
                    )
                except httpx.TransportError as exc:
                    raise error_from_transport(exc, url) from exc
                _check(response, model, diagnose)
                return _json(response)
            except OpenWebUIError as error:
                attempts.failed(error)
                if rebase(
                    self.connection, error, url.removesuffix(path), self.headers, self.timeout
                ):
                    url = self.connection.url(path)
                    continue
                time.sleep(attempts.delay(error))

    def stream_chunks(
        self, path: str, body: dict[str, Any] | bytes, *, model: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """POST and yield the SSE chunks; errors before the first chunk are retried."""
        url = self.connection.url(path)
        client = self.connection.client
        attempts = self._attempts(RETRY_STATUSES)
        while True:
            started = False
            try:
                try:
                    with client.stream(
                        "POST", url, timeout=self.timeout, **self._body(body)
                    ) as response:
                        if not _is_stream(response):
                            response.read()
                            yield from _whole_answer(response, url, model)
                            return
                        texts = response.iter_text()
                        for chunk in iter_text_chunks(texts, url):
                            started = True
                            yield chunk
                        _drain(texts)
                        return
                except httpx.TransportError as exc:
                    raise _broken(exc, url, started) from exc
            except OpenWebUIError as error:
                attempts.failed(error, started=started)
                if rebase(
                    self.connection, error, url.removesuffix(path), self.headers, self.timeout
                ):
                    url = self.connection.url(path)
                    continue
                time.sleep(attempts.delay(error))

    def stream_text(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
        diagnose: Diagnose | None = None,
    ) -> Generator[str, None, None]:
        """GET and yield the body's text as it arrives (an event stream that is not chat
        chunks); errors before the answer starts are retried, a break after it is not."""
        url = self.connection.url(path)
        client = self.connection.client
        attempts = self._attempts(RETRY_STATUSES)
        while True:
            started = False
            try:
                try:
                    with client.stream(
                        "GET",
                        url,
                        params=params,
                        headers=self.headers,
                        timeout=self._timeout(timeout),
                    ) as response:
                        if not response.is_success or is_html(response):
                            response.read()
                            _check(response, None, diagnose)
                        started = True
                        yield from response.iter_text()
                        return
                except httpx.TransportError as exc:
                    raise error_from_transport(exc, url) from exc
            except OpenWebUIError as error:
                attempts.failed(error, started=started)
                time.sleep(attempts.delay(error))

    # -- async -----------------------------------------------------------------------------
    async def arequest_json(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes | None = None,
        *,
        params: dict[str, str] | None = None,
        model: str | None = None,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
        timeout: float | None = None,
        files: Mapping[str, Any] | None = None,
        diagnose: Diagnose | None = None,
    ) -> Any:
        """The async twin of `request_json`."""
        url = self.connection.url(path)
        client = self.connection.async_client
        attempts = self._attempts(retry_statuses)
        while True:
            try:
                try:
                    response = await client.request(
                        method,
                        url,
                        params=params,
                        files=files,
                        **self._body(body),
                        timeout=self._timeout(timeout),
                    )
                except httpx.TransportError as exc:
                    raise error_from_transport(exc, url) from exc
                _check(response, model, diagnose)
                return _json(response)
            except OpenWebUIError as error:
                attempts.failed(error)
                sent_base = url.removesuffix(path)
                if await arebase(self.connection, error, sent_base, self.headers, self.timeout):
                    url = self.connection.url(path)
                    continue
                await asyncio.sleep(attempts.delay(error))

    async def astream_chunks(
        self, path: str, body: dict[str, Any] | bytes, *, model: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The async twin of `stream_chunks`."""
        url = self.connection.url(path)
        client = self.connection.async_client
        attempts = self._attempts(RETRY_STATUSES)
        while True:
            started = False
            try:
                try:
                    async with client.stream(
                        "POST", url, timeout=self.timeout, **self._body(body)
                    ) as response:
                        if not _is_stream(response):
                            await response.aread()
                            for chunk in _whole_answer(response, url, model):
                                yield chunk
                            return
                        atexts = response.aiter_text()
                        async for chunk in aiter_text_chunks(atexts, url):
                            started = True
                            yield chunk
                        await _adrain(atexts)
                        return
                except httpx.TransportError as exc:
                    raise _broken(exc, url, started) from exc
            except OpenWebUIError as error:
                attempts.failed(error, started=started)
                sent_base = url.removesuffix(path)
                if await arebase(self.connection, error, sent_base, self.headers, self.timeout):
                    url = self.connection.url(path)
                    continue
                await asyncio.sleep(attempts.delay(error))

    async def astream_text(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
        diagnose: Diagnose | None = None,
    ) -> AsyncGenerator[str, None]:
        """The async twin of `stream_text`."""
        url = self.connection.url(path)
        client = self.connection.async_client
        attempts = self._attempts(RETRY_STATUSES)
        while True:
            started = False
            try:
                try:
                    async with client.stream(
                        "GET",
                        url,
                        params=params,
                        headers=self.headers,
                        timeout=self._timeout(timeout),
                    ) as response:
                        if not response.is_success or is_html(response):
                            await response.aread()
                            _check(response, None, diagnose)
                        started = True
                        async for text in response.aiter_text():
                            yield text
                        return
                except httpx.TransportError as exc:
                    raise error_from_transport(exc, url) from exc
            except OpenWebUIError as error:
                attempts.failed(error, started=started)
                await asyncio.sleep(attempts.delay(error))


def _non_stream_as_chunks(data: Any, url: str) -> Iterator[dict[str, Any]]:
    """A whole chat.completion answered to a stream request, as the equivalent chunks."""
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
    yield chunk
