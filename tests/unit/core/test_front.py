"""identify() names who sent each real answer in tests/data/front/ (README.md there: provenance)."""

from __future__ import annotations

import pytest

from openwebui_adapters._front import Responder, identify
from samples import FRONT, front_sample

FRONT_DATA = FRONT
# Every capture ran on 127.0.0.1; the documented samples' hosts (example.com) differ on purpose.
REQUEST_URL = "http://127.0.0.1:18081/api/chat/completions"
REQUEST_URLS = {
    "keycloak_200_login_page": (
        "https://keycloak.example.com/realms/company/protocol/openid-connect/auth?client_id=x"
    ),
}


def load(name: str) -> tuple[int, dict[str, str], str]:
    """Status, headers as sent (repeated ones joined as httpx does) and body of sample `name`."""
    status, headers, body = front_sample(name)
    return status, headers, body.decode("utf-8", "replace")


def identify_sample(name: str) -> Responder:
    status, headers, body = load(name)
    return identify(status, headers, body, request_url=REQUEST_URLS.get(name, REQUEST_URL))


# sample -> (kind, name): written out by hand, one row per file set in tests/data/front/
EXPECTED = {
    "apache_200_owui_page": ("open_webui_page", "Open WebUI"),
    "apache_302_signin": ("sso", "oauth2-proxy"),
    "apache_400_http_to_https_port": ("proxy", "Apache"),
    "apache_401_basic_auth": ("proxy", "Apache"),
    "apache_401_owui_nokey": ("open_webui", "Open WebUI"),
    "apache_403_deny": ("proxy", "Apache"),
    "apache_404_no_route": ("proxy", "Apache"),
    "apache_413_body_too_large": ("proxy", "Apache"),
    "apache_502_upstream_timeout": ("proxy", "Apache"),
    "apache_503_upstream_closed": ("proxy", "Apache"),
    "authelia_302_browser": ("sso", "Authelia"),
    "authelia_401_api": ("sso", "Authelia"),
    "authelia_403_forbidden": ("proxy", None),
    "aws_alb_502_bad_gateway": ("proxy", "AWS load balancer"),
    "caddy_200_no_route": ("proxy", "Caddy"),
    "caddy_200_owui_page": ("open_webui_page", "Open WebUI"),
    "caddy_302_signin": ("sso", "oauth2-proxy"),
    "caddy_308_to_https": ("proxy", "Caddy"),
    "caddy_400_http_to_https_port": ("proxy", None),
    "caddy_401_basic_auth": ("proxy", "Caddy"),
    "caddy_401_owui_nokey": ("open_webui", "Open WebUI"),
    "caddy_403_deny": ("proxy", "Caddy"),
    "caddy_502_body_too_large": ("proxy", "Caddy"),
    "caddy_502_upstream_closed": ("proxy", "Caddy"),
    "caddy_504_upstream_timeout": ("proxy", "Caddy"),
    "cloudflare_403_waf_block": ("cdn", "Cloudflare"),
    "cloudflare_520_unknown_error": ("cdn", "Cloudflare"),
    "cloudflare_522_connection_timed_out": ("cdn", "Cloudflare"),
    "cloudflare_530_tunnel_error": ("cdn", "Cloudflare"),
    "cloudflare_access_302_login": ("sso", "Cloudflare Access"),
    "cloudflare_access_403_forbidden": ("sso", "Cloudflare Access"),
    "envoy_200_owui_page": ("open_webui_page", "Open WebUI"),
    "envoy_302_signin": ("sso", "oauth2-proxy"),
    "envoy_401_basic_auth": ("proxy", "Envoy"),
    "envoy_401_owui_nokey": ("open_webui", "Open WebUI"),
    "envoy_403_deny": ("proxy", "Envoy"),
    "envoy_404_no_route": ("proxy", "Envoy"),
    "envoy_413_body_too_large": ("proxy", "Envoy"),
    "envoy_503_no_healthy_upstream": ("proxy", "Envoy"),
    "envoy_503_upstream_closed": ("proxy", "Envoy"),
    "envoy_504_upstream_timeout": ("proxy", "Envoy"),
    "haproxy_200_owui_page": ("open_webui_page", "Open WebUI"),
    "haproxy_302_signin": ("sso", "oauth2-proxy"),
    "haproxy_401_basic_auth": ("proxy", "HAProxy"),
    "haproxy_401_owui_nokey": ("open_webui", "Open WebUI"),
    "haproxy_403_deny": ("proxy", "HAProxy"),
    "haproxy_413_body_too_large": ("proxy", "HAProxy"),
    "haproxy_502_bad_response": ("proxy", "HAProxy"),
    "haproxy_503_no_route": ("proxy", "HAProxy"),
    "haproxy_503_upstream_closed": ("proxy", "HAProxy"),
    "haproxy_504_upstream_timeout": ("proxy", "HAProxy"),
    "keycloak_200_login_page": ("sso", "Keycloak"),
    "nginx_200_owui_page": ("open_webui_page", "Open WebUI"),
    "nginx_301_to_https": ("proxy", "nginx"),
    "nginx_302_signin": ("sso", "oauth2-proxy"),
    "nginx_400_http_to_https_port": ("proxy", "nginx"),
    "nginx_401_basic_auth": ("proxy", "nginx"),
    "nginx_401_owui_nokey": ("open_webui", "Open WebUI"),
    "nginx_403_deny": ("proxy", "nginx"),
    "nginx_403_deny_tokens_off": ("proxy", "nginx"),
    "nginx_404_no_route": ("proxy", "nginx"),
    "nginx_405_owui_put": ("open_webui", "Open WebUI"),
    "nginx_413_body_too_large": ("proxy", "nginx"),
    "nginx_500_owui_crash": ("open_webui", "Open WebUI"),
    "nginx_502_upstream_closed": ("proxy", "nginx"),
    "nginx_503_limit_req": ("proxy", "nginx"),
    "nginx_504_upstream_timeout": ("proxy", "nginx"),
    "oauth2proxy_302_google": ("sso", "Google sign-in"),
    "oauth2proxy_302_keycloak": ("sso", "Keycloak"),
    "oauth2proxy_302_microsoft": ("sso", "Microsoft sign-in"),
    "oauth2proxy_401_api": ("sso", "oauth2-proxy"),
    "oauth2proxy_403_sign_in_page": ("sso", "oauth2-proxy"),
    "openwebui_200_page": ("open_webui_page", "Open WebUI"),
    "openwebui_400_unknown_model": ("open_webui", "Open WebUI"),
    "openwebui_401_badjwt": ("open_webui", "Open WebUI"),
    "openwebui_401_badkey": ("open_webui", "Open WebUI"),
    "openwebui_401_nokey": ("open_webui", "Open WebUI"),
    "openwebui_403_apikeys_disabled": ("open_webui", "Open WebUI"),
    "openwebui_403_passthrough_disabled": ("open_webui", "Open WebUI"),
    "openwebui_404_unknown_model": ("open_webui", "Open WebUI"),
    "openwebui_405_method": ("open_webui", "Open WebUI"),
    "openwebui_422_invalid_json": ("open_webui", "Open WebUI"),
    "openwebui_429_upstream": ("open_webui", "Open WebUI"),
    "openwebui_500_plain": ("open_webui", "Open WebUI"),
    "openwebui_500_upstream_down": ("open_webui", "Open WebUI"),
    "squid_407_proxy_auth": ("proxy", "Squid"),
    "traefik_200_owui_page": ("open_webui_page", "Open WebUI"),
    "traefik_302_signin": ("sso", "oauth2-proxy"),
    "traefik_401_basic_auth": ("proxy", "Traefik"),
    "traefik_401_owui_nokey": ("open_webui", "Open WebUI"),
    "traefik_403_deny": ("proxy", "Traefik"),
    "traefik_404_no_route": ("proxy", "Traefik"),
    "traefik_413_body_too_large": ("proxy", "Traefik"),
    "traefik_502_upstream_closed": ("proxy", "Traefik"),
    "traefik_504_upstream_timeout": ("proxy", "Traefik"),
}
# Products the headers name, also on Open WebUI's own answers (empty elsewhere)
FRONT = {
    "apache_302_signin": ("Apache",),
    "apache_400_http_to_https_port": ("Apache",),
    "apache_401_basic_auth": ("Apache",),
    "apache_403_deny": ("Apache",),
    "apache_404_no_route": ("Apache",),
    "apache_413_body_too_large": ("Apache",),
    "apache_502_upstream_timeout": ("Apache",),
    "apache_503_upstream_closed": ("Apache",),
    "aws_alb_502_bad_gateway": ("AWS load balancer",),
    "caddy_200_no_route": ("Caddy",),
    "caddy_200_owui_page": ("Caddy",),
    "caddy_302_signin": ("Caddy",),
    "caddy_308_to_https": ("Caddy",),
    "caddy_401_basic_auth": ("Caddy",),
    "caddy_401_owui_nokey": ("Caddy",),
    "caddy_403_deny": ("Caddy",),
    "caddy_502_body_too_large": ("Caddy",),
    "caddy_502_upstream_closed": ("Caddy",),
    "caddy_504_upstream_timeout": ("Caddy",),
    "cloudflare_403_waf_block": ("Cloudflare",),
    "cloudflare_520_unknown_error": ("Cloudflare",),
    "cloudflare_522_connection_timed_out": ("Cloudflare",),
    "cloudflare_530_tunnel_error": ("Cloudflare",),
    "cloudflare_access_302_login": ("Cloudflare",),
    "cloudflare_access_403_forbidden": ("Cloudflare",),
    "envoy_200_owui_page": ("Envoy",),
    "envoy_302_signin": ("Envoy",),
    "envoy_401_basic_auth": ("Envoy",),
    "envoy_401_owui_nokey": ("Envoy",),
    "envoy_403_deny": ("Envoy",),
    "envoy_404_no_route": ("Envoy",),
    "envoy_413_body_too_large": ("Envoy",),
    "envoy_503_no_healthy_upstream": ("Envoy",),
    "envoy_503_upstream_closed": ("Envoy",),
    "envoy_504_upstream_timeout": ("Envoy",),
    "nginx_200_owui_page": ("nginx",),
    "nginx_301_to_https": ("nginx",),
    "nginx_302_signin": ("nginx",),
    "nginx_400_http_to_https_port": ("nginx",),
    "nginx_401_basic_auth": ("nginx",),
    "nginx_401_owui_nokey": ("nginx",),
    "nginx_403_deny": ("nginx",),
    "nginx_403_deny_tokens_off": ("nginx",),
    "nginx_404_no_route": ("nginx",),
    "nginx_405_owui_put": ("nginx",),
    "nginx_413_body_too_large": ("nginx",),
    "nginx_500_owui_crash": ("nginx",),
    "nginx_502_upstream_closed": ("nginx",),
    "nginx_503_limit_req": ("nginx",),
    "nginx_504_upstream_timeout": ("nginx",),
    "squid_407_proxy_auth": ("Squid",),
}
WANTS_HTTPS = {
    "apache_400_http_to_https_port",
    "caddy_308_to_https",
    "caddy_400_http_to_https_port",
    "nginx_301_to_https",
    "nginx_400_http_to_https_port",
}
REALM = {
    "apache_401_basic_auth": "Open WebUI",
    "caddy_401_basic_auth": "restricted",
    "envoy_401_basic_auth": "http://127.0.0.1:18581/basic/api/chat/completions",
    "haproxy_401_basic_auth": "Open WebUI",
    "nginx_401_basic_auth": "Open WebUI",
    "squid_407_proxy_auth": "Company proxy",
    "traefik_401_basic_auth": "traefik",
}
SIGN_IN_URL = {
    "apache_302_signin": "https://auth.example.com/oauth2/start",
    "authelia_302_browser": "https://auth.example.com/",
    "authelia_401_api": "https://auth.example.com/",
    "caddy_302_signin": "https://auth.example.com/oauth2/start",
    "cloudflare_access_302_login": "https://example-team.cloudflareaccess.com/cdn-cgi/access/login/openwebui.example.com",
    "envoy_302_signin": "https://auth.example.com/oauth2/start",
    "haproxy_302_signin": "https://auth.example.com/oauth2/start",
    "keycloak_200_login_page": "https://keycloak.example.com/realms/company/protocol/openid-connect/auth",
    "nginx_302_signin": "https://auth.example.com/oauth2/start",
    "oauth2proxy_302_google": "https://accounts.google.com/o/oauth2/auth",
    "oauth2proxy_302_keycloak": "https://keycloak.example.com/realms/company/protocol/openid-connect/auth",
    "oauth2proxy_302_microsoft": "https://login.microsoftonline.com/common/oauth2/authorize",
    "oauth2proxy_403_sign_in_page": "http://127.0.0.1:18081/api/chat/completions",
    "traefik_302_signin": "https://auth.example.com/oauth2/start",
}


