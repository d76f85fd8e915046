"""Every failure as one `OpenWebUIError`, naming the layer that broke and the setting to change.

The tree only, grouped by layer in the order a request meets them (settings, network, timeout,
in front of Open WebUI, route, authentication, model, knowledge, request, upstream, response).
Reading an answer or a transport failure into one of these is `_diagnosis`'s work.

A setting is named as the user gave it: an error's `setting` and the `{server_url}`-style
placeholders of its texts are filled from the names the client was configured with
(`api_base` for LiteLLM, `base_url` for LangChain, `OPENWEBUI_SERVER_URL` from the environment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final

__all__ = [
    "API_KEY",
    "API_KEY_HEADER",
    "DEFAULT_NAMES",
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
    "FrontError",
    "GatewayTimeoutError",
    "KnowledgeError",
    "KnowledgeNotFoundError",
    "ModelNotFoundError",
    "NetworkError",
    "OpenWebUIError",
    "PermissionDeniedError",
    "ProxyAuthenticationError",
    "RateLimitError",
    "ReadTimeoutError",
    "RedirectedPostError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "ResponseError",
    "RouteError",
    "SchemeMismatchError",
    "ServerError",
    "ServerUnreachableError",
    "SignInRequiredError",
    "TLSError",
]

# The environment's names of the settings (what a message names when nothing else is known).
SERVER_URL: Final = "OPENWEBUI_SERVER_URL"
API_KEY: Final = "OPENWEBUI_API_KEY"
API_KEY_HEADER: Final = "OPENWEBUI_API_KEY_HEADER"
MODEL: Final = "model"
VERIFY: Final = "verify"
TIMEOUT: Final = "timeout"

DEFAULT_NAMES: Final[Mapping[str, str]] = {
    "server_url": SERVER_URL,
    "api_key": API_KEY,
    "api_key_header": API_KEY_HEADER,
    "verify": VERIFY,
    "timeout": TIMEOUT,
    "connect_timeout": "connect_timeout",
    "max_retries": "max_retries",
    "headers": "headers",
    "model": MODEL,
}
"""Setting key -> the name a message uses when the client's own names are not known."""

_PLACEHOLDER = re.compile(r"\{(" + "|".join(DEFAULT_NAMES) + r")\}")


def _named(text: str, names: Mapping[str, str]) -> str:
    """`text` with each `{setting_key}` replaced by that setting's name (other braces kept)."""
    return _PLACEHOLDER.sub(lambda m: names.get(m[1]) or DEFAULT_NAMES[m[1]], text)


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
        names: Mapping[str, str] | None = None,
        status_code: int | None = None,
        url: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        names = names or {}
        # `setting=""`: no setting is to blame (None: the class's own).
        key = self.default_setting if setting is None else setting
        self.message = _named(message, names)
        self.hint = _named(hint or self.default_hint, names)
        # A setting key is shown by its name; anything else (a call's parameter) as given.
        self.setting = (names.get(key) or DEFAULT_NAMES.get(key) or key) if key else None
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
    default_setting = "server_url"
    default_hint = "check the host and port in {server_url} and that the server is up"


class DNSError(NetworkError):
    """The host name in the server URL does not resolve."""

    layer = "dns"
    default_hint = "the host name does not resolve: fix the host in {server_url}"


class ServerUnreachableError(NetworkError):
    """The connection was refused, dropped or the host is unreachable."""

    default_hint = (
        "nothing answered at that address: check the port in {server_url}, "
        "that the server is running, and any firewall or VPN"
    )


class SchemeMismatchError(NetworkError):
    """`https://` for a server that speaks plain HTTP, or `http://` for a TLS-only port."""

    default_hint = "use the scheme the server speaks in {server_url}"


class TLSError(NetworkError):
    """The TLS handshake failed, usually an unverified certificate."""

    layer = "tls"
    default_setting = "verify"
    default_hint = (
        "the certificate was not verified: pass {verify}='/path/to/ca-bundle.pem' "
        "(or set SSL_CERT_FILE); use http:// only if the server has no TLS"
    )


