"""The fault matrix: every failure ends in a clear error, in time, with the retries configured and
without the key, through the core and each adapter.

One table. A row is a fault (set up on the fault server, or a bad setting) and what it must give:
the core's error class, its `layer` and `setting`, how many attempts reach the server, and a time
bound. The columns are the libraries, each with the class its users catch (the core twice: sync
and async). Every (row, library) pair runs once against real sockets on 127.0.0.1.

Attempts are `max_retries + 1` in every column, smolagents included: its own rate-limit retry is
left only the rate limits the core does not retry (`max_retries=0`; see test_retry_layers.py).
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from server import (
    CHAT,
    MODELS,
    BlackHole,
    FaultServer,
    chunk,
    closed_port,
    echoing_key,
    front,
    ok_chat,
    raw,
    reset_before_answer,
    sample,
    sequence,
    sse,
    stall_after_headers,
    status,
    stream_events,
)

from openwebui_adapters import errors
from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._sending import BACKOFF_BASE, BACKOFF_CAP
from openwebui_adapters._settings import check_api_key

TIMEOUT = 0.5  # the only timeout a test sets: it bounds connecting and reading alike
RETRIES = 2
MODEL = "llama3:latest"
SLACK = 1.5  # seconds for thread scheduling on a loaded 2-core machine


@dataclass
class Scene:
    """What a row's setup can ask for; everything started here is stopped after the test."""

    server: FaultServer
    tls: ssl.SSLContext
    stack: contextlib.ExitStack
    counted: FaultServer | None = None  # the server whose requests are counted

    def __post_init__(self) -> None:
        self.counted = self.server

    def black_hole(self) -> str:
        hole = BlackHole()
        self.stack.callback(hole.close)
        return hole.url

    def tls_server(self) -> str:
        server = self.stack.enter_context(FaultServer(tls=self.tls))
        self.counted = server
        return server.url


Setup = Callable[[Scene], str]  # arranges the fault, returns the server URL to use


def serve(path: str, behaviour: Any) -> Setup:
    def setup(scene: Scene) -> str:
        scene.server.route(path, behaviour)
        return scene.server.url

    return setup


def chat_fault(behaviour: Any) -> Setup:
    return serve(CHAT, behaviour)


def url_is(make: Callable[[Scene], str]) -> Setup:
    return make


def _ok(scene: Scene) -> str:
    return scene.server.url


def under_a_page(page: str) -> Setup:
    """The browser's address of a page: Open WebUI (its `/api/version`) at the server root."""

    def setup(scene: Scene) -> str:
        scene.server.route("/api/version", status(200, {"version": "0.12.4"}))
        return scene.server.url + page

    return setup