def test_every_sample_has_an_expected_row() -> None:
    samples = {path.name.removesuffix(".status") for path in FRONT_DATA.glob("*.status")}
    assert samples == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_is_identified_as_its_product(name: str) -> None:
    found = identify_sample(name)
    assert (found.kind, found.name) == EXPECTED[name]
    assert found.front == FRONT.get(name, ())
    assert found.wants_https == (name in WANTS_HTTPS)
    assert found.realm == REALM.get(name)
    assert found.sign_in_url == SIGN_IN_URL.get(name)
    assert found.evidence


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("openwebui_")))
def test_open_webui_answers_stay_open_webui_through_any_proxy(name: str) -> None:
    """Open WebUI's own answers, relayed by each product with that product's headers added."""
    status, headers, body = load(name)
    for added in (
        {"Server": "nginx/1.22.1"},
        {"Server": "Caddy, uvicorn"},
        {"server": "envoy", "x-envoy-upstream-service-time": "6"},
        {"Server": "cloudflare", "CF-RAY": "9927494edd3304f4-FRA"},
        {"Server": "awselb/2.0"},
        {"Via": "1.1 vm (squid/5.7)"},
    ):
        found = identify(status, {**headers, **added}, body, request_url=REQUEST_URL)
        assert found.kind in ("open_webui", "open_webui_page"), added
        assert found.name == "Open WebUI"
        assert found.front, added


