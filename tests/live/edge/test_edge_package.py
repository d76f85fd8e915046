"""Each case of issue #25's table through the package, behind the real nginx and the real Caddy.

Every case runs through the core client, LiteLLM (sync; async where the transport differs), LangChain
and smolagents, each called as its users write it, the settings under its own names
(`tests/library_chats.py`), and through the doctor. Each asserts the class that library's users
catch, the core error's layer and the setting as that library names it, that the message names
the proxy where its answer does, and how many attempts the call made: retries are counted from
the package's own log, and behind nginx also from nginx's access log. What each shape answers at
the HTTP level is proven by test_edge_infra.py.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import litellm
import pytest
from edge_support import PROXIES, Edge
from langchain_core import exceptions as lc
from litellm import exceptions as llm

from library_chats import LIBRARIES, chat, core_error, names
from openwebui_adapters import OpenWebUIClient
from openwebui_adapters import errors as E
from openwebui_adapters.doctor import CheckResult, Doctor, format_result

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning"),
]

PROXY_NAME = {"nginx": "nginx", "caddy": "Caddy"}
SYNC_LIBRARIES = tuple(library for library in LIBRARIES if library != "litellm_async")
EACH_PROXY = pytest.mark.parametrize("proxy", PROXIES)
EVERY_LIBRARY = pytest.mark.parametrize("library", LIBRARIES)
# One async LiteLLM call per case where its transport (aiohttp) could differ: TLS, redirects,
# a 502; the other cases go through the same core code sync and async.
SYNC_LIBRARY = pytest.mark.parametrize("library", SYNC_LIBRARIES)
# Open WebUI reads the key from x-api-key from 0.8.4 on.
X_API_KEY_SINCE = (0, 8, 4)
LOG_WAIT = 5.0  # seconds nginx may take to log a request whose body it discarded
TWO_MB = "x" * 2_000_000  # "2.0 MB" as the package counts (the JSON around it adds ~100 bytes)

# What each library's users catch for the core's class: LiteLLM's exact class, LangChain's
# Model*Error (its twin is the core class too). The core and smolagents raise the core class.
CAUGHT: dict[type[E.OpenWebUIError], tuple[type[Exception], type[Exception]]] = {
    E.TLSError: (llm.APIConnectionError, lc.ModelConnectionError),
    E.SchemeMismatchError: (llm.APIConnectionError, lc.ModelConnectionError),
    E.ServerUnreachableError: (llm.APIConnectionError, lc.ModelConnectionError),
    E.RouteError: (llm.NotFoundError, lc.ModelConnectionError),
    E.RedirectedPostError: (llm.NotFoundError, lc.ModelConnectionError),
    E.ProxyAuthenticationError: (llm.AuthenticationError, lc.ModelAuthenticationError),
    E.SignInRequiredError: (llm.AuthenticationError, lc.ModelAuthenticationError),
    E.AuthenticationError: (llm.AuthenticationError, lc.ModelAuthenticationError),
    E.RequestTooLargeError: (llm.BadRequestError, lc.ModelInvalidRequestError),
    E.ServerError: (llm.BadGatewayError, lc.ModelAPIError),  # every one here is a 502
    E.GatewayTimeoutError: (llm.Timeout, lc.ModelTimeoutError),
    E.PermissionDeniedError: (llm.PermissionDeniedError, lc.ModelPermissionDeniedError),
}


@pytest.fixture(autouse=True)
def _settings_as_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every setting is passed, none read from the environment, so messages name it as passed."""
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    monkeypatch.delenv("OPENWEBUI_API_KEY_HEADER", raising=False)
    monkeypatch.delenv("OPENWEBUI_VERIFY", raising=False)


@pytest.fixture
def model(owui_target: Any) -> str:
    return str(owui_target.models["openai"])


