"""The doctor: walk the layers in order (settings, DNS, TCP, TLS, what answers, the key, models,
chat) and say, for the first one that fails, which setting to change.

Each HTTP check goes through the client's own plans, so the doctor diagnoses an answer exactly
as a call would: a reverse proxy, a sign-in gate or a CDN in front of Open WebUI is named as
such, with its own fix. A key the admin restricted to some endpoints may be refused the model
list while the chat works: the doctor says so and goes on to the checks the key may pass.
"""

from __future__ import annotations

import concurrent.futures
import os
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ._catalog import ModelInfo
from ._client import OpenWebUIClient
from ._connection import get_connection
from ._diagnosis import error_from_response, responder, tls_failure
from ._discovery import VERSION_PATH, open_webui_version, walk
from ._model_facts import facts_for
from ._pasted import describe_session_token, session_token_claims, split_userinfo, strip_pasted
from ._plan import Plan
from ._server_versions import tested_range, untested_note
from ._settings import Settings
from .errors import (
    SERVER_URL,
    AuthenticationError,
    ConfigurationError,
    ConnectTimeoutError,
    DNSError,
    ModelNotFoundError,
    OpenWebUIError,
    PermissionDeniedError,
    ResponseError,
    RouteError,
    SchemeMismatchError,
    ServerUnreachableError,
    TLSError,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._settings import ConnectionOptions

__all__ = ["CheckResult", "Doctor", "default_model", "format_result", "no_model_note"]

PROMPT = "Reply with the single word OK."
DOCTOR_CHAT_TIMEOUT = 120.0
MODEL_ENV = "OPENWEBUI_MODEL"


@dataclass(frozen=True)
class CheckResult:
    """One layer's verdict: `ok` is None when the check was skipped."""

    name: str
    ok: bool | None
    detail: str
    setting: str | None = None
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (`doctor --json`)."""
        status = {True: "ok", False: "fail", None: "skip"}[self.ok]
        return {"check": self.name, "status": status, "detail": self.detail,
                "setting": self.setting, "hint": self.hint}  # fmt: skip


def default_model(models: Sequence[ModelInfo]) -> ModelInfo:
    """The model to use when none is named (the doctor's and `chat`'s): the first listed that is
    not for embeddings, by what the list says or its name; ModelNotFoundError if there is none."""
    if not models:
        raise ModelNotFoundError(
            "The server lists no models for this key",
            setting="",
            hint="ask the Open WebUI admin to grant this user access to models",
        )

    def embedding_only(model: ModelInfo) -> bool:
        caps = facts_for(model.id, models).capabilities
        return bool(caps.embedding and not caps.chat) or "embed" in model.id.casefold()

    return next((m for m in models if not embedding_only(m)), models[0])


def no_model_note(model_id: str) -> str:
    """What the doctor and `chat` say when they picked the model themselves."""
    return f"no model given (--model or {MODEL_ENV}); using {model_id!r}"


def _refused_everywhere(client: OpenWebUIClient) -> Plan[bool]:
    """Whether the chat route refuses this key too (API keys off), or only the list (a key
    restricted to some endpoints): an empty chat body is answered 403 only when refused."""
    request = client._sender.outgoing("POST", "/api/chat/completions", {})
    response = yield from client._sender.exchange(request)
    return response.status_code == 403


class Doctor:
    """Runs the checks; each one that passes feeds the next what it found."""

    def __init__(
        self,
        server_url: str | None = None,
        api_key: str | None = None,
        *,
        model: str | None = None,
        environ: Mapping[str, str] | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        self._server_url = server_url
        self._api_key = api_key
        self._environ = environ
        self._options = options
        self._notes: dict[str, str] = {}
        self.model = model
        self.settings: Settings | None = None
        self.client: OpenWebUIClient | None = None
        self.model_id: str | None = None
        self._models: list[ModelInfo] = []
        self._list_refused = False
        self._front: str | None = None

    # -- the checks, in order ------------------------------------------------------------------
    def _given_url(self) -> str:
        """The server URL as given (argument or environment), credentials and all."""
        env = os.environ if self._environ is None else self._environ
        given = self._server_url
        return str(given if given is not None else env.get(SERVER_URL, ""))

    def check_settings(self) -> str:
        self.settings = Settings.resolve(
            self._server_url, self._api_key, environ=self._environ, **self._options
        )
        server = self.settings.server_url
        given, _ = split_userinfo(strip_pasted(self._given_url()))
        if given.rstrip("/") not in (server, urlsplit(server).netloc):
            self._notes["settings"] = (
                f"{given} is a page or API path under the server, which is {server}; "
                f"set {self.settings.names['server_url']}={server}"
            )
        kind = "session token (JWT)" if session_token_claims(self.settings.api_key) else "API key"
        header = self.settings.api_key_header or "Authorization"
        return (
            f"server {self.settings.server_url}, {kind} set "
            f"({len(self.settings.api_key)} characters, sent in {header})"
        )

    def _host_port(self) -> tuple[str, int]:
        assert self.settings is not None
        parts = urlsplit(self.settings.server_url)
        default = 443 if parts.scheme == "https" else 80
        return parts.hostname or "", parts.port or default

    def check_dns(self) -> str:
        host, port = self._host_port()
        assert self.settings is not None
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            # getaddrinfo has no timeout of its own.
            future = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
            addresses = future.result(timeout=self.settings.connect_timeout)
        except concurrent.futures.TimeoutError as exc:
            raise DNSError(
                f"Looking up {host!r} took longer than the connect timeout",
                names=self.settings.names,
            ) from exc
        except OSError as exc:
            raise DNSError(
                f"The host {host!r} does not resolve: {exc}", names=self.settings.names
            ) from exc
        finally:
            pool.shutdown(wait=False)
        found = sorted({str(info[4][0]) for info in addresses})
        return f"{host} resolves to {', '.join(found[:3])}"

    def check_tcp(self) -> str:
        host, port = self._host_port()
        assert self.settings is not None
        names = self.settings.names
        try:
            with socket.create_connection((host, port), timeout=self.settings.connect_timeout):
                pass
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                f"Port {port} on {host} did not accept a connection within "
                f"{self.settings.connect_timeout:g} s",
                names=names,
            ) from exc
        except OSError as exc:
            raise ServerUnreachableError(
                f"Could not connect to {host}:{port}: {exc}", names=names
            ) from exc
        return f"{host}:{port} accepts connections"

    def _handshake(self, context: ssl.SSLContext) -> str:
        """A TLS handshake with the server's port; its protocol version."""
        assert self.settings is not None
        host, port = self._host_port()
        with (
            socket.create_connection((host, port), timeout=self.settings.connect_timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return str(tls.version())

    def check_tls(self) -> str:
        assert self.settings is not None
        if not self.settings.server_url.startswith("https://"):
            return "plain http: no TLS to check"
        # The very context (and trust source) the calls will use: the shared pool's.
        connection = get_connection(self.settings)
        context, trust = connection.ssl_context, connection.trust
        try:
            version = self._handshake(context)
        except ssl.SSLError as exc:
            error = tls_failure(exc, self.settings.server_url, names=self.settings.names)
            if isinstance(error, TLSError):
                raise TLSError(
                    f"The TLS handshake with {self.settings.server_url} failed (trusting "
                    f"{trust}): {exc}",
                    names=self.settings.names,
                ) from exc
            raise error from exc
        except OSError as exc:
            raise ServerUnreachableError(
                f"TLS connection to {self.settings.server_url} failed: {exc}",
                names=self.settings.names,
            ) from exc
        if context.verify_mode == ssl.CERT_NONE:
            return f"{version}, certificate NOT verified (verify=False)"
        return f"{version}, certificate verified against {trust}"

    def _speaks_tls(self) -> bool:
        """Whether the server's port completes a TLS handshake (for an `http://` URL)."""
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        try:
            self._handshake(unverified)
        except (OSError, ssl.SSLError):
            return False
        return True

    def check_server(self) -> str:
        assert self.settings is not None
        # The `api key` check says a session token's note itself: the log need not say it too.
        get_connection(self.settings).discovery.warned = True
        self.client = OpenWebUIClient.from_settings(
            replace(
                self.settings,
                max_retries=0,
                timeout=min(self.settings.timeout, DOCTOR_CHAT_TIMEOUT),
            )
        )
        sender = self.client._sender
        url = self.client.connection.url(VERSION_PATH)
        try:
            response = self.client._run(sender.exchange(sender.outgoing("GET", VERSION_PATH)))
        except ServerUnreachableError as dropped:
            if url.startswith("http://") and self._speaks_tls():
                raise SchemeMismatchError(
                    f"{url} dropped a plain HTTP request, and its port speaks TLS",
                    hint="use https:// in {server_url}",
                    url=url,
                    names=self.settings.names,
                ) from dropped
            raise
        version = open_webui_version(response)
        front = responder(response).front
        seen = [
            f"{name}: {response.headers[name]}"
            for name in ("server", "via")
            if name in response.headers
        ]
        self._front = f"{', '.join(front)} ({'; '.join(seen)})" if front else None
        if version is None:
            error = error_from_response(response, names=self.settings.names)
            if isinstance(error, RouteError):
                raise self._route_error(url, response, error)
            if type(error) is PermissionDeniedError and responder(response).kind == "open_webui":
                # 0.6's restriction of API keys to some endpoints covers even this public route:
                # Open WebUI answered; the key checks say what the key may still do.
                self._notes["open webui"] = f"its release is unknown: {error.message}"
                return f"Open WebUI at {self.settings.server_url} (it refused this key its version)"
            raise error
        note = untested_note(version)
        if note:
            self._notes["open webui"] = note
        return f"Open WebUI {version} at {self.settings.server_url} (tested: {tested_range()})"

    def check_front(self) -> str:
        if self._front is None:
            return "nothing shows in front of Open WebUI (its own server answers)"
        return f"{self._front} answers in front of Open WebUI"

    def _route_error(self, url: str, response: httpx.Response, error: RouteError) -> RouteError:
        """Not Open WebUI here: say where above it Open WebUI answers, or what was tried."""
        assert self.client is not None
        assert self.settings is not None
        base = self.client.connection.base_url
        found, tried = self.client._run(walk(self.client._sender, base))
        who = responder(response)
        what = f"{url} is not Open WebUI's API (HTTP {response.status_code}"
        what += f", {who.evidence})" if who.evidence else ")"
        if error.message and who.kind != "open_webui_page":
            what = error.message
        if found is not None and found[0] != base:
            return RouteError(
                f"{what}; Open WebUI answers at {found[0]}",
                url=url,
                status_code=response.status_code,
                hint=f"set {{server_url}}={found[0]}",
                names=self.settings.names,
            )
        if len(tried) > 1:
            what += "; nor at " + ", ".join(tried[1:])
        return RouteError(
            what,
            url=url,
            status_code=response.status_code,
            hint="set {server_url} to the address you open in the browser; if Open WebUI is "
            "served under a sub-path, include it (https://host/webui)",
            names=self.settings.names,
        )

    def check_key(self) -> str:
        assert self.client is not None
        session = describe_session_token(self.client.settings.api_key)
        try:
            self._models = self.client.list_models()
        except AuthenticationError as error:
            if session is not None:
                raise AuthenticationError(
                    error.message,
                    hint=session,
                    status_code=error.status_code,
                    url=error.url,
                    names=self.client.settings.names,
                ) from error
            raise
        except PermissionDeniedError as error:
            if error.layer != "permission" or self.client._run(_refused_everywhere(self.client)):
                raise
            self._list_refused = True
            self._notes["api key"] = (
                f"the admin restricts API keys to some endpoints, and {error.url} is not one of "
                "them: names cannot be matched against the model list, so give the model's "
                "exact id (or ask the admin to allow /api/models in API_KEY_ALLOWED_ENDPOINTS)"
            )
            return "the server accepted the key for the chat route, but refused the model list"
        if session is not None:
            self._notes["api key"] = session
            return "the server accepted the key, a session token (JWT), not an API key"
        return "the server accepted the API key"

    def check_models(self) -> str:
        if self._list_refused:
            return "not listed: this key may not read the model list"
        default_model(self._models)  # the key sees at least one model
        backends = sorted({m.backend for m in self._models})
        return f"{len(self._models)} models ({', '.join(backends)})"

    def check_model(self) -> str:
        assert self.client is not None
        if self._list_refused:
            if not self.model:
                raise ConfigurationError(
                    "No model was given, and this key may not read the model list to pick one",
                    setting="model",
                    hint=f"pass --model with the model's exact id (or set {MODEL_ENV})",
                )
            self.model_id = self.model
            return f"{self.model!r} is sent as written (the model list is not readable to match it)"
        if not self.model:
            self.model_id = default_model(self._models).id
            return no_model_note(self.model_id)
        self.model_id = self.client.resolve_model(self.model)
        if self.model_id == self.model:
            return f"{self.model!r} is on the server"
        return f"{self.model!r} resolves to {self.model_id!r}"

    def _ask(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 16,
        }

    def check_chat(self) -> str:
        assert self.client is not None
        answer = self.client.answer(self._ask())
        if answer.content is None and not answer.tool_calls:
            raise ResponseError("The chat answer has no message")
        return f"answered {(answer.content or '').strip()[:60]!r}"

    def check_stream(self) -> str:
        assert self.client is not None
        chunks = list(self.client.stream_answer(self._ask()))
        return f"{len(chunks)} chunks, ended with [DONE]"

    # -- running ---------------------------------------------------------------------------------
    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("settings", self.check_settings),
            ("dns", self.check_dns),
            ("tcp", self.check_tcp),
            ("tls", self.check_tls),
            ("open webui", self.check_server),
            ("in front", self.check_front),
            ("api key", self.check_key),
            ("models", self.check_models),
            ("model", self.check_model),
            ("chat", self.check_chat),
            ("stream", self.check_stream),
        ]

    def run(self) -> Iterator[CheckResult]:
        """Each check's result, in order; after the first failure the rest are skipped."""
        failed = False
        for name, check in self.steps():
            if failed:
                yield CheckResult(name, None, "skipped: an earlier check failed")
                continue
            try:
                detail = check()
            except OpenWebUIError as error:
                failed = True
                yield CheckResult(name, False, error.message, error.setting, error.hint)
            else:
                yield CheckResult(name, True, detail, hint=self._notes.get(name))


def format_result(result: CheckResult) -> str:
    """One line per check (two for a failure, what broke then what to change; or for a pass
    with a note, such as a key that is a session token)."""
    status = {True: "ok  ", False: "FAIL", None: "skip"}[result.ok]
    line = f"{status}  {result.name:<11} {result.detail}"
    if result.ok is False:
        setting = f" (setting: {result.setting})" if result.setting else ""
        line += f"\n      fix: {result.hint}{setting}"
    elif result.ok and result.hint:
        line += f"\n      note: {result.hint}"
    return line