def test_relayed_upstream_error_is_open_webui_by_its_process_time_header() -> None:
    status, headers, body = load("openwebui_429_upstream")  # {"error": ...} from the model backend
    headers["server"] = "nginx/1.22.1"
    found = identify(status, headers, body, request_url=REQUEST_URL)
    assert (found.kind, found.front) == ("open_webui", ("nginx",))
    assert found.evidence == "X-Process-Time header"


@pytest.mark.parametrize(
    ("marker", "replacement"),
    [("<title>Open WebUI</title>", "<title>Acme Chat</title>"), ("/static/splash.png", "/x.png")],
)
def test_open_webui_page_is_known_by_either_marker(marker: str, replacement: str) -> None:
    """A rebranded title, or a build without the splash image, is still Open WebUI's page."""
    status, headers, body = load("openwebui_200_page")
    found = identify(status, headers, body.replace(marker, replacement), request_url=REQUEST_URL)
    assert found.kind == "open_webui_page"


def test_fastapi_detail_alone_marks_open_webui() -> None:
    """A proxy that passes only some headers drops X-Process-Time; the body still tells."""
    status, headers, body = load("nginx_401_owui_nokey")
    headers = {key: value for key, value in headers.items() if key != "x-process-time"}
    found = identify(status, headers, body, request_url=REQUEST_URL)
    assert (found.kind, found.evidence) == ("open_webui", '{"detail": "Not authenticated"}')


