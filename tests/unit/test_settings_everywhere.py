"""Every setting reaches the core from every library, each by that library's own name (the
table written out here is the reader's copy of docs/configuration.md's; `SETTINGS` is the code's)."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from openwebui_adapters import Settings
from openwebui_adapters._settings import SETTINGS

CONTEXT = ssl.create_default_context()
EXPECTED = {
    "server_url": "https://owui.example",
    "api_key": "sk-everywhere-0000",
    "timeout": 42.0,
    "connect_timeout": 4.0,
    "max_retries": 5,
    "verify": CONTEXT,
    "headers": (("X-Team", "blue"),),
    "api_key_header": "x-api-key",
}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def given(settings: Settings) -> dict[str, Any]:
    return {key: getattr(settings, key) for key in EXPECTED}


def test_the_core_client() -> None:
    from openwebui_adapters import OpenWebUIClient

    client = OpenWebUIClient(
        "https://owui.example",
        "sk-everywhere-0000",
        timeout=42,
        connect_timeout=4,
        max_retries=5,
        verify=CONTEXT,
        headers={"X-Team": "blue"},
        api_key_header="x-api-key",
    )
    assert given(client.settings) == EXPECTED


def test_litellm_by_its_names() -> None:
    pytest.importorskip("litellm")
    from openwebui_adapters.litellm._calls import Call

    call = Call.of(
        {
            "model": "llama3.2",
            "api_base": "https://owui.example",
            "api_key": "sk-everywhere-0000",
            "timeout": httpx.Timeout(42, connect=4),
            "optional_params": {
                "max_retries": 5,
                "extra_headers": {"X-Team": "blue"},
                "api_key_header": "x-api-key",
            },
            "litellm_params": {"ssl_verify": CONTEXT},
        }
    )
    settings = call.client.settings
    expected = {**EXPECTED, "verify": settings.verify}  # LiteLLM builds its own context from it
    assert given(settings) == expected
    assert isinstance(settings.verify, ssl.SSLContext)
    assert "api_key_header" not in call.body()  # a setting, not a body parameter


def test_langchain_by_its_names() -> None:
    pytest.importorskip("langchain_core")
    from openwebui_adapters.langchain import ChatOpenWebUI, OpenWebUIEmbeddings, OpenWebUIRetriever

    options: dict[str, Any] = {
        "base_url": "https://owui.example",
        "api_key": "sk-everywhere-0000",
        "timeout": 42,
        "connect_timeout": 4,
        "max_retries": 5,
        "verify": CONTEXT,
        "default_headers": {"X-Team": "blue"},
        "api_key_header": "x-api-key",
    }
    for made in (
        ChatOpenWebUI(model="llama3.2", **options),
        OpenWebUIEmbeddings(model="nomic-embed-text", **options),
        OpenWebUIRetriever(knowledge=["Team handbook"], **options),
    ):
        assert given(made.core_client().settings) == EXPECTED, type(made).__name__


def test_smolagents_by_its_names() -> None:
    pytest.importorskip("smolagents")
    from openwebui_adapters.smolagents import OpenWebUIModel

    model = OpenWebUIModel(
        "llama3.2",
        api_base="https://owui.example",
        api_key="sk-everywhere-0000",
        timeout=42,
        connect_timeout=4,
        max_retries=5,
        verify=CONTEXT,
        headers={"X-Team": "blue"},
        api_key_header="x-api-key",
    )
    assert given(model.client.settings) == EXPECTED


def test_the_docs_table_is_the_settings_table() -> None:
    """docs/configuration.md's table of names says what SETTINGS maps (one row per setting)."""
    rows = re.findall(
        r"^\| [^|]+ \| `(\w+)` \| `(\w+)`[^|]* \| `(\w+)` \| `(\w+)` \|", DOCS.read_text(), re.M
    )
    assert [(spec.key, spec.litellm, spec.langchain, spec.smolagents) for spec in SETTINGS] == rows