def session_token(canary: str) -> str:
    """A JWT shaped like Open WebUI's session token, the canary as its signature."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"id": "user-1", "exp": int(time.time()) + 86400}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{canary}"


@dataclass(frozen=True)
class Fault:
    """A row: the fault, and what each library must raise."""

    id: str
    setup: Setup
    error: type[errors.OpenWebUIError] | None  # None: the call succeeds after retries
    layer: str | None
    setting: str | None
    attempts: int  # requests (or connections) the core makes
    litellm: str | None
    langchain: str | None
    smolagents: str | None
    stream: bool = False
    counted_by: str = "requests"  # requests at the server | connections | backoff calls
    model: str = MODEL
    key: Callable[[str], str] = field(default=lambda canary: canary)
    retry_after: float | None = None
    seconds: float = SLACK  # wall-time bound beyond the timeouts the attempts may spend
    waits: int = 0  # attempts that end in a timeout (each may spend TIMEOUT)


# LangChain's classes are the `langchain_core.exceptions` `Model*Error`s; the core twin is
# checked separately. LiteLLM's are `litellm.exceptions.<name>`. smolagents has no error classes of its
# own: its users catch the core's errors.
CONN, TIME, AUTH, PERM, NOTF, INV, RATE, API = (
    "ModelConnectionError",
    "ModelTimeoutError",
    "ModelAuthenticationError",
    "ModelPermissionDeniedError",
    "ModelNotFoundError",
    "ModelInvalidRequestError",
    "ModelRateLimitError",
    "ModelAPIError",
)
# The settings a row blames, by the core's key; each library names them its own way (below).
SRV, URL, KEY = "server_url", "api_key", "model"
# LiteLLM wraps every failure after a stream's first chunk, from any provider, in its
# MidStreamFallbackError (the Router falls back on it; `.original_exception` is the APIError).
MID = "MidStreamFallbackError"
E = errors

# fmt: off
FAULTS: list[Fault] = [
    # -- network: the server cannot be reached
    Fault("dns-name-does-not-resolve", url_is(lambda s: "http://openwebui-faults.invalid:3000"),
          E.DNSError, "dns", SRV, 1, "APIConnectionError", CONN, "DNSError", counted_by="backoff"),
    Fault("port-closed", url_is(lambda s: f"http://127.0.0.1:{closed_port()}"),
          E.ServerUnreachableError, "network", SRV, 3, "APIConnectionError", CONN,
          "ServerUnreachableError", counted_by="backoff"),
    Fault("connect-timeout", url_is(lambda s: s.black_hole()),
          E.ConnectTimeoutError, "timeout", SRV, 3, "Timeout", TIME, "ConnectTimeoutError",
          counted_by="backoff", waits=3),
    Fault("tls-self-signed", url_is(lambda s: s.tls_server()),
          E.TLSError, "tls", "verify", 1, "APIConnectionError", CONN, "TLSError",
          counted_by="connections"),
    Fault("reset-before-answer", chat_fault(reset_before_answer()),
          E.ServerUnreachableError, "network", SRV, 3, "APIConnectionError", CONN,
          "ServerUnreachableError"),
    # -- route, authentication, permission, model: what the real server answers
    Fault("401-bad-key", chat_fault(sample("err_badkey_chat")),
          E.AuthenticationError, "authentication", URL, 1, "AuthenticationError", AUTH,
          "AuthenticationError"),
    Fault("401-echoes-key", chat_fault(echoing_key(401)),
          E.AuthenticationError, "authentication", URL, 1, "AuthenticationError", AUTH,
          "AuthenticationError"),
    Fault("401-bad-key-stream", chat_fault(sample("err_badkey_chat")),
          E.AuthenticationError, "authentication", URL, 1, "AuthenticationError", AUTH,
          "AuthenticationError", stream=True),
    Fault("403-api-keys-disabled", chat_fault(sample("err_apikeys_disabled_chat")),
          E.PermissionDeniedError, "permission", URL, 1, "PermissionDeniedError", PERM,
          "PermissionDeniedError"),
    Fault("404-not-found", chat_fault(status(404, {"detail": "Not Found"})),
          E.RouteError, "route", SRV, 1, "NotFoundError", CONN, "RouteError"),
    Fault("405-method-not-allowed", chat_fault(sample("err_put_chat")),
          E.RouteError, "route", SRV, 1, "NotFoundError", CONN, "RouteError"),
    Fault("200-html-page", chat_fault(sample("err_get_chat")),
          E.RouteError, "route", SRV, 1, "NotFoundError", CONN, "RouteError"),
    Fault("400-model-not-found", chat_fault(sample("err_unknown_model_chat")),
          E.ModelNotFoundError, "model", KEY, 1, "NotFoundError", NOTF, "ModelNotFoundError",
          model="gpt-5-turbo"),
    Fault("400-model-not-found-stream", chat_fault(sample("err_unknown_model_chat_stream")),
          E.ModelNotFoundError, "model", KEY, 1, "NotFoundError", NOTF, "ModelNotFoundError",
          model="gpt-5-turbo", stream=True),
    Fault("422-invalid-body", chat_fault(sample("err_invalid_json")),
          E.BadRequestError, "request", None, 1, "BadRequestError", INV, "BadRequestError"),
    # -- rate limits and the upstream: retried with backoff
    Fault("429-retry-after", chat_fault(sample("err_upstream_429_chat", Retry_After="1")),
          E.RateLimitError, "rate_limit", None, 3, "RateLimitError", RATE, "RateLimitError",
          retry_after=1.0),
    Fault("429-no-retry-after", chat_fault(sample("err_upstream_429_chat")),
          E.RateLimitError, "rate_limit", None, 3, "RateLimitError", RATE, "RateLimitError"),
    Fault("429-retry-after-too-long", chat_fault(sample("err_upstream_429_chat", Retry_After="120")),
          E.RateLimitError, "rate_limit", None, 1, "RateLimitError", RATE, "RateLimitError",
          retry_after=120.0),
    Fault("500-internal", chat_fault(status(500, {"error": {"message": "boom"}})),
          E.ServerError, "upstream", None, 3, "InternalServerError", API, "ServerError"),
    Fault("502-bad-gateway", chat_fault(raw(502, b"<html>502 Bad Gateway</html>", "text/plain")),
          E.ServerError, "upstream", None, 3, "BadGatewayError", API, "ServerError"),
    Fault("503-unavailable", chat_fault(status(503, {"detail": "Service Unavailable"})),
          E.ServerError, "upstream", None, 3, "ServiceUnavailableError", API, "ServerError"),
    Fault("503-unavailable-stream", chat_fault(status(503, {"detail": "Service Unavailable"})),
          E.ServerError, "upstream", None, 3, "ServiceUnavailableError", API, "ServerError",
          stream=True),
    Fault("504-gateway-timeout", chat_fault(status(504, {"detail": "Gateway Timeout"})),
          E.ServerError, "upstream", None, 3, "Timeout", API, "ServerError"),
    Fault("500-server-connection-error", chat_fault(sample("err_upstream_down_chat")),
          E.ServerError, "upstream", None, 3, "InternalServerError", API, "ServerError"),
    Fault("503-then-ok", chat_fault(sequence(status(503, {"detail": "busy"}), ok_chat)),
          None, None, None, 2, None, None, None),
    Fault("503-then-ok-stream", chat_fault(sequence(status(503, {"detail": "busy"}), ok_chat)),
          None, None, None, 2, None, None, None, stream=True),
    Fault("stream-upstream-error-event",
          chat_fault(sse(['{"error": {"message": "upstream crashed"}}'])),
          E.ServerError, "upstream", None, 1, "InternalServerError", API, "ServerError",
          stream=True),
    # -- response: answers that cannot be used
    Fault("200-not-json", chat_fault(raw(200, b"<<not json>>")),
          E.ResponseError, "response", None, 1, "APIError", API, "ResponseError"),
    Fault("200-not-json-echoes-key", chat_fault(echoing_key(200, "text")),
          E.ResponseError, "response", None, 1, "APIError", API, "ResponseError"),
    Fault("200-empty-body", chat_fault(raw(200, b"")),
          E.ResponseError, "response", None, 1, "APIError", API, "ResponseError"),
    Fault("stream-stops-before-done", chat_fault(sse(stream_events(MODEL)[:2], done=False)),
          E.ResponseError, "response", None, 1, MID, API, "ResponseError", stream=True),
    Fault("stream-reset-midway",
          chat_fault(sse(stream_events(MODEL)[:2], done=False, then=lambda c: c.reset())),
          E.ResponseError, "response", None, 1, MID, API, "ResponseError", stream=True),
    Fault("stream-line-not-json", chat_fault(sse([chunk(MODEL, "Hi"), "{not json"])),
          E.ResponseError, "response", None, 1, MID, API, "ResponseError", stream=True),
    Fault("stream-line-echoes-key", chat_fault(echoing_key(200, "sse")),
          E.ResponseError, "response", None, 1, MID, API, "ResponseError", stream=True),
    Fault("read-timeout-after-headers", chat_fault(stall_after_headers()),
          E.ReadTimeoutError, "timeout", "timeout", 1, "Timeout", TIME, "ReadTimeoutError",
          waits=1),
    Fault("read-timeout-after-headers-stream", chat_fault(stall_after_headers("text/event-stream")),
          E.ReadTimeoutError, "timeout", "timeout", 1, "Timeout", TIME, "ReadTimeoutError",
          stream=True, waits=1),
    # -- bad input from the user: nothing is sent
    Fault("empty-url", url_is(lambda s: ""),
          E.ConfigurationError, "settings", SRV, 0, "BadRequestError", "ConfigurationError",
          "ConfigurationError"),
    Fault("malformed-url", url_is(lambda s: "http://127.0.0.1:port/"),
          E.ConfigurationError, "settings", SRV, 0, "BadRequestError", "ConfigurationError",
          "ConfigurationError"),
    Fault("empty-model", _ok,
          E.ConfigurationError, "settings", KEY, 0, "BadRequestError", "ConfigurationError",
          "ConfigurationError", model=""),
    Fault("key-with-whitespace", _ok,
          E.ConfigurationError, "settings", URL, 0, "BadRequestError", "ConfigurationError",
          "ConfigurationError", key=lambda canary: canary[:12] + " " + canary[12:]),
    # -- what people paste (issue 17)
    Fault("pasted-chat-address", under_a_page("/c/6f1d2c9e-0b1a-4c55-9d7e"),
          None, None, None, 1, None, None, None),
    Fault("pasted-unknown-page", under_a_page("/webui-old/some/page"),
          None, None, None, 1, None, None, None),
    Fault("pasted-unknown-page-stream", under_a_page("/webui-old/some/page"),
          None, None, None, 1, None, None, None, stream=True),
    Fault("pasted-unknown-page-nothing-answers", url_is(lambda s: s.server.url + "/x/y"),
          E.RouteError, "route", SRV, 1, "NotFoundError", CONN, "RouteError",
          counted_by="backoff"),  # its one chat request went to /x/y/api/chat/completions
    Fault("url-credentials-without-key-header",
          url_is(lambda s: s.server.url.replace("://", "://proxyuser:proxy-pass-1234@")),
          E.ConfigurationError, "settings", SRV, 0, "BadRequestError", "ConfigurationError",
          "ConfigurationError"),
    Fault("key-in-typographic-quotes", _ok, None, None, None, 1, None, None, None,
          key=lambda canary: f"\u201c{canary}\u201d\u00a0"),
    Fault("key-with-a-quote-inside", _ok,
          E.ConfigurationError, "settings", URL, 0, "BadRequestError", "ConfigurationError",
          "ConfigurationError", key=lambda canary: canary[:12] + "\u201d" + canary[12:]),
    Fault("session-token-jwt", _ok, None, None, None, 1, None, None, None, key=session_token),
    # -- in front of Open WebUI: real answers of nginx and Caddy (tests/data/front/)
    Fault("413-nginx-body-limit", chat_fault(front("nginx_413_body_too_large")),
          E.RequestTooLargeError, "in front", None, 1, "BadRequestError", INV,
          "RequestTooLargeError"),
    Fault("401-nginx-basic-auth", chat_fault(front("nginx_401_basic_auth")),
          E.ProxyAuthenticationError, "in front", "headers", 1, "AuthenticationError", AUTH,
          "ProxyAuthenticationError"),
    Fault("302-sign-in-gate", chat_fault(front("nginx_302_signin")),
          E.SignInRequiredError, "in front", "headers", 1, "AuthenticationError", AUTH,
          "SignInRequiredError"),
    Fault("302-sign-in-gate-stream", chat_fault(front("nginx_302_signin")),
          E.SignInRequiredError, "in front", "headers", 1, "AuthenticationError", AUTH,
          "SignInRequiredError", stream=True),
    Fault("502-nginx-open-webui-down", chat_fault(front("nginx_502_upstream_closed")),
          E.ServerError, "upstream", None, 3, "BadGatewayError", API, "ServerError"),
    Fault("502-caddy-open-webui-down", chat_fault(front("caddy_502_upstream_closed")),
          E.ServerError, "upstream", None, 3, "BadGatewayError", API, "ServerError"),
    Fault("504-nginx-read-timeout", chat_fault(front("nginx_504_upstream_timeout")),
          E.GatewayTimeoutError, "upstream", None, 3, "Timeout", TIME, "GatewayTimeoutError"),
    Fault("403-nginx-allow-list", chat_fault(front("nginx_403_deny")),
          E.PermissionDeniedError, "permission", None, 1, "PermissionDeniedError", PERM,
          "PermissionDeniedError"),
    Fault("400-nginx-http-to-https-port", chat_fault(front("nginx_400_http_to_https_port")),
          E.SchemeMismatchError, "network", SRV, 1, "APIConnectionError", CONN,
          "SchemeMismatchError"),
    Fault("200-caddy-no-route", chat_fault(front("caddy_200_no_route")),
          E.RouteError, "route", SRV, 1, "NotFoundError", CONN, "RouteError"),
]
# fmt: on


# -- the columns: one call through each library --------------------------------------------------
MESSAGES = [{"role": "user", "content": "Say hello."}]


@dataclass
class Call:
    """What a user passes: the URL, the key, the model, and whether to stream."""

    url: str
    key: str
    model: str
    stream: bool
    # Objects built for the call (their repr is checked for the key).
    made: list[Any] = field(default_factory=list)


def run_core(call: Call) -> Any:
    client = OpenWebUIClient(call.url, call.key, timeout=TIMEOUT, max_retries=RETRIES)
    call.made.append(client)
    payload = {"model": call.model, "messages": MESSAGES}
    if call.stream:
        return "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in client.stream_chat(payload)
            if c.get("choices")
        )
    return client.chat(payload)["choices"][0]["message"]["content"]


def run_core_async(call: Call) -> Any:
    """The core's async twins (`achat`, `astream_chat`): their own retry loop, same guarantees."""
    import asyncio

    async def main() -> Any:
        client = OpenWebUIClient(call.url, call.key, timeout=TIMEOUT, max_retries=RETRIES)
        call.made.append(client)
        payload = {"model": call.model, "messages": MESSAGES}
        if call.stream:
            parts = [
                c["choices"][0]["delta"].get("content") or ""
                async for c in client.astream_chat(payload)
                if c.get("choices")
            ]
            return "".join(parts)
        return (await client.achat(payload))["choices"][0]["message"]["content"]

    return asyncio.run(main())