def test_keycloak_page_is_known_by_its_form_at_any_url() -> None:
    """The page reached by following redirects, reported with the URL first asked for."""
    status, headers, body = load("keycloak_200_login_page")
    found = identify(status, headers, body, request_url=REQUEST_URL)
    assert (found.kind, found.name) == ("sso", "Keycloak")


@pytest.mark.parametrize(
    ("name", "product", "evidence"),
    [
        ("nginx_502_upstream_closed", "nginx", "<hr><center>nginx/1.22.1</center>"),
        ("apache_503_upstream_closed", "Apache", "Apache/2.4.71 (Debian) Server at 127.0.0.1"),
        ("envoy_503_upstream_closed", "Envoy", "upstream connect error or disconnect/reset"),
    ],
)
def test_error_page_names_its_product_when_no_header_does(
    name: str, product: str, evidence: str
) -> None:
    """`server_tokens off` plus a header filter, or Envoy's `server_header_transformation`."""
    status, headers, body = load(name)
    headers = {key: value for key, value in headers.items() if key.lower() != "server"}
    found = identify(status, headers, body, request_url=REQUEST_URL)
    assert (found.kind, found.name, found.front) == ("proxy", product, ())
    assert evidence in found.evidence


@pytest.mark.parametrize(
    ("headers", "kind", "product", "evidence"),
    [
        ({"CF-RAY": "72c77ad49d4ebb83-FRA"}, "cdn", "Cloudflare", "cf-ray: 72c77ad49d4ebb83-FRA"),
        (
            {"x-envoy-upstream-service-time": "3"},
            "proxy",
            "Envoy",
            "x-envoy-upstream-service-time: 3",
        ),
        ({"Via": "1.1 varnish"}, "proxy", "varnish", "Via: 1.1 varnish"),
        ({"Server": "Microsoft-IIS/10.0"}, "proxy", "microsoft-iis", "Server: Microsoft-IIS/10.0"),
        ({"server": "istio-envoy"}, "proxy", "Envoy", "Server: istio-envoy"),
    ],
)
def test_headers_alone_name_what_answered(
    headers: dict[str, str], kind: str, product: str, evidence: str
) -> None:
    found = identify(502, headers, "<html>Bad gateway</html>", request_url=REQUEST_URL)
    assert (found.kind, found.name, found.evidence) == (kind, product, evidence)


