"""TLS trust against a real handshake: the fault server over TLS with a self-signed certificate.

Each way of saying what to trust (a CA-bundle path, an `ssl.SSLContext`, `SSL_CERT_FILE`,
`OPENWEBUI_VERIFY`, the system store) must reach the calls and the doctor alike, with no httpx
deprecation warning, and the doctor names the trust source it checked.
"""

from __future__ import annotations

import ssl
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from server import FaultServer

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._connection import reset_connections
from openwebui_adapters.doctor import Doctor
from openwebui_adapters.errors import ConfigurationError, TLSError

KEY = "sk-tls-0123456789"
ASK = {"model": "llama3:latest", "messages": [{"role": "user", "content": "Say hello."}]}


@pytest.fixture
def tls_server(self_signed: ssl.SSLContext) -> Iterator[FaultServer]:
    reset_connections()  # contexts are per pool: start from none
    with FaultServer(tls=self_signed) as server:
        yield server
    reset_connections()


@pytest.fixture
def ca_bundle(self_signed_cert: tuple[Path, Path]) -> str:
    return str(self_signed_cert[0])


@pytest.fixture(autouse=True)
def _no_tls_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "OPENWEBUI_VERIFY"):
        monkeypatch.delenv(name, raising=False)


def chat_over_tls(url: str, **options: object) -> str:
    """One chat call with every warning an error (httpx warns on `verify=<str>`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = OpenWebUIClient(url, KEY, max_retries=0, **options)  # type: ignore[arg-type]
        answer = client.chat(ASK)
    return str(answer["choices"][0]["message"]["content"])


def tls_line(url: str, **options: object) -> tuple[bool | None, str]:
    """The doctor's TLS verdict and its line."""
    doctor = Doctor(url, KEY, **options)  # type: ignore[arg-type]
    result = next(r for r in doctor.run() if r.name == "tls")
    return result.ok, result.detail


def test_a_ca_bundle_path_verifies_without_a_deprecation_warning(
    tls_server: FaultServer, ca_bundle: str
) -> None:
    assert chat_over_tls(tls_server.url, verify=ca_bundle) == "Hello from the fault server."
    ok, detail = tls_line(tls_server.url, verify=ca_bundle)
    assert ok is True
    assert f"the CA bundle {ca_bundle}" in detail


def test_an_ssl_context_is_used_as_given(tls_server: FaultServer, ca_bundle: str) -> None:
    context = ssl.create_default_context(cafile=ca_bundle)
    assert chat_over_tls(tls_server.url, verify=context) == "Hello from the fault server."
    assert OpenWebUIClient(tls_server.url, KEY, verify=context).connection.ssl_context is context
    ok, detail = tls_line(tls_server.url, verify=context)
    assert ok is True
    assert "custom ssl.SSLContext" in detail


