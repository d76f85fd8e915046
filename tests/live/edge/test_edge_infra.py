"""Each deployment shape of stack/edge.py answers as the real deployment would, at the HTTP level.

Plain httpx, not the package: these prove the test infrastructure (what a real nginx and a real Caddy
answer), so the package's own edge tests can rely on it. The table is in stack/README.md, "Edge".
"""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
from edge_support import PROXIES, Edge

pytestmark = [pytest.mark.live, pytest.mark.parametrize("proxy", PROXIES)]

TWO_MB = b"x" * (2 * 1024 * 1024)


def decoy_authorization() -> str:
    """An Authorization value made for one test run, that no server knows (never a literal)."""
    return "Bearer " + secrets.token_hex(16)


def bearer(edge: Edge) -> dict[str, str]:
    return {"Authorization": f"Bearer {edge.api_key}"}


def model_ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text[:200]
    return {entry["id"] for entry in response.json()["data"]}


def from_openwebui(response: httpx.Response) -> bool:
    """Open WebUI answered: it sets X-Process-Time (nginx drops uvicorn's Server, Caddy keeps it)."""
    return "x-process-time" in response.headers


def test_tls_verifies_with_the_private_ca_and_fails_without_it(edge: Edge, proxy: str) -> None:
    url = edge.url(proxy, "tls") + "/api/version"
    response = httpx.get(url, verify=edge.tls())
    assert response.status_code == 200
    assert "version" in response.json()
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(url)


def test_http_to_the_tls_port_is_a_400_from_the_proxy(edge: Edge, proxy: str) -> None:
    response = httpx.get(edge.url(proxy, "tls_as_http") + "/api/models", headers=bearer(edge))
    assert response.status_code == 400
    expected = {
        "nginx": "The plain HTTP request was sent to HTTPS port",
        "caddy": "Client sent an HTTP request to an HTTPS server.",  # Go's net/http, no headers
    }
    assert expected[proxy] in response.text
    assert not from_openwebui(response)


def test_https_to_the_plain_port_fails_the_handshake(edge: Edge, proxy: str) -> None:
    with pytest.raises(httpx.ConnectError, match="SSL"):
        httpx.get(edge.url(proxy, "plain_as_https") + "/api/version", verify=edge.tls())


def test_plain_http_serves_openwebui_at_the_root(edge: Edge, proxy: str) -> None:
    response = httpx.get(edge.url(proxy, "plain") + "/api/models", headers=bearer(edge))
    assert "stub-gpt" in model_ids(response)
    assert from_openwebui(response)


def test_http_to_https_is_a_301_to_the_tls_url(edge: Edge, proxy: str) -> None:
    response = httpx.get(edge.url(proxy, "http_to_https") + "/api/models", headers=bearer(edge))
    assert response.status_code == 301
    assert response.headers["location"] == edge.url(proxy, "tls") + "/api/models"


def test_https_to_http_is_a_302_to_the_plain_recorder(edge: Edge, proxy: str) -> None:
    url = edge.url(proxy, "https_to_http") + "/api/models"
    response = httpx.get(url, headers=bearer(edge), verify=edge.tls())
    assert response.status_code == 302
    assert response.headers["location"] == edge.downgrade_url + "/api/models"


def test_subpath_serves_openwebui_under_webui_only(edge: Edge, proxy: str) -> None:
    url = edge.url(proxy, "subpath")
    assert url.endswith("/webui")
    response = httpx.get(url + "/api/version")
    assert response.status_code == 200
    assert "version" in response.json()
    models = httpx.get(url + "/api/models", headers=bearer(edge))
    assert "stub-gpt" in model_ids(models)
    # Without the prefix it is not Open WebUI: nginx 404s, Caddy answers an empty 200.
    root = httpx.get(url.removesuffix("/webui") + "/api/version")
    assert not from_openwebui(root)
    assert (root.status_code, root.text == "") == (
        (404, False) if proxy == "nginx" else (200, True)
    )
    slashless = httpx.get(url)
    assert slashless.status_code == (301 if proxy == "nginx" else 302)
    assert slashless.headers["location"].endswith("/webui/")


# Open WebUI reads the key from x-api-key since 0.8.4; from the `token` cookie in every release.
X_API_KEY_SINCE = (0, 8, 4)


