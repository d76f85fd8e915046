"""Each real answer of what stands in front of Open WebUI (tests/data/front/), sent to a chat:
the error that says who answered, its own fix, and retries only where another try may help.

The rows are written out by hand. Before this table, every HTML answer was read as "the web
UI's page" and blamed OPENWEBUI_SERVER_URL: each row below fails on that code.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient, _diagnosis, errors
from openwebui_adapters import _sending as sending
from openwebui_adapters._diagnosis import error_from_response, error_from_transport
from samples import front_response

URL = "http://owui.test"
KEY = "sk-unit-in-front-0000"
CHAT = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
E = errors

# sample -> (error class, setting blamed (core names; None: none), words the message must hold,
# requests the call makes with max_retries=2)
ROWS: dict[str, tuple[type[errors.OpenWebUIError], str | None, tuple[str, ...], int]] = {
    # too large: the proxy's body limit, not retried
    "nginx_413_body_too_large": (E.RequestTooLargeError, None, ("nginx", "413", "client_max_body_size"), 1),
    "apache_413_body_too_large": (E.RequestTooLargeError, None, ("Apache", "413"), 1),
    "envoy_413_body_too_large": (E.RequestTooLargeError, None, ("Envoy", "413"), 1),
    "haproxy_413_body_too_large": (E.RequestTooLargeError, None, ("HAProxy", "413"), 1),
    "traefik_413_body_too_large": (E.RequestTooLargeError, None, ("Traefik", "413"), 1),
    # the proxy's own credentials (a challenge Open WebUI never sends)
    "nginx_401_basic_auth": (E.ProxyAuthenticationError, "headers", ("nginx", "realm", "not the cause"), 1),
    "caddy_401_basic_auth": (E.ProxyAuthenticationError, "headers", ("Caddy", "realm"), 1),
    "apache_401_basic_auth": (E.ProxyAuthenticationError, "headers", ("Apache",), 1),
    "envoy_401_basic_auth": (E.ProxyAuthenticationError, "headers", ("Envoy",), 1),
    "haproxy_401_basic_auth": (E.ProxyAuthenticationError, "headers", ("HAProxy",), 1),
    "traefik_401_basic_auth": (E.ProxyAuthenticationError, "headers", ("Traefik",), 1),
    "squid_407_proxy_auth": (E.ProxyAuthenticationError, "headers", ("Squid", "407"), 1),
    # Open WebUI's own 401 through a proxy: still the key
    "nginx_401_owui_nokey": (E.AuthenticationError, "api_key", ("did not accept the API key",), 1),
    "caddy_401_owui_nokey": (E.AuthenticationError, "api_key", ("did not accept the API key",), 1),
    # a sign-in gate: its sign-in host, never "use https"
    "nginx_302_signin": (E.SignInRequiredError, "headers", ("sign-in page", "/oauth2/"), 1),
    "caddy_302_signin": (E.SignInRequiredError, "headers", ("sign-in page",), 1),
    "traefik_302_signin": (E.SignInRequiredError, "headers", ("sign-in page",), 1),
    "oauth2proxy_302_microsoft": (E.SignInRequiredError, "headers", ("Microsoft", "login.microsoftonline.com"), 1),
    "oauth2proxy_302_google": (E.SignInRequiredError, "headers", ("Google", "accounts.google.com"), 1),
    "oauth2proxy_302_keycloak": (E.SignInRequiredError, "headers", ("Keycloak",), 1),
    "oauth2proxy_401_api": (E.SignInRequiredError, "headers", ("oauth2-proxy",), 1),
    "authelia_302_browser": (E.SignInRequiredError, "headers", ("Authelia",), 1),
    "authelia_401_api": (E.SignInRequiredError, "headers", ("Authelia",), 1),
    "cloudflare_access_302_login": (E.SignInRequiredError, "headers", ("Cloudflare Access", "cloudflareaccess.com"), 1),
    "cloudflare_access_403_forbidden": (E.SignInRequiredError, "headers", ("Cloudflare Access",), 1),
    # Open WebUI down behind the proxy: the server layer, retried as any 5xx
    "nginx_502_upstream_closed": (E.ServerError, None, ("nginx", "down or restarting"), 3),
    "caddy_502_upstream_closed": (E.ServerError, None, ("Caddy", "down or restarting"), 3),
    "apache_503_upstream_closed": (E.ServerError, None, ("Apache", "down or restarting"), 3),
    "envoy_503_upstream_closed": (E.ServerError, None, ("Envoy", "down or restarting"), 3),
    "haproxy_503_upstream_closed": (E.ServerError, None, ("HAProxy", "down or restarting"), 3),
    "traefik_502_upstream_closed": (E.ServerError, None, ("Traefik", "down or restarting"), 3),
    "aws_alb_502_bad_gateway": (E.ServerError, None, ("AWS load balancer",), 3),
    "cloudflare_522_connection_timed_out": (E.ServerError, None, ("Cloudflare",), 1),
    "nginx_503_limit_req": (E.ServerError, None, ("nginx",), 3),
    # the proxy's read timeout, not ours: retried per the table (504)
    "nginx_504_upstream_timeout": (E.GatewayTimeoutError, None, ("nginx", "read timeout"), 3),
    "caddy_504_upstream_timeout": (E.GatewayTimeoutError, None, ("Caddy", "read timeout"), 3),
    "envoy_504_upstream_timeout": (E.GatewayTimeoutError, None, ("Envoy",), 3),
    "haproxy_504_upstream_timeout": (E.GatewayTimeoutError, None, ("HAProxy",), 3),
    "traefik_504_upstream_timeout": (E.GatewayTimeoutError, None, ("Traefik",), 3),
    # an allow-list or firewall: the permission layer, naming the proxy, not the key
    "nginx_403_deny": (E.PermissionDeniedError, None, ("nginx", "allow-list"), 1),
    "caddy_403_deny": (E.PermissionDeniedError, None, ("Caddy",), 1),
    "apache_403_deny": (E.PermissionDeniedError, None, ("Apache",), 1),
    "traefik_403_deny": (E.PermissionDeniedError, None, ("Traefik",), 1),
    "cloudflare_403_waf_block": (E.PermissionDeniedError, None, ("Cloudflare",), 1),
    # plain HTTP to a TLS port: use https://
    "nginx_400_http_to_https_port": (E.SchemeMismatchError, "server_url", ("HTTPS",), 1),
    "caddy_400_http_to_https_port": (E.SchemeMismatchError, "server_url", ("HTTPS",), 1),
    "apache_400_http_to_https_port": (E.SchemeMismatchError, "server_url", ("HTTPS",), 1),
    # the proxy has no route at that path: the URL's path (a sub-path)
    "nginx_404_no_route": (E.RouteError, "server_url", ("nginx", "no route"), 1),
    "caddy_200_no_route": (E.RouteError, "server_url", ("Caddy", "empty body"), 1),
    # http:// that the proxy sends to https://: the POST is not turned into a GET
    "nginx_301_to_https": (E.RedirectedPostError, "server_url", ("loses the POST body",), 1),
}  # fmt: skip
# The server URL a row's answer was captured for, where its Location names it.
CAPTURED_AT = {"nginx_301_to_https": "http://127.0.0.1/tls"}
HINTS: dict[type[errors.OpenWebUIError], str] = {
    E.RequestTooLargeError: "body limit",
    E.ProxyAuthenticationError: "proxy's credentials",
    E.SignInRequiredError: "service token",
    E.GatewayTimeoutError: "stream=True",
    E.SchemeMismatchError: "https://",
    E.RedirectedPostError: "https://",
}


class Front:
    """Answers every chat with one recorded sample; `/api/version` is Open WebUI's (the walk)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.chats = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api/version"):
            return httpx.Response(404)
        self.chats += request.method == "POST"
        return front_response(self.name)


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "backoff_delay", lambda attempt, retry_after=None: 0.0)


