"""The core client against a real Open WebUI 0.12.4, replayed from cassettes/core/.

Re-record with `nox -s record -- tests/replay/test_core.py`; run live with `nox -s live`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters.errors import AuthenticationError, ModelNotFoundError

pytestmark = pytest.mark.vcr

MESSAGES = [{"role": "user", "content": "Say hello in one word."}]
# The stack's deterministic backend echoes the last user message.
ECHO = "Echo: Say hello in one word."
WRONG_KEY = "sk-0000wrong0000key0000"

# What a person writes -> which of the suite's models it must resolve to.
WRITTEN: dict[str, tuple[Callable[[Mapping[str, str]], str], str]] = {
    "display-name": (lambda models: models["custom_name"], "custom"),
    "missing-tag": (lambda models: models["ollama"].split(":")[0], "ollama"),
    "other-case": (lambda models: models["openai"].upper(), "openai"),
    "leftover-prefix": (lambda models: "ollama/" + models["ollama"].split(":")[0], "ollama"),
}
BACKENDS = ["openai", "ollama"]


@pytest.fixture
def client(owui_settings: Any) -> OpenWebUIClient:
    """A client from the environment, as users create it (owui_settings exported the settings)."""
    return OpenWebUIClient(max_retries=0)


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        (choice.get("delta") or {}).get("content") or ""
        for chunk in chunks
        for choice in chunk.get("choices") or []
    )


@pytest.mark.parametrize("case", WRITTEN)
def test_resolve_model_finds_the_id_for_what_a_person_writes(
    client: OpenWebUIClient, owui_settings: Any, case: str
) -> None:
    written, expected = WRITTEN[case]
    assert client.resolve_model(written(owui_settings.models)) == owui_settings.models[expected]


def test_list_models_shows_both_backends_and_the_custom_model(
    client: OpenWebUIClient, owui_settings: Any
) -> None:
    models = {model.id: model for model in client.list_models()}
    names = owui_settings.models
    assert models[names["openai"]].backend == "openai"
    assert models[names["ollama"]].backend == "ollama"
    assert models[names["custom"]].name == names["custom_name"]


@pytest.mark.parametrize("backend", [*BACKENDS, "custom"])
def test_chat_answers(client: OpenWebUIClient, owui_settings: Any, backend: str) -> None:
    answer = client.chat({"model": owui_settings.models[backend], "messages": MESSAGES})
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == ECHO


def test_chat_by_display_name_resolves_and_answers(
    client: OpenWebUIClient, owui_settings: Any
) -> None:
    answer = client.chat({"model": owui_settings.models["custom_name"], "messages": MESSAGES})
    assert answer["choices"][0]["message"]["content"] == ECHO
    assert client.resolve_model(owui_settings.models["custom_name"]) == "team-assistant"


@pytest.mark.parametrize("backend", BACKENDS)
def test_stream_chat_yields_text_then_usage(
    client: OpenWebUIClient, owui_settings: Any, backend: str
) -> None:
    chunks = list(
        client.stream_chat({"model": owui_settings.models[backend], "messages": MESSAGES})
    )
    assert text_of(chunks) == ECHO
    assert chunks[-1]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("backend", BACKENDS)
async def test_async_stream_chat_yields_text_then_usage(
    client: OpenWebUIClient, owui_settings: Any, backend: str
) -> None:
    payload = {"model": owui_settings.models[backend], "messages": MESSAGES}
    chunks = [chunk async for chunk in client.astream_chat(payload)]
    assert text_of(chunks) == ECHO
    assert chunks[-1]["usage"]["completion_tokens"] > 0


async def test_async_chat_answers(client: OpenWebUIClient, owui_settings: Any) -> None:
    answer = await client.achat({"model": owui_settings.models["ollama"], "messages": MESSAGES})
    assert answer["choices"][0]["message"]["content"] == ECHO


@pytest.mark.parametrize("backend", BACKENDS)
def test_embed_returns_one_vector_per_input(
    client: OpenWebUIClient, owui_settings: Any, backend: str
) -> None:
    model = owui_settings.models[f"embed_{backend}"]
    result = client.embed({"model": model, "input": ["first text", "second text"]})
    vectors = [item["embedding"] for item in result["data"]]
    assert len(vectors) == 2
    assert all(vector and isinstance(vector[0], float) for vector in vectors)


def test_wrong_key_names_the_key_setting(owui_settings: Any) -> None:
    client = OpenWebUIClient(api_key=WRONG_KEY, max_retries=0)
    with pytest.raises(AuthenticationError) as caught:
        client.chat({"model": owui_settings.models["openai"], "messages": MESSAGES})
    assert caught.value.status_code == 401
    assert caught.value.setting == "api_key"  # passed as an argument, so named as one


def test_misspelled_model_suggests_the_right_one(
    client: OpenWebUIClient, owui_settings: Any
) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        client.chat({"model": "stub-gtp", "messages": MESSAGES})
    assert caught.value.setting == "model"
    assert owui_settings.models["openai"] in caught.value.suggestions


def test_a_wrong_path_is_walked_up_to_the_server_once(
    owui_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A GET on an unknown path is the web UI's HTML page (200): the client walks up the path to
    # where /api/version answers, uses that base from then on, and says what to set.
    client = OpenWebUIClient(f"{owui_settings.server_url}/typo/", max_retries=0)
    with caplog.at_level("WARNING", logger="openwebui_adapters"):
        assert client.list_models()
    assert client.connection.base_url == owui_settings.server_url
    assert f"set OPENWEBUI_SERVER_URL={owui_settings.server_url}" in caplog.text
    answer = client.chat({"model": owui_settings.models["openai"], "messages": MESSAGES})
    assert answer["choices"]