class Attempts:
    """How many times the call was tried: the package's retry log lines, and (behind nginx) the
    requests nginx logged; Caddy here keeps no access log."""

    def __init__(self, edge: Edge, proxy: str, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="openwebui_adapters")
        self.caplog = caplog
        self.access_log = (
            Path(edge.state.run_dir) / "nginx-access.log" if proxy == "nginx" else None
        )
        self.start = self.access_log.stat().st_size if self.access_log else 0

    @property
    def retried_after(self) -> list[str]:
        """Why each retry was made (the message of the failure before it)."""
        return [
            record.getMessage().split(" after: ", 1)[1]
            for record in self.caplog.records
            if record.name == "openwebui_adapters" and record.getMessage().startswith("retry ")
        ]

    @property
    def retries(self) -> int:
        return len(self.retried_after)

    def logged(self, method: str, path: str, status: int, expected: int) -> int | None:
        """Requests to `path` (a query may follow) nginx answered `status` since the test began,
        once `expected` are logged or after LOG_WAIT (nginx logs a refused body only after
        discarding it); None behind Caddy."""
        if self.access_log is None:
            return None
        deadline = time.monotonic() + LOG_WAIT
        while True:
            with self.access_log.open() as handle:
                handle.seek(self.start)
                lines = handle.read().splitlines()
            count = sum(
                f'"{method} {path}' in line and f' HTTP/1.1" {status} ' in line for line in lines
            )
            if count >= expected or time.monotonic() > deadline:
                return count
            time.sleep(0.05)


@pytest.fixture
def attempts(edge: Edge, proxy: str, caplog: pytest.LogCaptureFixture) -> Attempts:
    return Attempts(edge, proxy, caplog)


def fails(
    library: str, url: str, edge: Edge, model: str, content: str = "hi", **settings: Any
) -> BaseException:
    """What `library` raises for one chat (which must fail)."""
    with pytest.raises(Exception) as caught:  # noqa: PT011  (the class is checked by `caught_as`)
        chat(library, url, edge.api_key, model, content, **settings)
    return caught.value


def caught_as(
    library: str, error: BaseException, core_class: type[E.OpenWebUIError]
) -> E.OpenWebUIError:
    """`error` is what `library`'s users catch for `core_class`; the core's error behind it."""
    core = core_error(error)
    if library.startswith("litellm"):
        assert type(error) is CAUGHT[core_class][0], repr(error)
        assert type(core) is core_class, repr(core)
    elif library == "langchain":
        assert isinstance(error, CAUGHT[core_class][1]), repr(error)
        assert type(error).__name__ == f"OpenWebUI{core_class.__name__}", repr(error)
    else:
        assert type(error) is core_class, repr(error)
    return core


