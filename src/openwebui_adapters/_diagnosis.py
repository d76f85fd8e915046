"""Reading a failed answer or a transport failure into the error that names its layer and setting.

Two tables, like httpx's `_exceptions` mapping: one from statuses, one from httpx's exceptions.
Before either, the answer is attributed to whoever sent it (`_front.identify`): Open WebUI's own
answers keep their diagnosis; an answer from something in front of it (a reverse proxy, a sign-in
gate, a CDN) gets its own, and never blames the URL or the key unless they are the cause.
Pure functions: they read a response that has arrived, they send nothing.
"""

from __future__ import annotations

import email.utils
import json
import re
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._front import Responder, identify
from .errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConnectTimeoutError,
    ContextWindowExceededError,
    DNSError,
    FrontError,
    GatewayTimeoutError,
    ModelNotFoundError,
    OpenWebUIError,
    PermissionDeniedError,
    ProxyAuthenticationError,
    RateLimitError,
    ReadTimeoutError,
    RedirectedPostError,
    RequestTooLargeError,
    ResponseError,
    RouteError,
    SchemeMismatchError,
    ServerError,
    ServerUnreachableError,
    SignInRequiredError,
    TLSError,
)

__all__ = [
    "error_from_redirect",
    "error_from_response",
    "error_from_transport",
    "is_html",
    "parse_retry_after",
    "responder",
    "server_detail",
    "tls_failure",
]

_BODY_LIMIT = 300

_MODEL_NOT_FOUND = re.compile(r"model\b.*\bnot found|model not found", re.IGNORECASE)
_API_KEYS_DISABLED = re.compile(r"api key is not enabled", re.IGNORECASE)
_NO_CREDENTIALS = "Not authenticated"  # Open WebUI's 401 when the request carried no key at all
_UPSTREAM_DOWN = re.compile(r"server connection error", re.IGNORECASE)
# What OpenAI, vLLM, Ollama, llama.cpp and Anthropic-style backends say when the input is too long.
_CONTEXT_OVERFLOW = re.compile(
    r"context[ _]length|context window|maximum context|too many tokens|prompt is too long"
    r"|exceeds? the (?:model's )?context|input is too long",
    re.IGNORECASE,
)