def chat_through(name: str, **options: Any) -> tuple[errors.OpenWebUIError, Front]:
    front = Front(name)
    url = CAPTURED_AT.get(name, URL)
    client = OpenWebUIClient(
        url, KEY, transport=httpx.MockTransport(front), max_retries=2, **options
    )
    with pytest.raises(errors.OpenWebUIError) as caught:
        client.chat(CHAT)
    return caught.value, front


@pytest.mark.parametrize("name", list(ROWS))
def test_the_answer_is_read_as_whoever_sent_it(name: str) -> None:
    error_class, setting, words, requests = ROWS[name]
    error, front = chat_through(name)
    assert type(error) is error_class, repr(error)
    assert error.setting == setting, repr(error)
    for word in words:
        assert word in error.message, error.message
    assert front.chats == requests
    if error_class in HINTS:
        assert HINTS[error_class] in error.hint
    if error_class is not E.AuthenticationError:
        assert "API key" not in error.hint  # nothing in front is the key's fault


def test_a_sign_in_gate_never_says_use_https() -> None:
    for name in [n for n, row in ROWS.items() if row[0] is E.SignInRequiredError]:
        error, _ = chat_through(name)
        assert "https://" not in error.hint, name


def test_a_large_body_that_caddy_answers_with_502_mentions_its_body_limit() -> None:
    front = Front("caddy_502_body_too_large")
    client = OpenWebUIClient(URL, KEY, transport=httpx.MockTransport(front), max_retries=0)
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 1_500_000}]}
    with pytest.raises(errors.ServerError) as caught:
        client.chat(big)
    assert "1.5 MB" in caught.value.message
    assert "body limit" in caught.value.message
    small, _ = chat_through("caddy_502_body_too_large")
    assert "body limit" not in small.message  # a small request: Caddy could not reach Open WebUI