def test_ssl_cert_file_is_honoured(
    tls_server: FaultServer, ca_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    assert chat_over_tls(tls_server.url) == "Hello from the fault server."
    ok, detail = tls_line(tls_server.url)
    assert ok is True
    assert f"SSL_CERT_FILE={ca_bundle}" in detail


def test_openwebui_verify_names_a_bundle_from_the_environment(
    tls_server: FaultServer, ca_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENWEBUI_VERIFY", ca_bundle)
    assert chat_over_tls(tls_server.url) == "Hello from the fault server."


def test_certifi_by_default_and_the_doctor_agrees_with_the_calls(tls_server: FaultServer) -> None:
    with pytest.raises(TLSError):
        chat_over_tls(tls_server.url)
    ok, detail = tls_line(tls_server.url)
    assert ok is False
    assert "certifi" in detail


def test_the_system_store_through_truststore(tls_server: FaultServer) -> None:
    pytest.importorskip("truststore")
    client = OpenWebUIClient(tls_server.url, KEY, verify="system", max_retries=0)
    assert type(client.connection.ssl_context).__module__.startswith("truststore")
    with pytest.raises(TLSError):  # the operating system has never heard of this certificate
        client.chat(ASK)
    ok, detail = tls_line(tls_server.url, verify="system")
    assert ok is False
    assert "system trust store" in detail


def test_the_system_store_without_truststore_names_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "truststore", None)  # as if it were not installed
    with pytest.raises(ConfigurationError) as info:
        OpenWebUIClient("https://owui.test", KEY, verify="system")
    assert info.value.setting == "verify"
    assert "truststore" in info.value.hint
    monkeypatch.setenv("OPENWEBUI_VERIFY", "system")
    with pytest.raises(ConfigurationError) as info:
        OpenWebUIClient("https://owui.test", KEY)
    assert info.value.setting == "OPENWEBUI_VERIFY"


# -- LiteLLM: TLS where LiteLLM's users set it, for sync and async calls alike ------------------


@pytest.fixture
def litellm_tls(monkeypatch: pytest.MonkeyPatch) -> object:
    litellm = pytest.importorskip("litellm")
    import openwebui_adapters.litellm  # noqa: F401  (registers the provider)

    monkeypatch.setattr(litellm, "ssl_verify", True)
    monkeypatch.delenv("SSL_VERIFY", raising=False)
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    return litellm


def litellm_chat(litellm: object, url: str, *, asynchronous: bool, **options: object) -> str:
    import asyncio

    arguments = {
        "model": "openwebui/llama3:latest",
        "messages": ASK["messages"],
        "api_base": url,
        "api_key": KEY,
        "max_retries": 0,
        **options,
    }
    if asynchronous:
        response = asyncio.run(litellm.acompletion(**arguments))  # type: ignore[attr-defined]
    else:
        response = litellm.completion(**arguments)  # type: ignore[attr-defined]
    return str(response.choices[0].message.content)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_litellm_ssl_verify_on_the_call_reaches_sync_and_async(
    tls_server: FaultServer, ca_bundle: str, litellm_tls: object, asynchronous: bool
) -> None:
    from litellm import exceptions as llm_errors

    with pytest.raises(llm_errors.APIConnectionError) as refused:
        litellm_chat(litellm_tls, tls_server.url, asynchronous=asynchronous)
    assert isinstance(refused.value.__cause__, TLSError)
    assert refused.value.setting == "ssl_verify"  # type: ignore[attr-defined]  # LiteLLM's name
    answer = litellm_chat(
        litellm_tls, tls_server.url, asynchronous=asynchronous, ssl_verify=ca_bundle
    )
    assert answer == "Hello from the fault server."


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_litellm_global_ssl_verify_reaches_sync_and_async(
    tls_server: FaultServer,
    ca_bundle: str,
    litellm_tls: object,
    monkeypatch: pytest.MonkeyPatch,
    asynchronous: bool,
) -> None:
    monkeypatch.setattr(litellm_tls, "ssl_verify", ca_bundle)
    answer = litellm_chat(litellm_tls, tls_server.url, asynchronous=asynchronous)
    assert answer == "Hello from the fault server."


def test_a_proxy_caller_cannot_switch_verification_off(
    tls_server: FaultServer, litellm_tls: object
) -> None:
    """LiteLLM lets a Proxy request's body set `ssl_verify`; a caller's False is not obeyed."""
    from litellm import exceptions as llm_errors

    request = {"body": {"ssl_verify": False}}
    with pytest.raises(llm_errors.APIConnectionError) as refused:
        litellm_chat(
            litellm_tls,
            tls_server.url,
            asynchronous=False,
            ssl_verify=False,
            proxy_server_request=request,
        )
    assert isinstance(refused.value.__cause__, TLSError)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_router_deployments_ssl_verify_reaches_its_calls(
    tls_server: FaultServer, ca_bundle: str, litellm_tls: object, asynchronous: bool
) -> None:
    """The Proxy's per-model `litellm_params: {ssl_verify: ...}` is a Router deployment's."""
    import asyncio

    router = litellm_tls.Router(  # type: ignore[attr-defined]
        model_list=[
            {
                "model_name": "private-ca",
                "litellm_params": {
                    "model": "openwebui/llama3:latest",
                    "api_base": tls_server.url,
                    "api_key": KEY,
                    "ssl_verify": ca_bundle,
                    "max_retries": 0,
                },
            }
        ],
        num_retries=0,
    )
    if asynchronous:
        response = asyncio.run(router.acompletion(model="private-ca", messages=ASK["messages"]))
    else:
        response = router.completion(model="private-ca", messages=ASK["messages"])
    assert response.choices[0].message.content == "Hello from the fault server."
