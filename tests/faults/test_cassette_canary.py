"""A cassette recorded the way the suite records (vcrpy, `tests/vcr_support.py`) holds no key.

The calls go through the core and each adapter, and include a retried 503, a stream and a refused
key, so the cassette holds failed and retried exchanges as well as good ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import vcr
from server import CHAT, FaultServer, ok_chat, sample, sequence, status

import vcr_support
from openwebui_adapters import errors
from openwebui_adapters._client import OpenWebUIClient

MODEL = "llama3:latest"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def test_a_recorded_cassette_holds_no_key(
    tmp_path: Path, fault_server: FaultServer, canary: str, backoff: Any
) -> None:
    import litellm
    from smolagents.models import ChatMessage, MessageRole

    import openwebui_adapters.litellm  # noqa: F401  (registers the provider)
    from openwebui_adapters.langchain import ChatOpenWebUI
    from openwebui_adapters.smolagents import OpenWebUIModel

    url, settings = fault_server.url, {"timeout": 2.0, "max_retries": 1}
    fault_server.route(CHAT, sequence(status(503, {"detail": "busy"}), ok_chat))
    recorder = vcr.VCR(**vcr_support.vcr_config(url), record_mode="all")
    recorder.register_matcher("json_body", vcr_support.json_body_matcher)
    cassette = tmp_path / "canary.yaml"
    with recorder.use_cassette(str(cassette)):
        client = OpenWebUIClient(url, canary, **settings)
        assert client.chat({"model": MODEL, "messages": MESSAGES})["choices"]
        assert list(client.stream_chat({"model": MODEL, "messages": MESSAGES}))
        litellm.completion(
            model=f"openwebui/{MODEL}", messages=MESSAGES, api_base=url, api_key=canary, **settings
        )
        ChatOpenWebUI(model=MODEL, base_url=url, api_key=canary, **settings).invoke("Say hello.")
        OpenWebUIModel(MODEL, api_base=url, api_key=canary, **settings).generate(
            [ChatMessage(role=MessageRole.USER, content="Say hello.")]
        )
        fault_server.route(CHAT, sample("err_badkey_chat"))
        with pytest.raises(errors.AuthenticationError):
            client.chat({"model": MODEL, "messages": MESSAGES})

    text = cassette.read_text()
    assert text.count("uri:") == fault_server.hits(CHAT) == 7  # 503 + 200, then 5 more
    assert f"Bearer {vcr_support.PLACEHOLDER_KEY}" in text
    assert canary not in text
    assert canary[3:] not in text  # nor the key without its `sk-` prefix
    assert "127.0.0.1" not in text