def test_the_size_sent_is_in_the_too_large_message() -> None:
    front = Front("nginx_413_body_too_large")
    client = OpenWebUIClient(URL, KEY, transport=httpx.MockTransport(front), max_retries=2)
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 2_000_000}]}
    with pytest.raises(errors.RequestTooLargeError) as caught:
        client.chat(big)
    assert "2.0 MB" in caught.value.message
    assert front.chats == 1


def test_open_webuis_own_html_page_stays_a_route_error() -> None:
    error, _ = chat_through("nginx_200_owui_page")
    assert type(error) is E.RouteError
    assert "web UI's HTML page" in error.message


def test_a_sign_in_redirect_says_it_was_not_followed() -> None:
    error, _ = chat_through("nginx_302_signin")
    assert "the redirect was not followed" in error.message
    assert "nothing (the key included) was sent to the sign-in page" in error.message


def test_a_get_sent_to_another_port_is_not_called_a_lost_post() -> None:
    """http://host:8080 that redirects to https://host (nginx's 301): a GET is not followed to
    another origin, and the error names where it goes, not a POST turned into a GET."""
    front = Front("nginx_301_to_https")
    client = OpenWebUIClient(
        "http://127.0.0.1:8080/tls", KEY, transport=httpx.MockTransport(front), max_retries=0
    )
    with pytest.raises(errors.RouteError) as caught:
        client.list_models()
    assert type(caught.value) is E.RouteError, repr(caught.value)
    assert "POST" not in caught.value.message
    assert "it was not followed" in caught.value.message
    assert "https://127.0.0.1" in caught.value.hint


def test_a_proxys_empty_success_is_a_route_error_wherever_it_is_read() -> None:
    """Caddy's empty 200 for a path it has no route for, read as a failed answer (the doctor's
    /api/version), blames the URL's sub-path, not "ask whoever runs the proxy"."""
    response = front_response("caddy_200_no_route")
    response.request = httpx.Request("GET", f"{URL}/api/version")
    error = error_from_response(response)
    assert type(error) is E.RouteError, repr(error)
    assert "Caddy in front of Open WebUI has no route" in error.message
    assert "sub-path" in error.hint


def test_https_to_a_plain_port_quotes_the_tls_failure_once() -> None:
    text = "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"
    exc = httpx.ConnectError(text)
    exc.__cause__ = ConnectionError(text)  # httpx and httpcore repeat their cause's text
    error = error_from_transport(exc, f"{URL.replace('http', 'https')}/api/chat/completions")
    assert type(error) is E.SchemeMismatchError, repr(error)
    assert error.message.count("wrong version number") == 1, error.message


@pytest.mark.parametrize("name", ["nginx_401_owui_nokey", "caddy_401_owui_nokey"])
def test_open_webuis_no_key_401_with_a_key_header_says_the_release_may_not_read_it(
    name: str,
) -> None:
    """Behind basic auth the key travels in x-api-key, which Open WebUI reads from 0.8.4 on: an
    older release answers 401 "Not authenticated", and the key itself is not at fault."""
    error, _ = chat_through(name, api_key_header="x-api-key")
    assert type(error) is E.AuthenticationError, repr(error)
    assert error.setting == "api_key_header"
    assert "0.8.4" in error.message
    assert "`token` cookie" in error.hint
    bearer, _ = chat_through(name)  # the key in Authorization: the key is what was refused
    assert bearer.setting == "api_key"


