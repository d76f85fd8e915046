"""The doctor: walk the layers in order (settings, DNS, TCP, TLS, server, key, models, chat) and
say, for the first one that fails, which setting to change."""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .catalog import ModelInfo
from .client import OpenWebUIClient
from .connection import get_connection
from .discovery import walk, walk_timeout, warn_once_if_session_token
from .errors import (
    SERVER_URL,
    AuthenticationError,
    ConnectTimeoutError,
    DNSError,
    ModelNotFoundError,
    OpenWebUIError,
    ResponseError,
    RouteError,
    ServerUnreachableError,
    TLSError,
    error_from_response,
    error_from_transport,
    is_html,
)
from .model_facts import facts_for
from .pasted import describe_session_token, session_token_claims, split_userinfo, strip_pasted
from .server_versions import tested_range, untested_note
from .settings import Settings
from .tls import Verify

PROMPT = "Reply with the single word OK."
DOCTOR_CHAT_TIMEOUT = 120.0


def default_model(models: Sequence[ModelInfo]) -> ModelInfo:
    """The model to use when none is named (the doctor's and `chat`'s): the first listed that is
    not for embeddings, by what the list says or its name; ModelNotFoundError if there is none."""
    if not models:
        raise ModelNotFoundError(
            "The server lists no models for this key",
            setting=None,
            hint="ask the Open WebUI admin to grant this user access to models",
        )

    def embedding_only(model: ModelInfo) -> bool:
        caps = facts_for(model.id, models).capabilities
        return bool(caps.embedding and not caps.chat) or "embed" in model.id.casefold()

    return next((m for m in models if not embedding_only(m)), models[0])


def no_model_note(model_id: str) -> str:
    return f"no model given (--model or OPENWEBUI_MODEL); using {model_id!r}"


@contextlib.contextmanager
def _session_token_unlogged() -> Iterator[None]:
    """The doctor prints a session token's note itself: keep the client from logging it too."""
    logger = logging.getLogger(__package__)  # the package logs under its own name

    def not_the_note(record: logging.LogRecord) -> bool:
        return record.funcName != warn_once_if_session_token.__name__

    logger.addFilter(not_the_note)
    try:
        yield
    finally:
        logger.removeFilter(not_the_note)


@dataclass(frozen=True)
class CheckResult:
    """One layer's verdict: `ok` is None when the check was skipped."""

    name: str
    ok: bool | None
    detail: str
    setting: str | None = None
    hint: str | None = None