def run_langchain(call: Call) -> Any:
    from openwebui_adapters.langchain import ChatOpenWebUI

    model = ChatOpenWebUI(
        model=call.model,
        base_url=call.url,
        api_key=call.key,
        timeout=TIMEOUT,
        max_retries=RETRIES,
    )
    call.made.append(model)
    if call.stream:
        return "".join(str(chunk.content) for chunk in model.stream(MESSAGES[0]["content"]))
    return model.invoke(MESSAGES[0]["content"]).content


def run_litellm(call: Call) -> Any:
    import litellm

    import openwebui_adapters.litellm  # noqa: F401  (registers the provider)

    response = litellm.completion(
        model=f"openwebui/{call.model}",
        messages=MESSAGES,
        api_base=call.url,
        api_key=call.key,
        timeout=TIMEOUT,
        max_retries=RETRIES,
        stream=call.stream,
    )
    if call.stream:
        return "".join(part.choices[0].delta.content or "" for part in response if part.choices)
    return response.choices[0].message.content


def run_smolagents(call: Call) -> Any:
    from smolagents.models import ChatMessage, MessageRole

    from openwebui_adapters.smolagents import OpenWebUIModel

    model = OpenWebUIModel(
        model_id=call.model,
        api_base=call.url,
        api_key=call.key,
        timeout=TIMEOUT,
        max_retries=RETRIES,
    )
    call.made.append(model)
    messages = [ChatMessage(role=MessageRole.USER, content=MESSAGES[0]["content"])]
    if call.stream:
        return "".join(delta.content or "" for delta in model.generate_stream(messages))
    return model.generate(messages).content