def test_basic_auth_challenges_and_the_key_passes_outside_authorization(
    edge: Edge, proxy: str
) -> None:
    url = edge.url(proxy, "basic_auth") + "/api/models"
    challenged = httpx.get(url, headers=bearer(edge))
    assert challenged.status_code == 401
    assert challenged.headers["www-authenticate"] == 'Basic realm="Open WebUI"'
    assert not from_openwebui(challenged)
    # The proxy consumes Authorization: a Bearer key there never reaches Open WebUI.
    no_key = httpx.get(url, auth=edge.basic_auth)
    assert (no_key.status_code, no_key.json()) == (401, {"detail": "Not authenticated"})
    assert from_openwebui(no_key)
    by_cookie = httpx.get(url, auth=edge.basic_auth, cookies={"token": edge.api_key})
    assert "stub-gpt" in model_ids(by_cookie)
    by_header = httpx.get(url, auth=edge.basic_auth, headers={"x-api-key": edge.api_key})
    assert from_openwebui(by_header)
    if edge.openwebui_version >= X_API_KEY_SINCE:
        assert "stub-gpt" in model_ids(by_header)
    else:
        assert by_header.status_code == 401


def test_sso_redirects_to_another_host_unless_the_service_token_is_sent(
    edge: Edge, proxy: str
) -> None:
    url = edge.url(proxy, "sso") + "/api/models"
    redirected = httpx.get(url, headers=bearer(edge))
    assert redirected.status_code == 302
    location = httpx.URL(redirected.headers["location"])
    assert location.host == "127.0.0.2"
    assert str(location).startswith(edge.signin_url + "?rd=")
    passed = httpx.get(url, headers={**bearer(edge), **edge.service_token})
    assert "stub-gpt" in model_ids(passed)


def test_body_over_the_default_limit_is_refused_by_the_proxy(edge: Edge, proxy: str) -> None:
    url = edge.url(proxy, "body_limit") + "/api/chat/completions"
    headers = {**bearer(edge), "Content-Type": "application/json"}
    small = httpx.get(edge.url(proxy, "body_limit") + "/api/models", headers=bearer(edge))
    assert "stub-gpt" in model_ids(small)
    chunked = httpx.post(url, headers=headers, content=iter([TWO_MB]))
    assert chunked.status_code == 413
    assert not from_openwebui(chunked)
    sized = httpx.post(url, headers=headers, content=TWO_MB)
    # Caddy 2.6.2 turns the limit's error into a 502 when the body has a Content-Length.
    assert sized.status_code == (413 if proxy == "nginx" else 502)
    assert not from_openwebui(sized)


def test_stopped_upstream_is_a_502_from_the_proxy(edge: Edge, proxy: str) -> None:
    response = httpx.get(edge.url(proxy, "stopped_upstream") + "/api/models", headers=bearer(edge))
    assert response.status_code == 502
    assert not from_openwebui(response)


def test_short_read_timeout_is_a_504_within_seconds(edge: Edge, proxy: str) -> None:
    started = time.monotonic()
    response = httpx.get(
        edge.url(proxy, "slow_upstream") + "/api/models", headers=bearer(edge), timeout=20
    )
    assert response.status_code == 504
    assert time.monotonic() - started < 5


def test_allow_list_refuses_loopback_with_a_403(edge: Edge, proxy: str) -> None:
    response = httpx.get(edge.url(proxy, "allow_list") + "/api/models", headers=bearer(edge))
    assert response.status_code == 403
    assert not from_openwebui(response)


# --- what httpx alone does on redirects: the package must do better ------------------------------


def secrets_after_following(edge: Edge, url: str, headers: dict[str, str]) -> list[str]:
    """Follow `url`'s redirects with plain httpx; where the recorders saw any header value.

    Reusable: the package-level tests send the same request through the package's client and
    expect an empty list (or a refused redirect).
    """
    since = edge.recorder.mark()
    response = httpx.get(url, headers=headers, follow_redirects=True, verify=edge.tls())
    assert response.history, "no redirect was followed"
    return edge.recorder.secrets_seen(list(headers.values()), since)


def test_httpx_alone_leaks_custom_headers_on_cross_host_redirect(edge: Edge, proxy: str) -> None:
    headers = {"x-api-key": edge.api_key, "Authorization": decoy_authorization()}
    seen = secrets_after_following(edge, edge.url(proxy, "sso") + "/api/models", headers)
    # httpx drops Authorization across origins, but x-api-key reaches the sign-in host.
    assert seen == [f"signin {httpx.URL(edge.signin_url).netloc.decode()} GET: header x-api-key"]


def test_httpx_alone_leaks_custom_headers_on_https_to_http_redirect(edge: Edge, proxy: str) -> None:
    headers = {"x-api-key": edge.api_key, "Authorization": decoy_authorization()}
    seen = secrets_after_following(edge, edge.url(proxy, "https_to_http") + "/api/models", headers)
    host = httpx.URL(edge.downgrade_url).netloc.decode()
    assert seen == [f"downgrade {host} GET: header x-api-key"]
