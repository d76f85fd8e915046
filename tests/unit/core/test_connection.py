"""Shared pools: keyed on server, credentials and TLS only; bounded; closed by their last holder."""

from __future__ import annotations

import asyncio
import ssl
import warnings
from pathlib import Path

import certifi
import httpx
import pytest

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters import _connection as connection
from openwebui_adapters._connection import MAX_SHARED, reset_connections, shared_connections
from openwebui_adapters._settings import Settings
from openwebui_adapters._tls import ssl_context
from openwebui_adapters.errors import ConfigurationError

URL = "http://owui.test"
KEY = "sk-pool-0123456789"


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "OPENWEBUI_VERIFY"):
        monkeypatch.delenv(name, raising=False)
    reset_connections()


def test_headers_timeouts_and_retries_do_not_make_a_new_pool() -> None:
    clients = [
        OpenWebUIClient(URL, KEY, headers={"X-Trace": str(i)}, timeout=5 + i, max_retries=i)
        for i in range(50)
    ]
    assert {id(c.connection) for c in clients} == {id(clients[0].connection)}
    assert shared_connections() == 1


@pytest.mark.parametrize(
    "other",
    [
        {"server_url": "http://other.test"},
        {"api_key": "sk-pool-other-0123"},
        {"verify": False},
        {"verify": certifi.where()},
    ],
)
def test_server_key_and_tls_each_choose_their_own_pool(other: dict[str, object]) -> None:
    base = OpenWebUIClient(URL, KEY)
    options: dict[str, object] = {"server_url": URL, "api_key": KEY, **other}
    assert OpenWebUIClient(**options).connection is not base.connection  # type: ignore[arg-type]


def test_headers_and_timeouts_travel_with_each_request() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]})

    transport = httpx.MockTransport(answer)
    ask = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    OpenWebUIClient(URL, KEY, headers={"X-Trace": "a"}, timeout=7, transport=transport).chat(ask)
    OpenWebUIClient(
        URL, KEY, headers={"X-Trace": "b"}, timeout=3, connect_timeout=2, transport=transport
    ).chat(ask)
    assert [r.headers["x-trace"] for r in seen] == ["a", "b"]
    assert [r.extensions["timeout"]["read"] for r in seen] == [7, 3]
    assert seen[1].extensions["timeout"]["connect"] == 2
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in seen)


def test_the_registry_stays_bounded_and_a_dropped_pool_still_serves_its_client() -> None:
    first = OpenWebUIClient(URL, "sk-pool-000000000000")
    pool = first.connection.client
    clients = [OpenWebUIClient(URL, f"sk-pool-{i:012d}") for i in range(1, MAX_SHARED + 20)]
    assert shared_connections() == MAX_SHARED
    assert OpenWebUIClient(URL, "sk-pool-000000000000").connection is not first.connection
    assert first.connection.client is pool
    assert not pool.is_closed  # dropped from the registry, not closed under its client
    assert clients[-1].connection is OpenWebUIClient(URL, clients[-1].settings.api_key).connection


def test_closing_one_client_leaves_a_shared_pool_open_for_the_other() -> None:
    a, b = OpenWebUIClient(URL, KEY), OpenWebUIClient(URL, KEY, headers={"X-Trace": "b"})
    pool = b.connection.client
    a.close()
    a.close()  # a second close must not count as another client's
    assert not pool.is_closed
    assert b.connection.client is pool
    b.close()
    assert pool.is_closed, "the last holder closes the pool"


def test_aclose_leaves_a_shared_async_pool_open_for_the_other() -> None:
    async def main() -> tuple[bool, bool]:
        a, b = OpenWebUIClient(URL, KEY), OpenWebUIClient(URL, KEY)
        pool = b.connection.async_client
        await a.aclose()
        still_open = not pool.is_closed
        await b.aclose()
        return still_open, pool.is_closed

    assert asyncio.run(main()) == (True, True)


def test_a_private_transport_is_closed_by_its_client() -> None:
    client = OpenWebUIClient(URL, KEY, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    pool = client.connection.client
    client.close()
    assert pool.is_closed


# -- TLS trust --------------------------------------------------------------------------------
def test_verify_true_trusts_certifi() -> None:
    context, trust = ssl_context(True)
    assert trust == "certifi"
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.get_ca_certs()


def test_verify_false_checks_nothing() -> None:
    context, trust = ssl_context(False)
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname
    assert "NOT verified" in trust


def test_a_bundle_path_builds_a_context_without_httpx_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = OpenWebUIClient("https://owui.test", KEY, verify=certifi.where())
        _ = client.connection.client
    assert client.connection.trust == f"the CA bundle {certifi.where()}"
    assert client.connection.ssl_context.get_ca_certs()


def test_pools_with_the_same_trust_share_one_context() -> None:
    a = OpenWebUIClient(URL, KEY)
    b = OpenWebUIClient(URL, "sk-pool-another-key")
    assert a.connection is not b.connection
    assert a.connection.ssl_context is b.connection.ssl_context


def test_ssl_cert_env_is_read_with_the_settings(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(certifi.where()).read_text())
    environ = {"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(tmp_path)}
    settings = Settings.resolve(URL, KEY, environ=environ)
    assert settings.cert_env == (("SSL_CERT_FILE", str(bundle)), ("SSL_CERT_DIR", str(tmp_path)))
    assert settings.pool_key != Settings.resolve(URL, KEY, environ={}).pool_key
    _, trust = ssl_context(settings.verify, settings.cert_env)
    assert trust == f"SSL_CERT_FILE={bundle}, SSL_CERT_DIR={tmp_path}"
    # An explicit choice wins over the environment.
    assert Settings.resolve(URL, KEY, verify=False, environ=environ).cert_env == ()


@pytest.mark.parametrize(
    ("environ", "verify", "setting"),
    [
        ({}, "/nonexistent/ca.pem", "verify"),
        ({"OPENWEBUI_VERIFY": "/nonexistent/ca.pem"}, None, "OPENWEBUI_VERIFY"),
        ({"SSL_CERT_FILE": "/nonexistent/ca.pem"}, None, "SSL_CERT_FILE"),
    ],
)
def test_a_missing_bundle_names_the_setting_that_named_it(
    environ: dict[str, str], verify: str | None, setting: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.resolve(URL, KEY, verify=verify, environ=environ)
    assert info.value.setting == setting


def test_openwebui_verify_system_selects_the_os_store() -> None:
    pytest.importorskip("truststore")
    settings = Settings.resolve(URL, KEY, environ={"OPENWEBUI_VERIFY": "system"})
    assert settings.verify == "system"
    assert "system trust store" in connection.get_connection(settings).trust