@dataclass(frozen=True)
class Library:
    run: Callable[[Call], Any]
    module: str  # the adapter module; the column is skipped while it does not exist
    classes: str  # the module holding the classes named in the column

    def expected(self, fault: Fault, name: str | None) -> type[BaseException] | None:
        if name is None:
            return None
        if hasattr(errors, name) and self.classes != "litellm.exceptions":
            return getattr(errors, name)  # type: ignore[no-any-return]
        return getattr(importlib.import_module(self.classes), name)  # type: ignore[no-any-return]


LIBRARIES = {
    "core": Library(run_core, "openwebui_adapters._client", "openwebui_adapters.errors"),
    "core-async": Library(
        run_core_async, "openwebui_adapters._client", "openwebui_adapters.errors"
    ),
    "litellm": Library(run_litellm, "openwebui_adapters.litellm", "litellm.exceptions"),
    "langchain": Library(
        run_langchain, "openwebui_adapters.langchain", "langchain_core.exceptions"
    ),
    "smolagents": Library(
        run_smolagents, "openwebui_adapters.smolagents", "openwebui_adapters.errors"
    ),
}
LOGGERS = (
    "httpx",
    "httpcore",
    "LiteLLM",
    "litellm",
    "langchain",
    "langchain_core",
    "smolagents",
    "openwebui_adapters",
)