# One table: Open WebUI's status -> (error class, message). The special cases below refine it.
_STATUS_TABLE: dict[int, tuple[type[OpenWebUIError], str]] = {
    400: (BadRequestError, "Open WebUI rejected the request"),
    401: (AuthenticationError, "Open WebUI did not accept the API key"),
    403: (PermissionDeniedError, "Open WebUI refused this key access"),
    404: (RouteError, "No Open WebUI API at this URL (404)"),
    405: (RouteError, "No Open WebUI API at this URL (405 Method Not Allowed)"),
    408: (ReadTimeoutError, "The server timed out the request (408)"),
    413: (RequestTooLargeError, "The request is too large for the server (413)"),
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
    except (ValueError, OverflowError):  # OverflowError: a year or offset too large for a datetime
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_html(response: httpx.Response) -> bool:
    """True when the answer is a web page, not an API answer."""
    return "text/html" in response.headers.get("content-type", "")


def _url(response: httpx.Response) -> str | None:
    try:
        return str(response.request.url)
    except RuntimeError:  # a response built by hand has no request
        return None


def _text(response: httpx.Response) -> str:
    try:
        return response.text
    except httpx.ResponseNotRead:
        return ""


def responder(response: httpx.Response) -> Responder:
    """Who sent this answer: Open WebUI, or what stands in front of it."""
    return identify(
        response.status_code, response.headers, _text(response), request_url=_url(response) or ""
    )


def _sent(response: httpx.Response) -> int | None:
    """How many bytes the request carried, when it said."""
    try:
        sent = response.request.headers.get("content-length")
    except RuntimeError:
        return None
    return int(sent) if sent and sent.isdigit() else None


def _size(sent: int | None) -> str:
    if sent is None:
        return "the request"
    return f"{sent / 1_000_000:.1f} MB" if sent >= 100_000 else f"{sent} bytes"


def _front_error(
    who: Responder, response: httpx.Response, common: dict[str, Any]
) -> OpenWebUIError:
    """The error for an answer that something in front of Open WebUI sent, by its status."""
    status = response.status_code
    front = who.in_front
    evidence = f" ({who.evidence})"  # identify always says how it knows
    if who.kind == "sso":
        where = f" at {who.sign_in_url}" if who.sign_in_url else ""
        gate = who.name or "A sign-in gate"
        if "location" in response.headers:
            told = (
                f"sent the call to its sign-in page{where} (HTTP {status}); the redirect was not "
                "followed: the call never reached Open WebUI, and nothing (the key included) "
                "was sent to the sign-in page"
            )
        else:
            told = f"answered with its sign-in page{where} (HTTP {status}) instead of Open WebUI"
        return SignInRequiredError(f"{gate} in front of Open WebUI {told}", **common)
    if status in (401, 407):
        realm = f", realm {who.realm!r}" if who.realm else ""
        return ProxyAuthenticationError(
            f"{front} asks for its own credentials (HTTP {status}{realm}); Open WebUI did not "
            "see the request, so the API key is not the cause",
            **common,
        )
    if status == 413:
        limit = " (nginx: client_max_body_size, 1 MB by default)" if who.name == "nginx" else ""
        return RequestTooLargeError(
            f"{front} refused {_size(_sent(response))} as too large (413): its body "
            f"limit{limit} is below it",
            **common,
        )
    if status == 403:
        return PermissionDeniedError(
            f"{front} refused the request (403){evidence} before Open WebUI saw it, as an "
            "allow-list or firewall rule does; the API key is not the cause",
            setting="",  # neither the key nor the URL
            hint=f"ask whoever runs {who.name or 'the proxy'} to let this client reach /api/",
            **common,
        )
    if who.wants_https:  # its page says plain HTTP reached its TLS port (nginx, Apache, Go: 400)
        return SchemeMismatchError(
            f"{front} speaks HTTPS at this port and got plain HTTP ({status}){evidence}",
            hint="use https:// in {server_url}",
            **common,
        )
    if status in (404, 405) or 200 <= status < 300:
        # A success that is not Open WebUI's (Caddy's empty 200, a default welcome page): the
        # proxy serves something else at that path.
        return RouteError(
            f"{front} has no route for {_url(response)} (HTTP {status}){evidence}",
            hint="set {server_url} to the address you open in the browser, with the sub-path "
            "the proxy serves Open WebUI under, if any",
            **common,
        )
    if status in (504, 524):
        return GatewayTimeoutError(
            f"{front} gave up waiting for Open WebUI's answer (HTTP {status}){evidence}: the "
            "proxy's read timeout ended the request, not the client's",
            **common,
        )
    if status >= 500:
        sent = _sent(response) or 0
        large = (
            f"; or, as {_size(sent)} were sent, its body limit refused them (Caddy answers that "
            "with 502)"
            if sent >= 1_000_000
            else ""
        )
        return ServerError(
            f"{front} could not reach Open WebUI (HTTP {status}){evidence}: it is down or "
            f"restarting{large}",
            hint=f"retry later; if it lasts, tell the admin that Open WebUI behind "
            f"{who.name or 'the proxy'} does not answer",
            **common,
        )
    return FrontError(f"{front} answered HTTP {status}{evidence} instead of Open WebUI", **common)


def _in_front(who: Responder, response: httpx.Response) -> bool:
    """Whether something in front of Open WebUI sent this answer (not Open WebUI itself)."""
    if who.kind in ("proxy", "cdn", "sso"):
        return True
    # An unnamed web page with an error status is not Open WebUI's (it answers errors in JSON).
    return who.kind == "unknown" and is_html(response) and response.status_code >= 400


def error_from_response(
    response: httpx.Response,
    *,
    model: str | None = None,
    names: Mapping[str, str] | None = None,
    key_header: str | None = None,
) -> OpenWebUIError:
    """Diagnose a failed (or HTML) answer into the error that names its layer and setting
    (`key_header`: the header that carried the key, when not `Authorization`)."""
    status = response.status_code
    url = _url(response)
    detail = server_detail(_text(response))
    common: dict[str, Any] = {
        "status_code": status,
        "url": url,
        "body": detail or None,
        "retry_after": parse_retry_after(response.headers.get("retry-after")),
        "names": names,
    }
    who = responder(response)
    if _in_front(who, response):
        return _front_error(who, response, common)
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
    if status == 401 and detail == _NO_CREDENTIALS and key_header is not None:
        return AuthenticationError(
            "Open WebUI found no API key in the request (401 Not authenticated): the key went "
            "in the header set by {api_key_header}, which Open WebUI reads only from release "
            "0.8.4 on (x-api-key, or what its CUSTOM_API_KEY_HEADER names), or a proxy in front "
            "did not pass that header on",
            setting="api_key_header",
            hint="upgrade Open WebUI to 0.8.4 or later; on an older release also send the key "
            "as the `token` cookie, which every release reads ({headers}={'Cookie': "
            "'token=<key>'}), or have the proxy pass the key header on",
            **common,
        )
    if status == 403 and _API_KEYS_DISABLED.search(detail):
        return PermissionDeniedError(
            f"Open WebUI refused the API key: {detail}",
            hint="the admin has disabled API keys, or restricted them to other endpoints: ask "
            "them to enable them (Admin Settings > General > Enable API Key, ENABLE_API_KEYS=True) "
            "or to allow this route (API_KEY_ALLOWED_ENDPOINTS)",
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


def error_from_redirect(
    response: httpx.Response, target: str, *, names: Mapping[str, str] | None = None
) -> OpenWebUIError:
    """The error for a redirect that is not followed: to another origin (a sign-in gate, another
    host, https to http), or one that would turn a POST into a GET."""
    request = response.request  # a redirect is only ever diagnosed for a request sent
    url = str(request.url)
    common: dict[str, Any] = {"status_code": response.status_code, "url": url, "names": names}
    who = responder(response)
    if who.kind == "sso":
        return _front_error(who, response, common)
    sent, went = urlsplit(url), urlsplit(target)
    final = f"{went.scheme}://{went.netloc}"
    if sent.scheme == "https" and went.scheme == "http":
        return SchemeMismatchError(
            f"{url} redirected to plain HTTP ({target}); it was not followed, so the key "
            "did not travel unencrypted",
            hint="ask the admin to serve Open WebUI over https:// only",
            **common,
        )
    if sent.hostname != went.hostname:
        return RouteError(
            f"{url} redirected to another host, {target}; it was not followed, so nothing "
            "(the key included) was sent there",
            hint=f"if {final} is where Open WebUI is, set {{server_url}} to it",
            **common,
        )
    kept = response.status_code in (307, 308) or request.method in ("GET", "HEAD")
    if kept and (sent.scheme, sent.port) != (went.scheme, went.port):
        # Not a POST made a GET: another port (or http to https on one) of the same host.
        return RouteError(
            f"{url} redirected to {target}, another address on the same host; it was not "
            "followed, so nothing (the key included) was sent there",
            hint=f"set {{server_url}} to the address it redirects to ({final})",
            **common,
        )
    return RedirectedPostError(
        f"{url} redirected to {target} with HTTP {response.status_code}, which turns the POST "
        "into a GET and loses the POST body",
        hint=f"set {{server_url}} to the final address ({final})",
        **common,
    )


# ----------------------------------------------------------------------------------------------
# Translating httpx's exceptions
# ----------------------------------------------------------------------------------------------

_DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "no address associated",
    "name does not resolve",
    "name resolution",  # glibc's "Temporary" and "Non-recoverable failure in name resolution"
)
_TLS_MARKERS = ("certificate", "ssl", "tls", "handshake")
# OpenSSL's words for a TLS hello answered in plain HTTP (1.1/3.0, then 3.2 and newer).
_PLAIN_ANSWER = ("wrong version number", "record layer failure", "packet length too long")

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
    (httpx.DecodingError, ResponseError, "The answer from {url} could not be decoded"),
    (httpx.InvalidURL, ConfigurationError, "Invalid URL {url}"),
)