class Doctor:
    """Runs the checks; each one that passes feeds the next what it found."""

    def __init__(
        self,
        server_url: str | None = None,
        api_key: str | None = None,
        *,
        model: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        verify: Verify | None = None,
        api_key_header: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._args: dict[str, Any] = {
            "server_url": server_url,
            "api_key": api_key,
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "verify": verify,
            "api_key_header": api_key_header,
            "environ": environ,
        }
        self._notes: dict[str, str] = {}
        self.model = model
        self.settings: Settings | None = None
        self.client: OpenWebUIClient | None = None
        self.model_id: str | None = None
        self._addresses: list[Any] = []
        self._models: list[ModelInfo] = []

    # -- the checks, in order ------------------------------------------------------------------
    def _given_url(self) -> str:
        """The server URL as given (argument or environment), credentials and all."""
        env = os.environ if self._args["environ"] is None else self._args["environ"]
        given = self._args["server_url"]
        return str(given if given is not None else env.get(SERVER_URL, ""))

    def check_settings(self) -> str:
        self.settings = Settings.resolve(**self._args)
        server = self.settings.server_url
        given, _ = split_userinfo(strip_pasted(self._given_url()))
        if given.rstrip("/") not in (server, urlsplit(server).netloc):
            self._notes["settings"] = (
                f"{given} is a page or API path under the server, which is {server}; "
                f"set OPENWEBUI_SERVER_URL={server}"
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
            self._addresses = future.result(timeout=self.settings.connect_timeout)
        except concurrent.futures.TimeoutError as exc:
            raise DNSError(f"Looking up {host!r} took longer than the connect timeout") from exc
        except OSError as exc:
            raise DNSError(f"The host {host!r} does not resolve: {exc}") from exc
        finally:
            pool.shutdown(wait=False)
        addresses = sorted({str(info[4][0]) for info in self._addresses})
        return f"{host} resolves to {', '.join(addresses[:3])}"

    def check_tcp(self) -> str:
        host, port = self._host_port()
        assert self.settings is not None
        try:
            with socket.create_connection((host, port), timeout=self.settings.connect_timeout):
                pass
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                f"Port {port} on {host} did not accept a connection within "
                f"{self.settings.connect_timeout:g} s"
            ) from exc
        except OSError as exc:
            raise ServerUnreachableError(f"Could not connect to {host}:{port}: {exc}") from exc
        return f"{host}:{port} accepts connections"

    def check_tls(self) -> str:
        assert self.settings is not None
        if not self.settings.server_url.startswith("https://"):
            return "plain http: no TLS to check"
        host, port = self._host_port()
        # The very context (and trust source) the calls will use: the shared pool's.
        connection = get_connection(self.settings)
        context, trust = connection.ssl_context, connection.trust
        try:
            with (
                socket.create_connection(
                    (host, port), timeout=self.settings.connect_timeout
                ) as raw,
                context.wrap_socket(raw, server_hostname=host) as tls,
            ):
                version = tls.version()
        except ssl.SSLError as exc:
            raise TLSError(
                f"The TLS handshake with {host}:{port} failed (trusting {trust}): {exc}"
            ) from exc
        except OSError as exc:
            raise ServerUnreachableError(f"TLS connection to {host}:{port} failed: {exc}") from exc
        if context.verify_mode == ssl.CERT_NONE:
            return f"{version}, certificate NOT verified (verify=False)"
        return f"{version}, certificate verified against {trust}"

    def check_server(self) -> str:
        assert self.settings is not None
        with _session_token_unlogged():  # the `api key` check's note says it
            self.client = OpenWebUIClient(
                self._given_url(),  # a proxy's user:password@ included
                self.settings.api_key,
                timeout=min(self.settings.timeout, DOCTOR_CHAT_TIMEOUT),
                connect_timeout=self.settings.connect_timeout,
                max_retries=0,
                verify=self.settings.verify,
                api_key_header=self.settings.api_key_header,
            )
        url = self.client.connection.url("/api/version")
        try:
            response = self.client.connection.client.get(
                url, headers=self.client.sender.headers, timeout=self.client.sender.timeout
            )
        except httpx.TransportError as exc:
            raise error_from_transport(exc, url) from exc
        if is_html(response) or response.status_code in (404, 405):
            raise self._route_error(url, response)
        if not response.is_success:
            raise error_from_response(response)
        try:
            version = response.json().get("version")
        except (ValueError, AttributeError) as exc:
            raise RouteError(f"{url} did not answer like Open WebUI", url=url) from exc
        if not version:
            raise RouteError(f"{url} did not answer like Open WebUI (no version)", url=url)
        note = untested_note(str(version))
        if note:
            self._notes["open webui"] = note
        return f"Open WebUI {version} at {self.settings.server_url} (tested: {tested_range()})"

    def _route_error(self, url: str, response: httpx.Response) -> RouteError:
        """Not Open WebUI here: say where above it Open WebUI answers, or what was tried."""
        assert self.client is not None
        base = self.client.connection.base_url
        sender = self.client.sender
        found, tried = walk(
            self.client.connection.client, base, sender.headers, walk_timeout(sender.timeout)
        )
        what = (
            f"{url} is not Open WebUI's API (HTTP {response.status_code}, "
            f"{response.headers.get('content-type', 'no content type')})"
        )
        if found is not None and found != base:
            return RouteError(
                f"{what}; Open WebUI answers at {found}",
                url=url,
                status_code=response.status_code,
                hint=f"set OPENWEBUI_SERVER_URL={found}",
            )
        if len(tried) > 1:
            what += "; nor at " + ", ".join(tried[1:])
        return RouteError(
            what,
            url=url,
            status_code=response.status_code,
            hint="set OPENWEBUI_SERVER_URL to the address you open in the browser; if Open "
            "WebUI is served under a sub-path, include it (https://host/webui)",
        )

    def check_key(self) -> str:
        assert self.client is not None
        session = describe_session_token(self.client.settings.api_key)
        try:
            self._models = self.client.list_models()
        except AuthenticationError as error:
            if session is not None:
                error.hint = session
            raise
        if session is not None:
            self._notes["api key"] = session
            return "the server accepted the key, a session token (JWT), not an API key"
        return "the server accepted the API key"

    def check_models(self) -> str:
        default_model(self._models)  # the key sees at least one model
        backends = sorted({m.backend for m in self._models})
        return f"{len(self._models)} models ({', '.join(backends)})"

    def check_model(self) -> str:
        assert self.client is not None
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
        answer = self.client.chat(self._ask())
        try:
            text = answer["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ResponseError(f"The chat answer has no message: {str(answer)[:120]}") from exc
        return f"answered {text.strip()[:60]!r}"

    def check_stream(self) -> str:
        assert self.client is not None
        chunks = list(self.client.stream_chat(self._ask()))
        return f"{len(chunks)} chunks, ended with [DONE]"

    # -- running ---------------------------------------------------------------------------------
    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("settings", self.check_settings),
            ("dns", self.check_dns),
            ("tcp", self.check_tcp),
            ("tls", self.check_tls),
            ("open webui", self.check_server),
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


__all__ = ["CheckResult", "Doctor", "default_model", "format_result", "no_model_note"]