# What each library calls a setting its users passed (the rows pass URL, key and model).
NAMES: dict[str, dict[str, str]] = {
    "core": {"server_url": "server_url", "api_key": "api_key", "model": "model",
             "verify": "verify", "timeout": "timeout", "headers": "headers"},
    "litellm": {"server_url": "api_base", "api_key": "api_key", "model": "model",
                "verify": "ssl_verify", "timeout": "timeout", "headers": "extra_headers"},
    "langchain": {"server_url": "base_url", "api_key": "api_key", "model": "model",
                  "verify": "verify", "timeout": "timeout", "headers": "default_headers"},
    "smolagents": {"server_url": "api_base", "api_key": "api_key", "model": "model_id",
                   "verify": "verify", "timeout": "timeout", "headers": "headers"},
}  # fmt: skip


def column(fault: Fault, library: str) -> str | None:
    if library.startswith("core"):
        return fault.error.__name__ if fault.error else None
    return getattr(fault, library, None)  # type: ignore[no-any-return]


def error_chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [e for e in (current.__cause__, current.__context__) if e is not None]


def core_error(error: BaseException) -> errors.OpenWebUIError:
    """The OpenWebUIError a library's exception is, or carries as its cause."""
    found = next((e for e in error_chain(error) if isinstance(e, errors.OpenWebUIError)), None)
    assert found is not None, f"{type(error).__name__} carries no OpenWebUIError: {error!r}"
    return found


