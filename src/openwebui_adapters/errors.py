"""Every failure as one `OpenWebUIError`, naming the layer that broke and the setting to change.

The tree is grouped by layer, in the order a request meets them (settings, network, route,
authentication, model, upstream, response). `error_from_response` diagnoses an HTTP answer and
`error_from_transport` translates httpx's exceptions, each through one table.
"""

from __future__ import annotations

import email.utils
import json
import re
import socket
import ssl
import time
from typing import Any, ClassVar

import httpx

__all__ = [
    "API_KEY",
    "API_KEY_HEADER",
    "MODEL",
    "SERVER_URL",
    "TIMEOUT",
    "VERIFY",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConnectTimeoutError",
    "ContextWindowExceededError",
    "DNSError",
    "KnowledgeError",
    "KnowledgeNotFoundError",
    "ModelNotFoundError",
    "NetworkError",
    "OpenWebUIError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReadTimeoutError",
    "RedirectedPostError",
    "RequestTimeoutError",
    "ResponseError",
    "RouteError",
    "ServerError",
    "ServerUnreachableError",
    "TLSError",
    "error_from_response",
    "error_from_transport",
    "is_html",
    "parse_retry_after",
    "server_detail",
]

SERVER_URL = "OPENWEBUI_SERVER_URL"
API_KEY = "OPENWEBUI_API_KEY"
API_KEY_HEADER = "OPENWEBUI_API_KEY_HEADER"
MODEL = "model"
VERIFY = "verify"
TIMEOUT = "timeout"

_BODY_LIMIT = 300


class OpenWebUIError(Exception):
    """A failed exchange with Open WebUI: which layer, which setting, and what to do."""

    layer: ClassVar[str] = "unknown"
    default_setting: ClassVar[str | None] = None
    default_hint: ClassVar[str] = "see the message above"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        setting: str | None = None,
        status_code: int | None = None,
        url: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.hint = hint or self.default_hint
        self.setting = setting if setting is not None else self.default_setting
        self.status_code = status_code
        self.url = url
        self.body = body
        # Seconds the server asked to wait (`Retry-After`), on any status it sent it with.
        self.retry_after = retry_after
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f" [layer: {self.layer}"
        if self.setting:
            where += f"; setting: {self.setting}"
        where += "]"
        return f"{self.message}{where}. Fix: {self.hint}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, layer={self.layer!r}, setting={self.setting!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the error picklable (multiprocessing, pytest-xdist) despite keyword-only arguments.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[OpenWebUIError], state: dict[str, Any]) -> OpenWebUIError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


# --- settings: wrong before anything is sent
class ConfigurationError(OpenWebUIError):
    """A setting is missing or malformed; nothing was sent."""

    layer = "settings"
    default_hint = "correct the setting named here"


# --- network: the server could not be reached
class NetworkError(OpenWebUIError):
    """The server could not be reached."""

    layer = "network"
    default_setting = SERVER_URL
    default_hint = "check the host and port in OPENWEBUI_SERVER_URL and that the server is up"


class DNSError(NetworkError):
    """The host name in the server URL does not resolve."""

    layer = "dns"
    default_hint = "the host name does not resolve: fix the host in OPENWEBUI_SERVER_URL"


class ServerUnreachableError(NetworkError):
    """The connection was refused, dropped or the host is unreachable."""

    default_hint = (
        "nothing answered at that address: check the port in OPENWEBUI_SERVER_URL, "
        "that the server is running, and any firewall or VPN"
    )


class TLSError(NetworkError):
    """The TLS handshake failed, usually an unverified certificate."""

    layer = "tls"
    default_setting = VERIFY
    default_hint = (
        "the certificate was not verified: pass verify='/path/to/ca-bundle.pem' "
        "(or set SSL_CERT_FILE); use http:// only if the server has no TLS"
    )


# --- timeout: the server did not answer in time
class RequestTimeoutError(OpenWebUIError):
    """The server did not answer within the configured timeout."""

    layer = "timeout"
    default_setting = TIMEOUT
    default_hint = "raise the timeout, or check that the server and its model backend are healthy"