# aiohttp (LiteLLM's async transport) names the SSL setting in every connect failure
# ("Cannot connect to host h:443 ssl:<ssl.SSLContext ...>"): not a sign of a TLS failure.
_SSL_SETTING = re.compile(r"\bssl:(?:<[^>]*>|\S+)")


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what caused it, outermost first, each once (a chain can loop)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _chain_text(exc: BaseException) -> str:
    # Each message once: httpx repeats its cause's text (the message quotes it).
    return " ".join(dict.fromkeys(_SSL_SETTING.sub("", str(e)).lower() for e in _causes(exc)))


def _refine_connect_error(exc: Exception) -> type[OpenWebUIError] | None:
    """DNS or TLS when the cause says so: by the exception's type first (whichever transport
    raised it), then by the words of the message."""
    chain = _causes(exc)
    if any(isinstance(e, socket.gaierror) for e in chain):
        return DNSError
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return TLSError
    text = _chain_text(exc)
    if any(marker in text for marker in _DNS_MARKERS):
        return DNSError
    if any(marker in text for marker in _TLS_MARKERS):
        return TLSError
    return None


def tls_failure(
    exc: BaseException, url: str, names: Mapping[str, str] | None = None
) -> OpenWebUIError:
    """A TLS failure; `https://` to a server that answered in plain HTTP is a scheme, not a CA."""
    text = _chain_text(exc)
    if url.startswith("https://") and any(marker in text for marker in _PLAIN_ANSWER):
        return SchemeMismatchError(
            f"{url} answers in plain HTTP, not TLS ({_short(text)})",
            hint="use http:// in {server_url}",
            url=url,
            names=names,
        )
    return TLSError(f"Could not connect to {url}: {_short(str(exc))}", url=url, names=names)