def with_credentials(url: str, user: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


def host_of(url: str) -> str:
    return httpx.URL(url).netloc.decode()


# --- TLS and the scheme ----------------------------------------------------------------------


@EACH_PROXY
@EVERY_LIBRARY
def test_tls_from_a_private_ca_works_given_where_the_library_takes_it(
    edge: Edge, proxy: str, library: str, model: str
) -> None:
    """The CA file as `verify=` (LiteLLM: `ssl_verify=`, sync and async alike): the chat works;
    without it, a TLS error whose fix names that setting."""
    url = edge.url(proxy, "tls")
    assert chat(library, url, edge.api_key, model, "over tls", verify=edge.ca_file)
    core = caught_as(library, fails(library, url, edge, model), E.TLSError)
    verify = names(library)["verify"]
    assert (core.layer, core.setting) == ("tls", verify)
    assert "CERTIFICATE_VERIFY_FAILED" in core.message
    assert f"pass {verify}='/path/to/ca-bundle.pem'" in core.hint


@EACH_PROXY
@SYNC_LIBRARY
def test_https_typed_for_plain_http_says_use_http(
    edge: Edge, proxy: str, library: str, model: str, attempts: Attempts
) -> None:
    url = edge.url(proxy, "plain_as_https")
    error = fails(library, url, edge, model, verify=edge.ca_file)
    core = caught_as(library, error, E.SchemeMismatchError)
    server_url = names(library)["server_url"]
    assert (core.layer, core.setting) == ("network", server_url)
    assert "answers in plain HTTP, not TLS" in core.message
    assert core.hint == f"use http:// in {server_url}"
    assert attempts.retries == 0


@EACH_PROXY
@SYNC_LIBRARY
def test_http_typed_for_the_tls_port_says_use_https(
    edge: Edge, proxy: str, library: str, model: str, attempts: Attempts
) -> None:
    """nginx answers 400 with its page. Caddy answers 400 from Go's net/http, with no header or
    page that names Caddy (so the message can only say "a proxy"), and closes the connection at
    once: with a POST's body still arriving, the client may see the connection reset before it
    reads the 400. That attempt is retried as a dropped connection; if every attempt is reset,
    the dropped connection's own fix says to use https:// too."""
    error = fails(library, edge.url(proxy, "tls_as_http"), edge, model, max_retries=2)
    server_url = names(library)["server_url"]
    quoted = {
        "nginx": "nginx in front of Open WebUI speaks HTTPS at this port and got plain HTTP "
        "(400) (The plain HTTP request was sent to HTTPS port)",
        "caddy": "A proxy in front of Open WebUI speaks HTTPS at this port and got plain HTTP "
        "(400) (Client sent an HTTP request to an HTTPS server.)",
    }
    if proxy == "caddy" and isinstance(core_error(error), E.ServerUnreachableError):
        core = caught_as(library, error, E.ServerUnreachableError)
        assert f"if that port speaks TLS, use https:// in {server_url}" in core.hint
    else:
        core = caught_as(library, error, E.SchemeMismatchError)
        assert core.message == quoted[proxy]
        assert core.hint == f"use https:// in {server_url}"
    assert (core.layer, core.setting) == ("network", server_url)
    if proxy == "nginx":
        assert attempts.retries == 0
    assert all("was dropped" in why for why in attempts.retried_after)


@EACH_PROXY
@SYNC_LIBRARY
def test_http_redirected_to_https_is_not_followed_for_a_post(
    edge: Edge, proxy: str, library: str, model: str
) -> None:
    """The usual "always https" redirect (nginx 301, Caddy 301) to another port: a POST would
    lose its body, so the error names the https:// address to set."""
    error = fails(library, edge.url(proxy, "http_to_https"), edge, model, verify=edge.ca_file)
    core = caught_as(library, error, E.RedirectedPostError)
    server_url = names(library)["server_url"]
    assert (core.layer, core.setting) == ("route", server_url)
    assert "loses the POST body" in core.message
    assert core.hint == f"set {server_url} to the final address ({edge.url(proxy, 'tls')})"


@EACH_PROXY
def test_http_redirected_to_https_is_not_followed_for_a_get_either(edge: Edge, proxy: str) -> None:
    """A GET to another origin (https on another port) is not followed: nothing is sent there,
    and the error does not speak of a POST."""
    client = OpenWebUIClient(edge.url(proxy, "http_to_https"), edge.api_key, verify=edge.ca_file)
    with pytest.raises(E.RouteError) as caught:
        client.list_models()
    assert type(caught.value) is E.RouteError
    assert "it was not followed" in caught.value.message
    assert "POST" not in caught.value.message
    assert edge.url(proxy, "tls") in caught.value.hint


# --- a sub-path, basic auth, an SSO gate -----------------------------------------------------


@EACH_PROXY
@SYNC_LIBRARY
def test_a_sub_path_works_and_without_it_the_route_error_names_the_proxy(
    edge: Edge, proxy: str, library: str, model: str, attempts: Attempts
) -> None:
    url = edge.url(proxy, "subpath")
    assert chat(library, url, edge.api_key, model, "under a sub-path")
    root = url.removesuffix("/webui")
    core = caught_as(library, fails(library, root, edge, model), E.RouteError)
    server_url = names(library)["server_url"]
    assert (core.layer, core.setting) == ("route", server_url)
    assert f"{PROXY_NAME[proxy]} in front of Open WebUI" in core.message
    assert "no route" in core.message
    assert core.hint.startswith(f"set {server_url} to the address you open in the browser")
    assert "sub-path" in core.hint
    assert attempts.retries == 0


@EACH_PROXY
@SYNC_LIBRARY
def test_basic_auth_without_its_credentials_names_the_realm_and_how_to_send_both(
    edge: Edge, proxy: str, library: str, model: str, attempts: Attempts
) -> None:
    error = fails(library, edge.url(proxy, "basic_auth"), edge, model)
    core = caught_as(library, error, E.ProxyAuthenticationError)
    named = names(library)
    assert (core.layer, core.setting) == ("in front", named["headers"])
    assert (
        f"{PROXY_NAME[proxy]} in front of Open WebUI asks for its own credentials" in core.message
    )
    assert "realm 'Open WebUI'" in core.message
    assert "the API key is not the cause" in core.message
    assert f"user:password@ in {named['server_url']}" in core.hint
    assert f"{named['api_key_header']}=x-api-key" in core.hint
    assert named["headers"] in core.hint
    assert attempts.retries == 0
    assert attempts.logged("POST", "/api/chat/completions", 401, 1) in (None, 1)


@EACH_PROXY
@SYNC_LIBRARY
def test_basic_auth_with_user_and_password_in_the_url_and_the_key_in_x_api_key(
    edge: Edge, proxy: str, library: str, model: str
) -> None:
    """Works where Open WebUI reads x-api-key (0.8.4 on). An older release answers its own 401
    "Not authenticated": the error says the release may not read that header, and its fix (the
    key as the `token` cookie too) works."""
    user, password = edge.basic_auth
    url = with_credentials(edge.url(proxy, "basic_auth"), user, password)
    if edge.openwebui_version >= X_API_KEY_SINCE:
        assert chat(
            library, url, edge.api_key, model, "past basic auth", api_key_header="x-api-key"
        )
        return
    error = fails(library, url, edge, model, api_key_header="x-api-key")
    core = caught_as(library, error, E.AuthenticationError)
    assert (core.layer, core.setting) == ("authentication", names(library)["api_key_header"])
    assert "reads only from release 0.8.4 on" in core.message
    assert "`token` cookie" in core.hint
    assert password not in str(error)
    cookie = {"Cookie": f"token={edge.api_key}"}
    answer = chat(
        library, url, edge.api_key, model, "cookie", api_key_header="x-api-key", headers=cookie
    )
    assert answer


@EACH_PROXY
@EVERY_LIBRARY
def test_an_sso_gate_names_its_sign_in_host_and_the_service_token_passes_it(
    edge: Edge, proxy: str, library: str, model: str
) -> None:
    url = edge.url(proxy, "sso")
    since = edge.recorder.mark()
    core = caught_as(library, fails(library, url, edge, model), E.SignInRequiredError)
    assert (core.layer, core.setting) == ("in front", names(library)["headers"])
    assert f"sign-in page at {edge.signin_url}" in core.message
    assert "the redirect was not followed" in core.message
    assert "https" not in str(core)  # message and fix: a sign-in gate is never "use https"
    assert "service token" in core.hint
    assert edge.recorder.requests(since) == []
    assert chat(library, url, edge.api_key, model, "past the gate", headers=edge.service_token)


# --- no secret leaves the server's origin ------------------------------------------------------

REFUSED_REDIRECTS = {"sso": E.SignInRequiredError, "https_to_http": E.SchemeMismatchError}


def leak_bait() -> dict[str, str]:
    """Credential headers as a user passes them (values the gate does not accept)."""
    return {
        "CF-Access-Client-Id": f"{secrets.token_hex(8)}.access",
        "CF-Access-Client-Secret": secrets.token_hex(24),
        "X-Proxy-Token": secrets.token_urlsafe(24),
    }


@pytest.mark.parametrize("shape", list(REFUSED_REDIRECTS))
@EACH_PROXY
@EVERY_LIBRARY
def test_no_secret_leaves_the_origin_on_a_redirect(
    edge: Edge, proxy: str, library: str, shape: str, model: str
) -> None:
    """The key in x-api-key, credential headers and user:password@ in the URL: a redirect to the
    sign-in host (127.0.0.2) or to plain http is not followed, so the recorders there receive
    nothing (httpx alone sends them x-api-key: test_edge_infra.py)."""
    user, password = edge.basic_auth
    bait = leak_bait()
    url = with_credentials(edge.url(proxy, shape), user, password)
    since = edge.recorder.mark()
    error = fails(
        library, url, edge, model, api_key_header="x-api-key", headers=bait, verify=edge.ca_file
    )
    core = caught_as(library, error, REFUSED_REDIRECTS[shape])
    assert "not followed" in core.message
    assert edge.recorder.requests(since) == []
    assert edge.recorder.secrets_seen([edge.api_key, password, *bait.values()], since) == []
    for secret in (edge.api_key, password, *bait.values()):
        assert secret not in str(error)


@pytest.mark.parametrize("shape", list(REFUSED_REDIRECTS))
@EACH_PROXY
def test_no_secret_leaves_the_origin_when_the_doctor_runs(
    edge: Edge, proxy: str, shape: str
) -> None:
    user, password = edge.basic_auth
    bait = leak_bait()
    url = with_credentials(edge.url(proxy, shape), user, password)
    since = edge.recorder.mark()
    doctor = Doctor(
        url, edge.api_key, api_key_header="x-api-key", headers=bait, verify=edge.ca_file
    )
    results = {result.name: result for result in doctor.run()}
    assert [name for name, result in results.items() if result.ok is False] == ["open webui"]
    assert "not followed" in results["open webui"].detail
    assert edge.recorder.requests(since) == []


# --- limits, a stopped upstream, a timeout, an allow-list ------------------------------------------


@EACH_PROXY
@SYNC_LIBRARY
def test_a_2mb_chat_over_the_default_body_limit(
    edge: Edge, proxy: str, library: str, model: str, attempts: Attempts
) -> None:
    """nginx: 413 at its default client_max_body_size, not retried. Caddy 2.6.2 answers a body
    with a Content-Length over its limit with 502 (test_edge_infra.py): a 502 is retried, as it
    cannot be told from a stopped upstream, and the message says the body limit may be why."""
    url = edge.url(proxy, "body_limit")
    error = fails(library, url, edge, model, content=TWO_MB, max_retries=2)
    if proxy == "nginx":
        core = caught_as(library, error, E.RequestTooLargeError)
        assert (core.layer, core.setting) == ("in front", None)
        assert core.message.startswith("nginx in front of Open WebUI refused 2.0 MB as too large")
        assert "client_max_body_size, 1 MB by default" in core.message
        assert "body limit" in core.hint
        assert attempts.retries == 0
        assert attempts.logged("POST", "/api/chat/completions", 413, 1) == 1
    else:
        core = caught_as(library, error, E.ServerError)
        assert (core.layer, core.setting, core.status_code) == ("upstream", None, 502)
        assert "Caddy in front of Open WebUI could not reach Open WebUI" in core.message
        assert "as 2.0 MB were sent, its body limit refused them" in core.message
        assert attempts.retries == 2


@EACH_PROXY
def test_a_2mb_upload_over_the_default_body_limit(
    edge: Edge, proxy: str, attempts: Attempts
) -> None:
    client = OpenWebUIClient(edge.url(proxy, "body_limit"), edge.api_key, max_retries=2)
    with pytest.raises(E.OpenWebUIError) as caught:
        client.upload_file(b"y" * 2_000_000, filename="large.txt")
    error = caught.value
    if proxy == "nginx":
        assert type(error) is E.RequestTooLargeError, repr(error)
        assert error.message.startswith("nginx in front of Open WebUI refused 2.0 MB")
        assert "client_max_body_size" in error.message
        assert attempts.logged("POST", "/api/v1/files/", 413, 1) == 1
    else:
        assert type(error) is E.ServerError, repr(error)
        assert "its body limit refused them" in error.message
    assert attempts.retries == 0  # an upload is retried only on 429 and 503: it may be stored


@EACH_PROXY
@EVERY_LIBRARY
def test_a_stopped_upstream_is_a_server_error_naming_the_proxy_and_retried(
    edge: Edge, proxy: str, library: str, model: str, attempts: Attempts
) -> None:
    url = edge.url(proxy, "stopped_upstream")
    error = fails(library, url, edge, model, max_retries=2)
    core = caught_as(library, error, E.ServerError)
    assert (core.layer, core.setting, core.status_code) == ("upstream", None, 502)
    assert f"{PROXY_NAME[proxy]} in front of Open WebUI could not reach Open WebUI" in core.message
    assert "down or restarting" in core.message
    assert f"Open WebUI behind {PROXY_NAME[proxy]} does not answer" in core.hint
    assert attempts.retries == 2
    assert attempts.logged("POST", "/api/chat/completions", 502, 3) in (None, 3)


def router(edge: Edge, proxy: str, model: str) -> Any:
    """One model group: the stopped upstream first (`order`), then the healthy plain shape; a
    deployment is cooled down at its first failure."""

    def deployment(shape: str, order: int) -> dict[str, Any]:
        params = {"api_base": edge.url(proxy, shape), "api_key": edge.api_key, "max_retries": 0}
        return {
            "model_name": "chat",
            "litellm_params": {"model": f"openwebui/{model}", "order": order, **params},
            "model_info": {"id": shape},
        }

    return litellm.Router(
        model_list=[deployment("stopped_upstream", 1), deployment("plain", 2)],
        num_retries=1,
        allowed_fails=0,
        cooldown_time=60,
        timeout=30,
    )


def answered(response: Any) -> tuple[str, int]:
    """(the deployment that answered, the Router's retries for the call)."""
    headers = response._hidden_params.get("additional_headers") or {}
    return str(response._hidden_params["model_id"]), int(
        headers.get("x-litellm-attempted-retries", 0)
    )


@EACH_PROXY
def test_a_router_cools_the_stopped_deployment_down_and_answers_from_the_healthy_one(
    edge: Edge, proxy: str, model: str, attempts: Attempts
) -> None:
    group = router(edge, proxy, model)
    messages = [{"role": "user", "content": "which one"}]
    assert answered(group.completion(model="chat", messages=messages)) == ("plain", 1)
    for _ in range(3):  # cooled down: never tried again
        assert answered(group.completion(model="chat", messages=messages)) == ("plain", 0)
    assert attempts.logged("POST", "/api/chat/completions", 502, 1) in (None, 1)


@EACH_PROXY
def test_a_router_cools_the_stopped_deployment_down_async(
    edge: Edge, proxy: str, model: str
) -> None:
    async def calls() -> list[tuple[str, int]]:
        group = router(edge, proxy, model)
        messages = [{"role": "user", "content": "which one"}]
        return [answered(await group.acompletion(model="chat", messages=messages)) for _ in "ab"]

    assert asyncio.run(calls()) == [("plain", 1), ("plain", 0)]


@EACH_PROXY
@SYNC_LIBRARY
def test_the_proxys_read_timeout_is_a_gateway_timeout_with_its_own_fix(
    edge: Edge, proxy: str, library: str, model: str, attempts: Attempts
) -> None:
    error = fails(library, edge.url(proxy, "slow_upstream"), edge, model, max_retries=1)
    core = caught_as(library, error, E.GatewayTimeoutError)
    assert (core.layer, core.setting, core.status_code) == ("upstream", None, 504)
    assert f"{PROXY_NAME[proxy]} in front of Open WebUI gave up waiting" in core.message
    assert "the proxy's read timeout ended the request, not the client's" in core.message
    assert "stream=True" in core.hint
    assert "proxy_read_timeout" in core.hint
    assert attempts.retries == 1
    assert attempts.logged("POST", "/api/chat/completions", 504, 2) in (None, 2)


@EACH_PROXY
@SYNC_LIBRARY
def test_an_allow_list_refusal_names_the_proxy_not_the_key(
    edge: Edge, proxy: str, library: str, model: str, attempts: Attempts
) -> None:
    error = fails(library, edge.url(proxy, "allow_list"), edge, model)
    core = caught_as(library, error, E.PermissionDeniedError)
    assert (core.layer, core.setting, core.status_code) == ("permission", None, 403)
    assert f"{PROXY_NAME[proxy]} in front of Open WebUI refused the request" in core.message
    assert "allow-list" in core.message
    assert "the API key is not the cause" in core.message
    assert core.hint == f"ask whoever runs {PROXY_NAME[proxy]} to let this client reach /api/"
    assert attempts.retries == 0


# --- the doctor ----------------------------------------------------------------------------------

# case -> (shape, failing check, setting, words of its detail, words of its fix); the detail's
# "{proxy}" is the proxy's name, "{signin}" the sign-in host, "{tls}" the proxy's TLS URL.
DOCTOR_FAILS: dict[str, tuple[str, str, str | None, tuple[str, ...], tuple[str, ...]]] = {
    "no CA": ("tls", "tls", "verify", ("failed (trusting ", "CERTIFICATE_VERIFY_FAILED"),
              ("pass verify='/path/to/ca-bundle.pem'",)),
    "https for plain http": ("plain_as_https", "tls", "server_url", ("answers in plain HTTP",),
                             ("use http:// in server_url",)),
    "http for the tls port": ("tls_as_http", "open webui", "server_url",
                              ("speaks HTTPS at this port",), ("use https:// in server_url",)),
    "http redirected to https": ("http_to_https", "open webui", "server_url",
                                 ("it was not followed",), ("{tls}",)),
    "no sub-path": ("subpath_root", "open webui", "server_url", ("{proxy} in front", "no route"),
                    ("sub-path",)),
    "basic auth": ("basic_auth", "open webui", "headers", ("{proxy} in front", "realm 'Open WebUI'"),
                   ("user:password@ in server_url", "api_key_header=x-api-key")),
    "sso": ("sso", "open webui", "headers", ("sign-in page at {signin}", "not followed"),
            ("service token",)),
    "https to http": ("https_to_http", "open webui", "server_url",
                      ("redirected to plain HTTP", "it was not followed"), ("https:// only",)),
    "stopped upstream": ("stopped_upstream", "open webui", None,
                         ("{proxy} in front", "down or restarting"), ("behind {proxy}",)),
    "read timeout": ("slow_upstream", "open webui", None, ("{proxy} in front", "gave up waiting"),
                     ("stream=True", "proxy_read_timeout")),
    "allow-list": ("allow_list", "open webui", None, ("{proxy} in front", "allow-list"),
                   ("ask whoever runs {proxy}",)),
}  # fmt: skip


def doctor_url(edge: Edge, proxy: str, shape: str) -> str:
    if shape == "subpath_root":
        return edge.url(proxy, "subpath").removesuffix("/webui")
    return edge.url(proxy, shape)


def run_doctor(url: str, edge: Edge, model: str, **options: Any) -> list[CheckResult]:
    results = list(Doctor(url, edge.api_key, model=model, **options).run())
    for result in results:
        print(format_result(result))  # shown when the test fails
    return results


@EACH_PROXY
@pytest.mark.parametrize("case", list(DOCTOR_FAILS))
def test_the_doctor_fails_the_layer_in_front_with_its_own_fix(
    edge: Edge, proxy: str, case: str, model: str
) -> None:
    shape, check, setting, detail, fix = DOCTOR_FAILS[case]
    verify = {} if case == "no CA" else {"verify": edge.ca_file}
    results = run_doctor(doctor_url(edge, proxy, shape), edge, model, **verify)
    failed = [result for result in results if result.ok is False]
    assert [result.name for result in failed] == [check]
    after = results[results.index(failed[0]) + 1 :]
    assert all(result.ok is None for result in after)
    places = {"proxy": PROXY_NAME[proxy], "signin": edge.signin_url, "tls": edge.url(proxy, "tls")}
    line = format_result(failed[0])
    assert line.startswith(f"FAIL  {check}")
    for words in detail:
        assert words.format(**places) in failed[0].detail
    for words in fix:
        assert words.format(**places) in f"{failed[0].hint}"
    assert failed[0].setting == setting
    assert (f"(setting: {setting})" in line) == (setting is not None)
    if shape == "sso":
        assert "https" not in f"{failed[0].hint}"


@EACH_PROXY
@pytest.mark.parametrize("shape", ["tls", "subpath", "sso"])
def test_the_doctor_passes_through_the_proxy_and_names_it(
    edge: Edge, proxy: str, shape: str, model: str
) -> None:
    """TLS with the private CA (the tls line names the CA file it trusted), a sub-path, the SSO
    gate with the service token: every check passes, and `in front` names the proxy."""
    options: dict[str, Any] = {"verify": edge.ca_file}
    if shape == "sso":
        options["headers"] = edge.service_token
    results = {r.name: r for r in run_doctor(edge.url(proxy, shape), edge, model, **options)}
    assert [name for name, result in results.items() if not result.ok] == []
    front = results["in front"].detail  # the name, then the headers that named it
    assert front.startswith(f"{PROXY_NAME[proxy]} (server: ")
    assert front.endswith(") answers in front of Open WebUI")
    if shape == "tls":
        assert results["tls"].detail.endswith(
            f"certificate verified against the CA bundle {edge.ca_file}"
        )


@EACH_PROXY
def test_the_doctor_behind_basic_auth_with_the_key_in_x_api_key(
    edge: Edge, proxy: str, model: str
) -> None:
    user, password = edge.basic_auth
    url = with_credentials(edge.url(proxy, "basic_auth"), user, password)
    results = run_doctor(url, edge, model, api_key_header="x-api-key")
    failed = [result for result in results if result.ok is False]
    if edge.openwebui_version >= X_API_KEY_SINCE:
        assert failed == []
        return
    assert [result.name for result in failed] == ["api key"]
    assert failed[0].setting == "api_key_header"
    assert "`token` cookie" in f"{failed[0].hint}"
    assert password not in format_result(failed[0])