@pytest.mark.parametrize(
    ("body", "said"), [(b"", "an empty body"), (b"OK", "a body that is not JSON")]
)
def test_a_proxy_answering_200_without_json_is_named_with_what_it_sent(
    body: bytes, said: str
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:  # as caddy_200_no_route, or not empty
        return httpx.Response(200, headers={"Server": "Caddy"}, content=body)

    client = OpenWebUIClient(URL, KEY, transport=httpx.MockTransport(answer), max_retries=0)
    with pytest.raises(errors.RouteError) as caught:
        client.chat(CHAT)
    assert caught.value.message.startswith("Caddy in front of Open WebUI answered")
    assert f"with 200 and {said}" in caught.value.message


# -- the wording of each answer from in front: what the mutation pass found unasserted ----------


def diagnosed(
    status: int, headers: dict[str, str], body: str = "", request: httpx.Request | None = None
) -> errors.OpenWebUIError:
    """The error for one answer from in front, to `request` (a chat POST unless given)."""
    response = httpx.Response(status, headers=headers, text=body)
    response.request = request or httpx.Request("POST", f"{URL}/api/chat/completions", json=CHAT)
    return _diagnosis.error_from_response(response)


def test_a_proxy_that_does_not_name_itself_is_called_a_proxy() -> None:
    error = diagnosed(502, {})  # an empty 502 with no Server header
    assert type(error) is E.ServerError
    assert error.message.startswith("A proxy in front of Open WebUI could not reach Open WebUI")
    assert "behind the proxy" in error.hint


def test_a_named_proxy_is_named_with_the_evidence_and_in_the_hint() -> None:
    error, _ = chat_through("nginx_502_upstream_closed")
    assert error.message.startswith("nginx in front of Open WebUI could not reach Open WebUI")
    assert "(Server: nginx/1.22.1)" in error.message
    assert "behind nginx" in error.hint
    denied, _ = chat_through("nginx_403_deny")
    assert "ask whoever runs nginx" in denied.hint
    unnamed = diagnosed(403, {})
    assert "ask whoever runs the proxy" in unnamed.hint


def test_a_sign_in_gate_without_a_sign_in_address_says_only_what_answered() -> None:
    error, _ = chat_through("oauth2proxy_401_api")
    assert error.message.startswith(
        "oauth2-proxy in front of Open WebUI answered with its sign-in page (HTTP 401)"
    )


def test_a_sign_in_gate_that_does_not_name_itself_is_called_a_sign_in_gate() -> None:
    def to_sign_in(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "https://login.example.test/signin"})

    client = OpenWebUIClient(URL, KEY, transport=httpx.MockTransport(to_sign_in), max_retries=0)
    with pytest.raises(errors.SignInRequiredError) as caught:
        client.chat(CHAT)
    assert caught.value.message.startswith(
        "A sign-in gate in front of Open WebUI sent the call to its sign-in page at "
        "https://login.example.test/signin (HTTP 302)"
    )


def test_a_challenge_without_a_realm_names_none() -> None:
    error = diagnosed(401, {"Server": "nginx", "WWW-Authenticate": "Bearer"})
    assert type(error) is E.ProxyAuthenticationError
    assert "(HTTP 401)" in error.message
    assert "realm" not in error.message


def test_only_nginx_is_told_its_body_limit_setting() -> None:
    error, _ = chat_through("apache_413_body_too_large")
    assert "client_max_body_size" not in error.message


@pytest.mark.parametrize(
    ("request_sent", "size"),
    [
        (httpx.Request("POST", f"{URL}/api/chat/completions", content=b"x" * 500), "500 bytes"),
        (httpx.Request("GET", f"{URL}/api/models"), "the request"),  # no length sent
        (
            httpx.Request("POST", f"{URL}/api/chat/completions", headers={"Content-Length": "n/a"}),
            "the request",
        ),  # a length that is no number
    ],
)
def test_a_body_refused_as_too_large_is_sized_when_its_length_is_known(
    request_sent: httpx.Request, size: str
) -> None:
    error = diagnosed(413, {"Server": "nginx"}, request=request_sent)
    assert f"refused {size} as too large" in error.message


def test_a_too_large_answer_built_without_its_request_is_still_diagnosed() -> None:
    error = _diagnosis.error_from_response(front_response("nginx_413_body_too_large"))
    assert type(error) is E.RequestTooLargeError
    assert "refused the request as too large" in error.message


def test_a_proxys_own_bad_request_that_is_not_about_https_is_its_own() -> None:
    page = "<html><head><title>400 Request Header Or Cookie Too Large</title></head></html>"
    error = diagnosed(400, {"Server": "nginx", "Content-Type": "text/html"}, page)
    assert type(error) is E.FrontError
    assert "nginx in front of Open WebUI answered HTTP 400" in error.message


def test_a_proxys_405_is_a_path_it_has_no_route_for() -> None:
    error = diagnosed(405, {"Server": "nginx", "Content-Type": "text/html"}, "<html>405</html>")
    assert type(error) is E.RouteError
    assert "nginx in front of Open WebUI has no route" in error.message


def test_cloudflares_524_is_its_read_timeout() -> None:
    error = diagnosed(524, {"Server": "cloudflare", "CF-RAY": "8f0000000000-AMS"}, "timeout")
    assert type(error) is E.GatewayTimeoutError


def test_a_proxys_answer_below_500_it_has_no_words_for_is_a_front_error() -> None:
    error = diagnosed(429, {"Server": "nginx", "Content-Type": "text/html"}, "<html>429</html>")
    assert type(error) is E.FrontError
    assert error.message.startswith("nginx in front of Open WebUI answered HTTP 429")


def test_a_proxys_502_to_a_request_without_a_body_is_diagnosed() -> None:
    error = diagnosed(502, {"Server": "nginx"}, request=httpx.Request("GET", f"{URL}/api/models"))
    assert type(error) is E.ServerError
    assert "body limit" not in error.message
