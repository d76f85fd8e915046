"""LiteLLM's flags, model info and costs from the server's facts, over a scripted transport
answering with the recorded `/api/models` and `/ollama/api/show` (tests/data/model_facts_*)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripted_clients import route_litellm_clients

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._model_facts import SHOW_PATH
from openwebui_adapters.litellm import _embedding_params, _models, lookup_facts, proxy

pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning")

DATA = Path(__file__).parents[2] / "data"
MODELS = json.loads((DATA / "model_facts_api_models.json").read_text())
SHOWS = json.loads((DATA / "model_facts_ollama_show.json").read_text())
MESSAGES = [{"role": "user", "content": "hi"}]


class Server:
    """Answers the recorded list and show answers, chat and embeddings; records requests."""

    def __init__(self, models: dict[str, Any] | None = None) -> None:
        self.models = models or MODELS
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/models":
            return httpx.Response(200, json=self.models)
        body = json.loads(request.content)
        if path == SHOW_PATH:
            return httpx.Response(200, json=SHOWS[body["model"]])
        if path == "/api/embeddings":
            data = [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]
            return httpx.Response(
                200, json={"object": "list", "model": body["model"], "data": data}
            )
        # Open WebUI answers with the resolved id (`llama3` -> `llama3:latest`).
        model = f"{body['model']}:latest" if ":" not in body["model"] else body["model"]
        message = {"role": "assistant", "content": "Hello."}
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
            },
        )

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


def scripted_client(server: Server) -> OpenWebUIClient:
    return OpenWebUIClient(
        "http://owui.test", "sk-unit-0000", max_retries=0, transport=httpx.MockTransport(server)
    )


@pytest.fixture
def handler_server(monkeypatch: pytest.MonkeyPatch) -> Server:
    """Every client the LiteLLM handler builds talks to the scripted server."""
    server = Server()
    route_litellm_clients(monkeypatch, lambda: httpx.MockTransport(server))
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", "http://owui.test")
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-unit-0000")
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    return server


def unique(prefix: str) -> str:
    """A model id no other test registered (LiteLLM's table is process-wide)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_register_models_answers_litellms_flags_from_the_facts() -> None:
    server = Server()
    entries = _models.register_models(client=scripted_client(server))
    # One list, one show per Ollama model (the workspace model asks its base, already asked).
    assert sorted(server.paths()) == sorted(["/api/models", SHOW_PATH, SHOW_PATH])
    for name in ("openwebui/stub-llama", "openwebui/stub-llama:latest", "openwebui/Vision Helper"):
        assert name in entries
        assert litellm.supports_function_calling(name) is True
        assert litellm.supports_vision(name) is True
        assert litellm.supports_response_schema(name) is True
        info = litellm.get_model_info(name)
        assert info["max_input_tokens"] == 8192
        assert info["litellm_provider"] == "openwebui"
        assert info["mode"] == "chat"
    # LiteLLM's own lookup ignores case, so every case the core resolves answers too.
    assert litellm.supports_vision("openwebui/VISION HELPER") is True
    embed = litellm.get_model_info("openwebui/stub-embed-ollama")
    assert (embed["mode"], embed["max_input_tokens"]) == ("embedding", 2048)
    # Unknown stays out of the entry: LiteLLM answers False, and costs are zero.
    assert "supports_function_calling" not in entries["openwebui/stub-gpt"]
    assert litellm.supports_function_calling("openwebui/stub-gpt") is False
    assert litellm.cost_per_token(
        model="openwebui/stub-gpt", prompt_tokens=10, completion_tokens=5
    ) == (0.0, 0.0)


def test_register_models_without_details_is_one_request() -> None:
    server = Server()
    entries = _models.register_models(client=scripted_client(server), details=False)
    assert server.paths() == ["/api/models"]
    assert "supports_vision" not in entries["openwebui/stub-llama:latest"]


def test_overrides_win_prices_included() -> None:
    model = unique("priced")
    server = Server({"data": [{"id": model, "name": model, "owned_by": "openai"}]})
    _models.register_models(
        client=scripted_client(server),
        overrides={model: {"input_cost_per_token": 1e-6, "supports_vision": True}},
    )
    assert litellm.supports_vision(f"openwebui/{model}") is True
    prompt_cost, _ = litellm.cost_per_token(
        model=f"openwebui/{model}", prompt_tokens=1000, completion_tokens=0
    )
    assert prompt_cost == pytest.approx(1e-3)


def test_a_well_known_base_id_takes_litellms_flags_but_not_its_prices() -> None:
    before = dict(litellm.model_cost["gpt-4o-mini"])
    server = Server({"data": [{"id": "gpt-4o-mini", "name": "GPT mini", "owned_by": "openai"}]})
    _models.register_models(client=scripted_client(server))
    assert litellm.supports_function_calling("openwebui/GPT mini") is True
    assert litellm.supports_vision("openwebui/gpt-4o-mini") is True
    assert litellm.get_model_info("openwebui/gpt-4o-mini")["max_input_tokens"] == 128000
    assert litellm.cost_per_token(
        model="openwebui/gpt-4o-mini", prompt_tokens=1000, completion_tokens=1000
    ) == (0.0, 0.0)
    assert dict(litellm.model_cost["gpt-4o-mini"]) == before  # OpenAI's own entry untouched


@pytest.mark.usefixtures("litellm_knows_no_openwebui_model")
def test_completion_cost_works_after_a_first_call_without_registration(
    handler_server: Server,
) -> None:
    lookup_facts(wait=None)  # no lookup learns it (an older LiteLLM looks it up before the call)
    model = unique("fresh")
    response = litellm.completion(model=f"openwebui/{model}", messages=MESSAGES)
    assert response.model == f"{model}:latest"
    assert handler_server.paths() == ["/api/chat/completions"]  # nothing more was asked
    assert litellm.completion_cost(response) == 0.0
    assert litellm.get_model_info(f"openwebui/{model}")["litellm_provider"] == "openwebui"


async def test_the_async_call_registers_too(handler_server: Server) -> None:
    model = unique("fresh-async")
    response = await litellm.acompletion(model=f"openwebui/{model}", messages=MESSAGES)
    assert litellm.completion_cost(response) == 0.0


def test_a_failing_registration_never_fails_the_call(
    handler_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(OpenWebUIClient, "cached_model_facts", broken)
    response = litellm.completion(model=f"openwebui/{unique('broken')}", messages=MESSAGES)
    assert response.choices[0].message.content == "Hello."


def test_openai_embedding_params_are_accepted_and_sent(handler_server: Server) -> None:
    litellm.embedding(
        model="openwebui/stub-embed",
        input=["a"],
        encoding_format="float",
        dimensions=2,
        user="someone",
    )
    body = handler_server.bodies("/api/embeddings")[-1]
    assert (body["encoding_format"], body["dimensions"], body["user"]) == ("float", 2, "someone")


def test_additional_drop_params_still_drop(handler_server: Server) -> None:
    litellm.embedding(
        model="openwebui/stub-embed",
        input=["a"],
        dimensions=2,
        encoding_format="float",
        additional_drop_params=["dimensions"],
    )
    body = handler_server.bodies("/api/embeddings")[-1]
    assert "dimensions" not in body
    assert body["encoding_format"] == "float"


def test_other_providers_are_checked_as_before() -> None:
    original = litellm.main.get_optional_params_embeddings
    assert original.__openwebui_declared__ is True
    assert _embedding_params.declare_embedding_params() is True  # idempotent: not wrapped twice
    assert litellm.main.get_optional_params_embeddings is original
    with pytest.raises(litellm.UnsupportedParamsError):
        original(model="m", encoding_format="float", custom_llm_provider="some-custom")


def test_the_proxy_callback_registers_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(proxy, "register_models", lambda: calls.append(1))
    monkeypatch.setattr(proxy, "_at_start", None)
    first = proxy.register_at_start  # type: ignore[attr-defined]
    again = proxy.register_at_start  # type: ignore[attr-defined]
    assert first is again
    assert isinstance(first, litellm.integrations.custom_logger.CustomLogger)
    assert calls == [1]
    with pytest.raises(AttributeError):
        _ = proxy.not_there  # type: ignore[attr-defined]


def test_remember_model_registers_the_written_name_and_the_resolved_id() -> None:
    written, resolved = unique("embedder"), unique("embedder-id")
    client = scripted_client(Server())  # nothing cached: registered without a request
    _models.remember_model(client, written, resolved, mode="embedding")
    for name in (written, resolved):
        info = litellm.get_model_info(f"openwebui/{name}")
        assert (info["mode"], info["litellm_provider"]) == ("embedding", "openwebui")