def error_from_transport(
    exc: Exception, url: str, *, names: Mapping[str, str] | None = None
) -> OpenWebUIError:
    """Translate an httpx transport exception into the error for its layer."""
    for source, target, template in _TRANSPORT_TABLE:
        if isinstance(exc, source):
            if source is httpx.ConnectError:
                target = _refine_connect_error(exc) or target
            elif target is ServerUnreachableError and any(
                isinstance(e, ssl.SSLError) for e in _causes(exc)
            ):
                target = TLSError  # a handshake refused, as some transports report it
            if target is TLSError:
                return tls_failure(exc, url, names)
            setting = "server_url" if target is ConfigurationError else None
            reason = str(exc) or type(exc).__name__
            message = template.format(url=url) + f": {_short(reason)}"
            hint = None
            if url.startswith("http://") and source in (httpx.RemoteProtocolError, httpx.ReadError):
                # A TLS-only port drops a plain request without a word (nginx and Go answer 400).
                hint = (
                    "the server closed the connection without an answer: if that port speaks "
                    "TLS, use https:// in {server_url}; else check that the server is running"
                )
            return target(message, url=url, setting=setting, hint=hint, names=names)
    if _refine_connect_error(exc) is TLSError:
        # aiohttp's refused certificate arrives as a bare httpx.ProtocolError.
        return tls_failure(exc, url, names)
    return ServerUnreachableError(f"Request to {url} failed: {exc!r}", url=url, names=names)