def secrets_in(key: str, canary: str) -> list[str]:
    return [key, canary, *(part for part in key.split() if len(part) >= 8)]


def attempts_made(fault: Fault, scene: Scene, calls: int) -> int:
    assert scene.counted is not None
    if fault.counted_by == "connections":
        return scene.counted.accepted
    if fault.counted_by == "backoff":
        return calls + 1
    return scene.counted.hits(CHAT)


@pytest.mark.parametrize("library", list(LIBRARIES))
@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_fault(
    fault: Fault,
    library: str,
    fault_server: FaultServer,
    self_signed: ssl.SSLContext,
    backoff: Any,
    canary: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lib = LIBRARIES[library]
    pytest.importorskip(lib.module, reason=f"{lib.module} is not written yet")
    if library == "smolagents":
        monkeypatch.setattr("smolagents.models.RETRY_WAIT", 0)  # its own 60 s rate-limit pause
    for name in ("", *LOGGERS):
        caplog.set_level(logging.DEBUG, logger=name or None)

    with contextlib.ExitStack() as stack:
        scene = Scene(fault_server, self_signed, stack)
        # The key is made once: a session token's expiry is read from the clock.
        call = Call(fault.setup(scene), fault.key(canary), fault.model, fault.stream)
        started = time.monotonic()
        raised: BaseException | None = None
        try:
            result = lib.run(call)
        except Exception as exc:  # the row says whether anything may be raised
            raised = exc
        elapsed = time.monotonic() - started
        attempts = attempts_made(fault, scene, len(backoff.calls))
        requests = list(scene.counted.requests) if scene.counted else []

    # The class each library's users catch, naming the layer and the setting, with a fix.
    if fault.error is None:
        assert raised is None, f"expected success, got {raised!r}"
        assert result == "Hello from the fault server." or result == "Hello there."
    else:
        assert raised is not None, f"expected {column(fault, library)}, got a result: {result!r}"
        expected = lib.expected(fault, column(fault, library))
        assert expected is not None
        assert isinstance(raised, expected), f"{type(raised).__mro__} is not a {expected}"
        error = core_error(raised)
        if library.startswith("core"):
            assert type(error) is fault.error
        else:
            assert isinstance(error, fault.error), f"{error!r} is not a {fault.error.__name__}"
        named = NAMES["core" if library.startswith("core") else library]
        setting = named[fault.setting] if fault.setting else None
        assert (error.layer, error.setting) == (fault.layer, setting), repr(error)
        message = str(raised)
        assert "Fix: " in message, message
        assert error.hint, repr(error)
        assert error.hint in message, message
        if isinstance(error, errors.ModelNotFoundError):
            assert error.suggestions, "a missing model should come with the closest ids"
            assert error.model == fault.model
            assert fault_server.hits(MODELS) >= 1
        if isinstance(error, errors.RateLimitError):
            assert error.retry_after == fault.retry_after

    # Retries exactly as configured, with exponential backoff (full jitter) or Retry-After.
    assert attempts == fault.attempts, f"{attempts} attempts, expected {fault.attempts}"
    assert [a for a, _, _ in backoff.calls] == list(range(1, max(attempts - 1, 0) + 1))
    for attempt, retry_after, delay in backoff.calls:
        if fault.retry_after is not None:
            assert (retry_after, delay) == (fault.retry_after, fault.retry_after)
        else:
            assert retry_after is None
            assert 0 <= delay <= min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))

    # Bounded by the configured timeout (backoff sleeps are shrunk to nothing here).
    assert elapsed <= fault.waits * TIMEOUT + fault.seconds, f"took {elapsed:.2f} s"
    if fault.waits:
        assert elapsed >= fault.waits * TIMEOUT * 0.9, f"gave up after {elapsed:.2f} s"

    # The key travels in the Authorization header and nowhere else.
    captured = capsys.readouterr()
    texts = [captured.out, captured.err]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), repr(record.__dict__)]
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
    if raised is not None:
        for exc in error_chain(raised):
            texts += [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
    texts += [text for made in call.made for text in (repr(made), str(made))]
    for secret in secrets_in(call.key, canary):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"the key leaked: {leaks[0][:300]}"
    for request in requests:
        assert canary not in request.target
        assert canary.encode() not in request.body
        assert request.headers.get("authorization") == f"Bearer {check_api_key(call.key)}"