# --- timeout: the server did not answer in time
class RequestTimeoutError(OpenWebUIError):
    """The server did not answer within the configured timeout."""

    layer = "timeout"
    default_setting = "timeout"
    default_hint = "raise the timeout, or check that the server and its model backend are healthy"


class ConnectTimeoutError(RequestTimeoutError):
    """No connection could be made within the connect timeout."""

    default_setting = "server_url"
    default_hint = (
        "the connection was not accepted in time: check the host and port in "
        "{server_url}, firewalls and VPNs, or raise connect_timeout"
    )


class ReadTimeoutError(RequestTimeoutError):
    """The server accepted the request but sent no answer within the read timeout."""


# --- in front: a reverse proxy, SSO gate, CDN or firewall answered instead of Open WebUI
class FrontError(OpenWebUIError):
    """Something in front of Open WebUI (a reverse proxy, sign-in gate or CDN) refused the call."""

    layer = "in front"
    default_hint = "ask whoever runs the proxy in front of Open WebUI; the answer is quoted above"


class RequestTooLargeError(FrontError):
    """The request is larger than the proxy in front of Open WebUI accepts (413)."""

    default_setting = None
    default_hint = (
        "send less (fewer or smaller messages, images or files), or ask the admin to raise the "
        "proxy's body limit (nginx: client_max_body_size, 1 MB by default)"
    )


class ProxyAuthenticationError(FrontError):
    """The proxy in front of Open WebUI asks for its own credentials (401/407 with a challenge)."""

    default_setting = "headers"
    default_hint = (
        "send the proxy's credentials too: user:password@ in {server_url} with the key in "
        "{api_key_header}=x-api-key, or the proxy's header in {headers}"
    )


class SignInRequiredError(FrontError):
    """A sign-in gate (SSO) in front of Open WebUI sent the call to its sign-in page."""

    default_setting = "headers"
    default_hint = (
        "a program cannot sign in through a browser page: send the gate's service token in "
        "{headers} (Cloudflare Access: CF-Access-Client-Id and CF-Access-Client-Secret), or ask "
        "the admin to exempt /api/ from the sign-in gate"
    )


# --- route: the URL reached a server, but not Open WebUI's API
class RouteError(OpenWebUIError):
    """The URL reached a server but not Open WebUI's API (404, 405 or the web UI's page)."""

    layer = "route"
    default_setting = "server_url"
    default_hint = (
        "set {server_url} to the address you open in the browser, with no API path "
        "(e.g. https://chat.example.com, or https://example.com/webui for a sub-path)"
    )


class RedirectedPostError(RouteError):
    """A 301/302/303 redirect would turn the POST into a GET: the URL is not the final address."""


# --- authentication and permission
class AuthenticationError(OpenWebUIError):
    """The server refused the API key (401)."""

    layer = "authentication"
    default_setting = "api_key"
    default_hint = (
        "create a key in Open WebUI under Settings > Account > API keys and set {api_key}"
    )


class PermissionDeniedError(OpenWebUIError):
    """The key is valid but not allowed to do this (403)."""

    layer = "permission"
    default_setting = "api_key"
    default_hint = "ask the Open WebUI admin for access; the server's reason is quoted above"


# --- model
class ModelNotFoundError(OpenWebUIError):
    """The server has no model by that name, even after resolving it against the model list."""

    layer = "model"
    default_setting = "model"
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


class GatewayTimeoutError(ServerError):
    """The proxy in front of Open WebUI gave up waiting for its answer (504): its timeout, not ours."""

    default_hint = (
        "pass stream=True (tokens keep the connection busy), or ask the admin to raise the "
        "proxy's read timeout (nginx: proxy_read_timeout, 60 s by default)"
    )


# --- response: an answer that cannot be used
class ResponseError(OpenWebUIError):
    """The answer was unusable: not JSON, or a stream that ended before `[DONE]`."""

    layer = "response"
    default_hint = (
        "the answer was incomplete or malformed and was not returned; retry, and report it "
        "to the Open WebUI admin if it repeats"
    )