class ConnectTimeoutError(RequestTimeoutError):
    """No connection could be made within the connect timeout."""

    default_setting = SERVER_URL
    default_hint = (
        "the connection was not accepted in time: check the host and port in "
        "OPENWEBUI_SERVER_URL, firewalls and VPNs, or raise connect_timeout"
    )


class ReadTimeoutError(RequestTimeoutError):
    """The server accepted the request but sent no answer within the read timeout."""


# --- route: the URL reached a server, but not Open WebUI's API
class RouteError(OpenWebUIError):
    """The URL reached a server but not Open WebUI's API (404, 405 or the web UI's page)."""

    layer = "route"
    default_setting = SERVER_URL
    default_hint = (
        "set OPENWEBUI_SERVER_URL to the address you open in the browser, with no API path "
        "(e.g. https://chat.example.com, or https://example.com/webui for a sub-path)"
    )


class RedirectedPostError(RouteError):
    """A 301/302/303 redirect turned the POST into a GET: the URL is not the final address."""


# --- authentication and permission
class AuthenticationError(OpenWebUIError):
    """The server refused the API key (401)."""

    layer = "authentication"
    default_setting = API_KEY
    default_hint = (
        "create a key in Open WebUI under Settings > Account > API keys and set OPENWEBUI_API_KEY"
    )


class PermissionDeniedError(OpenWebUIError):
    """The key is valid but not allowed to do this (403)."""

    layer = "permission"
    default_setting = API_KEY
    default_hint = "ask the Open WebUI admin for access; the server's reason is quoted above"


# --- model
class ModelNotFoundError(OpenWebUIError):
    """The server has no model by that name, even after resolving it against the model list."""

    layer = "model"
    default_setting = MODEL
    default_hint = "use one of the model ids the server lists (`openwebui-adapters models`)"

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        suggestions: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.model = model
        self.suggestions = list(suggestions or [])
        if self.suggestions and "hint" not in kwargs:
            kwargs["hint"] = "did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(message, **kwargs)


# --- knowledge: files and knowledge bases
class KnowledgeError(OpenWebUIError):
    """A file's processing failed, or a file or knowledge base cannot be used as asked."""

    layer = "knowledge"
    default_hint = "see the server's reason above"


