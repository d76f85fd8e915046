"""Model facts from recorded `/api/models` and `/ollama/api/show` answers (Open WebUI 0.12.4).

The recordings (tests/data/model_facts_*.json) come from the local stack with one more
workspace model, `vision-helper` on `stub-llama:latest`, made with capabilities set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters._catalog import parse_models
from openwebui_adapters._model_facts import (
    SHOW_PATH,
    Capabilities,
    ModelFacts,
    details_id,
    facts_for,
    with_overrides,
)
from openwebui_adapters.cli import main
from openwebui_adapters.errors import ModelNotFoundError

DATA = Path(__file__).parents[2] / "data"
MODELS = json.loads((DATA / "model_facts_api_models.json").read_text())
SHOWS: dict[str, Any] = json.loads((DATA / "model_facts_ollama_show.json").read_text())
LIST = parse_models(MODELS)
DETAILS = {name: SHOWS[name] for name in ("stub-llama:latest", "stub-embed-ollama:latest")}


def test_ollama_model_has_tools_vision_and_context_from_show() -> None:
    facts = facts_for("stub-llama:latest", LIST, DETAILS)
    assert facts.backend == "ollama"
    assert facts.capabilities.tools is True
    assert facts.capabilities.vision is True
    assert facts.capabilities.chat is True
    # Ollama's list is complete: what it does not list, the model cannot do.
    assert facts.capabilities.thinking is False
    assert facts.capabilities.embedding is False
    assert facts.context_length == 8192
    assert (facts.family, facts.parameter_size, facts.quantization) == ("llama", "1B", "Q4_K_M")
    assert facts.sources == ("api/models", "ollama/api/show")


def test_ollama_model_without_show_knows_its_details_but_not_its_abilities() -> None:
    facts = facts_for("stub-llama:latest", LIST)
    assert facts.capabilities == Capabilities()
    assert facts.context_length is None
    assert facts.family == "llama"


def test_ollama_embedding_model() -> None:
    facts = facts_for("stub-embed-ollama:latest", LIST, DETAILS)
    assert facts.capabilities.embedding is True
    assert facts.capabilities.chat is False
    assert facts.capabilities.tools is False
    assert facts.context_length == 2048
    assert facts.family == "bert"


def test_workspace_model_has_its_settings_and_its_base_models_abilities() -> None:
    facts = facts_for("vision-helper", LIST, DETAILS)
    assert (facts.name, facts.base_model_id, facts.backend) == (
        "Vision Helper",
        "stub-llama:latest",
        "ollama",
    )
    caps = facts.capabilities
    # The admin's settings on the workspace model...
    assert (caps.file_upload, caps.citations, caps.usage) == (True, True, True)
    assert (caps.web_search, caps.image_generation, caps.code_interpreter) == (False, False, False)
    # ...and what Ollama says of its base.
    assert (caps.tools, caps.vision, caps.structured_output) == (True, True, True)
    assert facts.context_length == 8192
    assert facts.family == "llama"
    assert facts.description == "Reads images, cites sources."
    assert facts.server_capabilities["builtin_tools"] is True  # keys we do not type are kept
    assert facts.sources == (
        "api/models",
        "base:stub-llama:latest",
        "ollama/api/show:stub-llama:latest",
    )


def test_workspace_model_asks_its_ollama_base_for_details() -> None:
    assert details_id("vision-helper", LIST) == "stub-llama:latest"
    assert details_id("stub-llama:latest", LIST) == "stub-llama:latest"
    assert details_id("team-assistant", LIST) is None
    assert details_id("stub-gpt", LIST) is None


def test_openai_connection_model_is_unknown_not_false() -> None:
    facts = facts_for("stub-gpt", LIST, DETAILS)
    assert facts.backend == "openai"
    assert facts.capabilities.known() == {}
    assert facts.capabilities.tools is None
    assert facts.context_length is None
    assert facts.family is None


def test_workspace_model_on_an_openai_base_follows_the_base() -> None:
    facts = facts_for("team-assistant", LIST, DETAILS)
    assert facts.base_model_id == "stub-gpt"
    assert facts.sources == ("api/models", "base:stub-gpt")


def test_upstream_entry_and_native_function_calling_are_read() -> None:
    # An OpenRouter-style upstream entry, and `info.params` as releases before 0.12 list it.
    entry = {
        "id": "router-model",
        "owned_by": "openai",
        "openai": {
            "id": "router-model",
            "context_length": 131072,
            "architecture": {"input_modalities": ["text", "image"]},
            "supported_parameters": ["tools", "response_format"],
            "top_provider": {"max_completion_tokens": 4096},
        },
    }
    workspace = {
        "id": "agent",
        "owned_by": "openai",
        "info": {"base_model_id": "plain", "params": {"function_calling": "native"}},
    }
    models = parse_models({"data": [entry, workspace, {"id": "plain", "owned_by": "openai"}]})
    routed = facts_for("router-model", models)
    assert routed.context_length == 131072
    assert routed.max_output_tokens == 4096
    assert routed.capabilities.known() == {
        "tools": True,
        "vision": True,
        "structured_output": True,
        "thinking": False,
    }
    agent = facts_for("agent", models)
    assert agent.function_calling == "native"
    assert agent.capabilities.tools is True


def test_overrides_win_and_unknown_names_are_refused() -> None:
    facts = with_overrides(
        facts_for("stub-llama:latest", LIST, DETAILS), {"vision": False, "context_length": 4096}
    )
    assert facts.capabilities.vision is False
    assert facts.capabilities.tools is True
    assert facts.context_length == 4096
    assert facts.sources[-1] == "override"
    with pytest.raises(ValueError, match="visoin"):
        with_overrides(facts, {"visoin": True})


def test_to_dict_is_json_ready() -> None:
    data = facts_for("vision-helper", LIST, DETAILS).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["capabilities"]["vision"] is True
    assert "thinking" in data["capabilities"]  # stated False is kept
    assert data["base_model_id"] == "stub-llama:latest"


# -- through the client ------------------------------------------------------------------------


class Server:
    """Answers `/api/models`, `/ollama/api/show` and chat from the recordings; counts requests."""

    def __init__(self, show_status: int = 200) -> None:
        self.paths: list[str] = []
        self.show_status = show_status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == "/api/models":
            return httpx.Response(200, json=MODELS)
        if request.url.path == SHOW_PATH:
            name = json.loads(request.content)["model"]
            if self.show_status != 200:
                return httpx.Response(self.show_status, json={"detail": "Forbidden"})
            if name in DETAILS:
                return httpx.Response(200, json=DETAILS[name])
            return httpx.Response(400, json={"detail": f"Model '{name}' was not found"})
        model = json.loads(request.content)["model"]
        return httpx.Response(
            200,
            json={
                "id": "c",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "hi"},
                    }
                ],
            },
        )


def _client(server: Server) -> OpenWebUIClient:
    return OpenWebUIClient(
        "http://owui.test", "sk-test", max_retries=0, transport=httpx.MockTransport(server)
    )


def test_a_chat_never_asks_for_facts() -> None:
    server = Server()
    client = _client(server)
    client.chat({"model": "stub-llama:latest", "messages": [{"role": "user", "content": "x"}]})
    assert server.paths == ["/api/chat/completions"]
    assert client.cached_model_facts("stub-llama:latest") is None  # and never makes a request
    assert server.paths == ["/api/chat/completions"]


def test_model_facts_cost_the_list_and_one_show_once() -> None:
    server = Server()
    client = _client(server)
    facts = client.model_facts("Vision Helper")
    assert facts.capabilities.tools is True
    assert server.paths == ["/api/models", SHOW_PATH]
    assert client.model_facts("vision-helper") == facts
    assert client.model_facts("stub-llama").capabilities.vision is True
    assert server.paths == ["/api/models", SHOW_PATH]  # all from the cache
    assert client.cached_model_facts("VISION-HELPER") == facts


def test_model_facts_without_details_make_no_show_request() -> None:
    server = Server()
    facts = _client(server).model_facts("stub-llama", details=False)
    assert facts.capabilities.tools is None
    assert server.paths == ["/api/models"]


def test_a_refused_show_leaves_the_abilities_unknown_and_is_not_asked_again() -> None:
    server = Server(show_status=403)  # e.g. API keys kept out of /ollama
    client = _client(server)
    assert client.model_facts("stub-llama").capabilities.tools is None
    assert client.model_facts("stub-llama").capabilities.tools is None
    assert server.paths == ["/api/models", SHOW_PATH]


def test_unknown_model_raises_with_suggestions() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        _client(Server()).model_facts("stub-lama")
    assert "stub-llama:latest" in caught.value.suggestions


def test_all_model_facts_asks_each_ollama_model_once() -> None:
    server = Server()
    facts = {f.id: f for f in _client(server).all_model_facts(details=True)}
    assert set(facts) == {m.id for m in LIST}
    assert facts["stub-embed-ollama:latest"].capabilities.embedding is True
    assert sorted(server.paths) == sorted(["/api/models", SHOW_PATH, SHOW_PATH])


async def test_async_twins_agree_with_the_sync_methods() -> None:
    server = Server()
    client = _client(server)
    facts = await client.amodel_facts("vision-helper")
    every = await client.aall_model_facts(details=True)
    assert facts == facts_for("vision-helper", LIST, DETAILS)
    assert {f.id for f in every} == {m.id for m in LIST}
    assert server.paths.count("/api/models") == 1
    await client.aclose()


def test_cli_models_prints_facts_and_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("openwebui_adapters.cli._client", lambda args: _client(Server()))
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "backend", "context", "name", "capabilities"]
    llama = next(line for line in lines if line.startswith("stub-llama:latest "))
    assert llama.split() == [
        "stub-llama:latest",
        "ollama",
        "8192",
        "stub-llama:latest",
        "chat,tools,vision,structured_output",
    ]
    assert main(["models", "--json"]) == 0
    data = {m["id"]: m for m in json.loads(capsys.readouterr().out)}
    assert data["vision-helper"]["capabilities"]["citations"] is True
    assert data["stub-gpt"]["capabilities"] == {}
    assert data["stub-llama:latest"]["context_length"] == 8192


def test_facts_record_is_frozen() -> None:
    facts = ModelFacts(id="a", name="a", backend="openai")
    with pytest.raises(AttributeError):
        facts.id = "b"  # type: ignore[misc]
