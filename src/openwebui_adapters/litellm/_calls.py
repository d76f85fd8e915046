"""LiteLLM's arguments in: one call's keyword arguments read once, the core client they ask for
(settings by LiteLLM's own names), and the OpenAI body they describe."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import httpx
import litellm

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._settings import Settings
from openwebui_adapters._tls import Verify

from . import _on_demand

__all__ = ["Call", "aiohttp_transport"]

# LiteLLM settings that arrive among `optional_params` but are not part of the request body
# (`ssl_verify` does before LiteLLM 1.110, which declares it a LiteLLM parameter; LiteLLM passes
# an argument it does not know, such as `api_key_header`, on as one).
_CLIENT_OPTIONS: Final = frozenset(
    {"max_retries", "extra_headers", "extra_body", "stream", "ssl_verify", "api_key_header"}
)


def _plain(value: Any) -> Any:
    """JSON-ready data from what LiteLLM callers pass (e.g. a previous response's `Message`)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(exclude_none=True)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _message(message: Any) -> dict[str, Any]:
    plain: dict[str, Any] = _plain(message)
    plain.pop("provider_specific_fields", None)  # LiteLLM's bookkeeping, not OpenAI's
    return plain


def _timeouts(timeout: float | httpx.Timeout | None) -> tuple[float | None, float | None]:
    """(read timeout, connect timeout) from what LiteLLM passes; None leaves the core's default."""
    if isinstance(timeout, httpx.Timeout):
        return timeout.read, timeout.connect
    return (float(timeout) if timeout is not None else None), None


def _litellm_tls_set() -> bool:
    """Whether the user set TLS in LiteLLM's own settings (`litellm.ssl_verify`, `SSL_VERIFY`)."""
    return litellm.ssl_verify is not True or bool(os.getenv("SSL_VERIFY"))


def _verify(litellm_params: Mapping[str, Any]) -> Verify | None:
    """The TLS trust LiteLLM's user configured, as LiteLLM itself resolves it (a per-call or
    per-deployment `ssl_verify`, else `SSL_VERIFY`/`litellm.ssl_verify`, `SSL_CERT_FILE`...);
    None when LiteLLM has none, leaving the core's own (`OPENWEBUI_VERIFY`, certifi)."""
    given = litellm_params.get("ssl_verify")
    request = litellm_params.get("proxy_server_request") or {}
    if isinstance(request, Mapping) and "ssl_verify" in (request.get("body") or {}):
        # A Proxy caller may not switch verification off (LiteLLM lets the body override).
        given = None
    if given is None and not _litellm_tls_set():
        return None
    from litellm.llms.custom_httpx.http_handler import get_ssl_configuration

    trust: Verify = get_ssl_configuration(given)  # an SSLContext LiteLLM caches, or False
    return trust


def aiohttp_transport(context: ssl.SSLContext) -> httpx.AsyncBaseTransport | None:
    """LiteLLM's aiohttp transport for this provider's async pool, as LiteLLM uses for `openai/`
    (httpcore's async pool scans every connection per request: at concurrency 50 that scan was
    the largest cost of a call); httpx's own when `litellm.disable_aiohttp_transport` is set.
    It trusts the connection's own SSL context, so async calls verify as sync ones do."""
    if getattr(litellm, "disable_aiohttp_transport", False):
        return None
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    # Public from LiteLLM 1.106 on, private before.
    create = getattr(AsyncHTTPHandler, "create_aiohttp_transport", None) or getattr(
        AsyncHTTPHandler, "_create_aiohttp_transport", None
    )
    if create is None:
        return None
    transport: httpx.AsyncBaseTransport = create(ssl_context=context)
    return transport


@dataclass
class Call:
    """What LiteLLM passes a custom provider's method, read once (LiteLLM passes keywords)."""

    model: str
    optional_params: Mapping[str, Any] = field(default_factory=dict)
    messages: list[Any] = field(default_factory=list)
    input: Any = None
    api_base: str | None = None
    api_key: str | None = None
    timeout: float | httpx.Timeout | None = None
    headers: Mapping[str, str] | None = None
    litellm_params: Mapping[str, Any] = field(default_factory=dict)
    logging_obj: Any = None
    model_response: Any = None
    remembered: bool = field(default=False, init=False)

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> Call:
        """The call from a handler method's keyword arguments (the ones it does not use, such
        as `print_verbose` or `encoding`, are left out)."""
        known = {name for name, spec in cls.__dataclass_fields__.items() if spec.init}
        return cls(**{k: v for k, v in arguments.items() if k in known and v is not None})

    @cached_property
    def client(self) -> OpenWebUIClient:
        """The core client for this call (cheap: equal settings share one connection)."""
        _on_demand.keep_installed()  # after a reload of LiteLLM's price list put a plain one
        extra_headers = {
            **(self.headers or {}),
            **(self.optional_params.get("extra_headers") or {}),
        }
        read_timeout, connect_timeout = _timeouts(self.timeout)
        settings = Settings.resolve(
            self.api_base,
            self.api_key,
            library="litellm",
            timeout=read_timeout,
            connect_timeout=connect_timeout,
            max_retries=self.optional_params.get("max_retries"),
            headers=extra_headers or None,
            verify=_verify(self.litellm_params),
            api_key_header=self.optional_params.get("api_key_header"),
        )
        return OpenWebUIClient.from_settings(settings, async_transport_factory=aiohttp_transport)

    def body(self) -> dict[str, Any]:
        """Every parameter LiteLLM collected, as the body's top-level keys (`extra_body` merged)."""
        params = self.optional_params
        body = {k: _plain(v) for k, v in params.items() if k not in _CLIENT_OPTIONS}
        # LiteLLM keeps `user` out of a custom provider's params; it is on the call's log record.
        details = getattr(self.logging_obj, "model_call_details", None) or {}
        if details.get("user") is not None and "user" not in body:
            body["user"] = details["user"]
        body.update(_plain(params.get("extra_body") or {}))
        body["model"] = self.model
        return body

    def remember_once(self) -> bool:
        """True the first time it is asked: a stream registers its model on its first chunk."""
        first, self.remembered = not self.remembered, True
        return first

    def chat_body(self) -> dict[str, Any]:
        return {**self.body(), "messages": [_message(m) for m in self.messages]}

    def embedding_body(self) -> dict[str, Any]:
        return {**self.body(), "input": self.input}