class KnowledgeNotFoundError(KnowledgeError):
    """No knowledge base (or file) by that id or name; `suggestions` holds the closest names."""

    default_setting = "knowledge"
    default_hint = "use a knowledge base the server lists (`list_knowledge()`)"

    def __init__(
        self,
        message: str,
        *,
        knowledge: str | None = None,
        suggestions: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.knowledge = knowledge
        self.suggestions = list(suggestions or [])
        if self.suggestions and "hint" not in kwargs:
            kwargs["hint"] = "did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(message, **kwargs)


# --- request: the server understood the route but not the request
class BadRequestError(OpenWebUIError):
    """The server rejected the request's content (400, 422)."""

    layer = "request"
    default_setting: ClassVar[str | None] = None
    default_hint = "check the parameters sent; the server's reason is quoted above"


class ContextWindowExceededError(BadRequestError):
    """The input is longer than the model's context window (a 4xx that says so)."""

    default_setting = "messages"
    default_hint = "shorten the conversation, or use a model with a larger context window"


class RateLimitError(OpenWebUIError):
    """Too many requests (429), from Open WebUI or the model's backend."""

    layer = "rate_limit"
    default_hint = "wait and retry, or lower the request rate"


# --- upstream: the server or the model's backend failed
class ServerError(OpenWebUIError):
    """Open WebUI or the model's backend failed (5xx); nothing to change on the client."""

    layer = "upstream"
    default_hint = (
        "retry later; if it persists, tell the Open WebUI admin (the backend may be down)"
    )


# --- response: an answer that cannot be used
class ResponseError(OpenWebUIError):
    """The answer was unusable: not JSON, or a stream that ended before `[DONE]`."""

    layer = "response"
    default_hint = (
        "the answer was incomplete or malformed and was not returned; retry, and report it "
        "to the Open WebUI admin if it repeats"
    )


# ----------------------------------------------------------------------------------------------
# Diagnosing an HTTP answer
# ----------------------------------------------------------------------------------------------

_MODEL_NOT_FOUND = re.compile(r"model\b.*\bnot found|model not found", re.IGNORECASE)
_API_KEYS_DISABLED = re.compile(r"api key is not enabled", re.IGNORECASE)
_UPSTREAM_DOWN = re.compile(r"server connection error", re.IGNORECASE)
# What OpenAI, vLLM, Ollama, llama.cpp and Anthropic-style backends say when the input is too long.
_CONTEXT_OVERFLOW = re.compile(
    r"context[ _]length|context window|maximum context|too many tokens|prompt is too long"
    r"|exceeds? the (?:model's )?context|input is too long",
    re.IGNORECASE,
)

# One table: status code -> (error class, message). The special cases below refine it.
_STATUS_TABLE: dict[int, tuple[type[OpenWebUIError], str]] = {
    400: (BadRequestError, "Open WebUI rejected the request"),
    401: (AuthenticationError, "Open WebUI did not accept the API key"),
    403: (PermissionDeniedError, "Open WebUI refused this key access"),
    404: (RouteError, "No Open WebUI API at this URL (404)"),
    405: (RouteError, "No Open WebUI API at this URL (405 Method Not Allowed)"),
    408: (ReadTimeoutError, "The server timed out the request (408)"),
    413: (BadRequestError, "The request is too large for the server (413)"),
    422: (BadRequestError, "Open WebUI could not parse the request (422)"),
    429: (RateLimitError, "Rate limited (429)"),
}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + "…"


def server_detail(text: str) -> str:
    """The human part of an error body: FastAPI's `detail`, OpenAI's `error.message`, or the text."""
    try:
        data = json.loads(text)
    except ValueError:
        return _short(text)
    if isinstance(data, dict):
        detail = data.get("detail")
        if isinstance(detail, str):
            return _short(detail)
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _short(error["message"])
        if isinstance(error, str):
            return _short(error)
        if detail is not None:
            return _short(json.dumps(detail))
    return _short(text)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_html(response: httpx.Response) -> bool:
    """True when the answer is a web page (the web UI), not an API answer."""
    return "text/html" in response.headers.get("content-type", "")


def error_from_response(response: httpx.Response, *, model: str | None = None) -> OpenWebUIError:
    """Diagnose a failed (or HTML) answer into the error that names its layer and setting."""
    status = response.status_code
    try:
        url: str | None = str(response.request.url)
    except RuntimeError:  # a response built by hand has no request
        url = None
    try:
        text = response.text
    except httpx.ResponseNotRead:
        text = ""
    detail = server_detail(text)
    common: dict[str, Any] = {
        "status_code": status,
        "url": url,
        "body": detail or None,
        "retry_after": parse_retry_after(response.headers.get("retry-after")),
    }

    if response.history and response.history[0].request.method != response.request.method:
        # A 301/302/303 turns the POST into a GET, which Open WebUI answers with its page or a
        # 405; a 307/308 keeps the method and body, so what it reached is diagnosed as usual.
        return RedirectedPostError(
            f"The server redirected the request to {url}, which loses the POST body",
            hint="set OPENWEBUI_SERVER_URL to the final address (often https:// instead of http://)",
            **common,
        )
    if is_html(response):
        return RouteError(
            f"{url} answered with the web UI's HTML page instead of the API (HTTP {status})",
            **common,
        )
    if status in (400, 404) and _MODEL_NOT_FOUND.search(detail):
        return ModelNotFoundError(
            f"Open WebUI has no model {model!r}" if model else f"Model not found: {detail}",
            model=model,
            **common,
        )
    if status == 403 and _API_KEYS_DISABLED.search(detail):
        return PermissionDeniedError(
            f"Open WebUI refused the API key: {detail}",
            hint="the admin has disabled API keys: ask them to enable them "
            "(Admin Settings > General > Enable API Key, or ENABLE_API_KEYS=True)",
            **common,
        )
    if status in (400, 413, 422) and _CONTEXT_OVERFLOW.search(detail):
        return ContextWindowExceededError(
            f"The input is longer than the model's context window: {detail}", **common
        )
    if status >= 500:
        if _UPSTREAM_DOWN.search(detail):
            return ServerError(
                f"Open WebUI cannot reach the model's backend ({status}): {detail}",
                hint="the model's backend is down or unreachable from Open WebUI: "
                "retry later or tell the Open WebUI admin",
                **common,
            )
        return ServerError(f"The server failed ({status}): {detail}", **common)
    error_class, message = _STATUS_TABLE.get(
        status, (BadRequestError, f"Unexpected answer (HTTP {status})")
    )
    return error_class(f"{message}: {detail}" if detail else message, **common)


# ----------------------------------------------------------------------------------------------
# Translating httpx's exceptions
# ----------------------------------------------------------------------------------------------

_DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated",
    "name does not resolve",
    "name resolution",
)
_TLS_MARKERS = ("certificate", "ssl", "tls", "handshake")