@pytest.mark.parametrize(
    ("location", "kind", "product", "sign_in_url"),
    [
        # Cloudflare Access on the application's own domain
        (
            "https://openwebui.example.com/cdn-cgi/access/login?redirect_url=%2F",
            "sso",
            "Cloudflare Access",
            "https://openwebui.example.com/cdn-cgi/access/login",
        ),
        # Keycloak's login form action
        (
            "https://id.example.com/realms/a/login-actions/authenticate?session_code=s",
            "sso",
            "Keycloak",
            "https://id.example.com/realms/a/login-actions/authenticate",
        ),
        # Authelia served under a path of the same host
        ("/portal/?rd=%2Fapi%2Fmodels&rm=GET", "sso", "Authelia", "http://127.0.0.1:18081/portal/"),
        # same host, a sign-in path
        ("/login?next=%2Fapi%2Fmodels", "sso", None, "http://127.0.0.1:18081/login"),
        ("/signin", "sso", None, "http://127.0.0.1:18081/signin"),
        ("/users/sign_in", "sso", None, "http://127.0.0.1:18081/users/sign_in"),
        ("/sign-in", "sso", None, "http://127.0.0.1:18081/sign-in"),
        ("/auth/", "sso", None, "http://127.0.0.1:18081/auth/"),
        ("/sso/start", "sso", None, "http://127.0.0.1:18081/sso/start"),
        ("https://sso.example.org/", "sso", None, "https://sso.example.org/"),  # another host
        ("/maintenance.html", "unknown", "nginx", None),  # same host, not a sign-in page
        # the same route on another host: the server moved, no sign-in
        ("https://new-host.example/api/chat/completions", "unknown", "nginx", None),
    ],
)
def test_redirect_target_says_where_it_sends_the_client(
    location: str, kind: str, product: str | None, sign_in_url: str | None
) -> None:
    status, headers, body = load("nginx_302_signin")
    headers["Location"] = location
    found = identify(status, headers, body, request_url=REQUEST_URL)
    assert (found.kind, found.name, found.sign_in_url) == (kind, product, sign_in_url)


@pytest.mark.parametrize(
    ("url", "product"),
    [
        ("https://login.microsoftonline.com/common/oauth2/v2.0/authorize", "Microsoft sign-in"),
        ("https://login.live.com/oauth20_authorize.srf", "Microsoft sign-in"),
        ("https://accounts.google.com/o/oauth2/auth", "Google sign-in"),
    ],
)
def test_page_reached_on_an_identity_provider_host_is_its_sign_in(url: str, product: str) -> None:
    found = identify(
        200, {"Content-Type": "text/html"}, "<html></html>", request_url=url + "?state=s"
    )
    assert (found.kind, found.name, found.sign_in_url) == ("sso", product, url)


def test_page_from_another_host_than_the_server_is_foreign() -> None:
    found = identify(
        200,
        {"Content-Type": "text/html"},
        "<html><title>Company portal</title></html>",
        request_url="https://portal.example.org/welcome",
        server_url="https://openwebui.example.com",
    )
    assert (found.kind, found.name) == ("sso", None)
    assert found.sign_in_url == "https://portal.example.org/welcome"


@pytest.mark.parametrize("body", ['{"data": []}', '"see the detail"', "[1, 2]"])
def test_json_that_is_not_fastapis_from_an_unnamed_server_is_unknown(body: str) -> None:
    found = identify(200, {"Content-Type": "application/json"}, body, request_url=REQUEST_URL)
    assert (found.kind, found.name) == ("unknown", None)