# One table, most specific first: httpx exception -> our error class and message.
_TRANSPORT_TABLE: tuple[tuple[type[Exception], type[OpenWebUIError], str], ...] = (
    (httpx.ConnectTimeout, ConnectTimeoutError, "Could not connect in time to {url}"),
    (httpx.ReadTimeout, ReadTimeoutError, "No answer from {url} within the read timeout"),
    (httpx.WriteTimeout, ReadTimeoutError, "Sending the request to {url} timed out"),
    (httpx.PoolTimeout, ReadTimeoutError, "No free connection to {url} within the timeout"),
    (httpx.ConnectError, ServerUnreachableError, "Could not connect to {url}"),
    (httpx.RemoteProtocolError, ServerUnreachableError, "The connection to {url} was dropped"),
    (httpx.ReadError, ServerUnreachableError, "The connection to {url} was dropped"),
    (httpx.WriteError, ServerUnreachableError, "The connection to {url} was dropped"),
    (httpx.UnsupportedProtocol, ConfigurationError, "Unsupported URL {url}"),
    (httpx.InvalidURL, ConfigurationError, "Invalid URL {url}"),
)


# aiohttp (LiteLLM's async transport) names the SSL setting in every connect failure
# ("Cannot connect to host h:443 ssl:<ssl.SSLContext ...>"): not a sign of a TLS failure.
_SSL_SETTING = re.compile(r"\bssl:(?:<[^>]*>|\S+)")


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what caused it, outermost first (bounded: chains can loop)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _refine_connect_error(exc: Exception) -> type[OpenWebUIError] | None:
    """DNS or TLS when the cause says so: by the exception's type first (whichever transport
    raised it), then by the words of the message."""
    chain = _causes(exc)
    if any(isinstance(e, socket.gaierror) for e in chain):
        return DNSError
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return TLSError
    text = " ".join(_SSL_SETTING.sub("", str(e)).lower() for e in chain)
    if any(marker in text for marker in _DNS_MARKERS):
        return DNSError
    if any(marker in text for marker in _TLS_MARKERS):
        return TLSError
    return None


def error_from_transport(exc: Exception, url: str) -> OpenWebUIError:
    """Translate an httpx transport exception into the error for its layer."""
    for source, target, template in _TRANSPORT_TABLE:
        if isinstance(exc, source):
            if source is httpx.ConnectError:
                target = _refine_connect_error(exc) or target
            elif target is ServerUnreachableError and any(
                isinstance(e, ssl.SSLError) for e in _causes(exc)
            ):
                target = TLSError  # a handshake refused, as some transports report it
            setting = SERVER_URL if target is ConfigurationError else None
            reason = str(exc) or type(exc).__name__
            message = template.format(url=url) + f": {_short(reason)}"
            return target(message, url=url, setting=setting)
    if isinstance(exc, httpx.TransportError) and _refine_connect_error(exc) is TLSError:
        # aiohttp's refused certificate arrives as a bare httpx.ProtocolError.
        return TLSError(f"Could not connect to {url}: {_short(str(exc))}", url=url)
    return ServerUnreachableError(f"Request to {url} failed: {exc!r}", url=url)
