"""Model facts against a real Open WebUI (`nox -s live`): the core's record, LiteLLM's flags
after `register_models()`, the LangChain profile, and `openwebui-adapters models --json`.

The local stack's Ollama upstream answers `/api/show` as a tools- and vision-capable model with
an 8192-token context (stack/upstream.py); its OpenAI upstream says nothing of its models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters.litellm import register_models

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning"),
]


def test_the_core_reads_ollamas_show_and_the_workspace_models_base(owui_settings: Any) -> None:
    client = OpenWebUIClient()
    llama = client.model_facts(owui_settings.models["ollama"])
    assert (llama.backend, llama.capabilities.tools, llama.capabilities.vision) == (
        "ollama",
        True,
        True,
    )
    assert llama.context_length == 8192
    assert llama.family == "llama"
    workspace = client.model_facts(owui_settings.models["custom_name"])
    assert workspace.base_model_id == owui_settings.models["openai"]
    assert workspace.capabilities.tools is None  # nobody says: unknown, not False


def test_litellm_flags_answer_after_register_models(
    owui_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    entries = register_models()
    tagless = owui_settings.models["ollama"].removesuffix(":latest")
    for name in (owui_settings.models["ollama"], tagless, tagless.upper()):
        assert litellm.supports_function_calling(f"openwebui/{name}") is True
        assert litellm.supports_vision(f"openwebui/{name}") is True
        assert litellm.supports_response_schema(f"openwebui/{name}") is True
        assert litellm.get_model_info(f"openwebui/{name}")["max_input_tokens"] == 8192
    custom = f"openwebui/{owui_settings.models['custom_name']}"
    assert custom in entries
    assert litellm.get_model_info(custom)["litellm_provider"] == "openwebui"
    response = litellm.completion(
        model=f"openwebui/{tagless}", messages=[{"role": "user", "content": "hi"}]
    )
    assert litellm.completion_cost(response) == 0.0


def test_langchain_profile_from_cached_facts(owui_settings: Any) -> None:
    pytest.importorskip("langchain_core")
    from openwebui_adapters.langchain._profile import cached_profile

    client = OpenWebUIClient()
    assert cached_profile(client, owui_settings.models["ollama"]) is None  # nothing cached yet
    client.all_model_facts(details=True)
    profile = cached_profile(client, owui_settings.models["ollama"])
    assert profile is not None
    assert profile["tool_calling"] is True
    assert profile["image_inputs"] is True
    assert profile["structured_output"] is True
    assert profile["max_input_tokens"] == 8192


def test_chat_openwebui_profile_is_the_servers_once_the_facts_are_cached(
    owui_settings: Any,
) -> None:
    pytest.importorskip("langchain_core")
    from openwebui_adapters.langchain import ChatOpenWebUI

    model = owui_settings.models["ollama"]
    before = ChatOpenWebUI(model=model).profile  # nothing cached: no request, no profile
    assert not before or "tool_calling" not in before
    OpenWebUIClient().all_model_facts(details=True)  # same server and key: the same cache
    profile = ChatOpenWebUI(model=model).profile
    assert profile is not None
    assert (profile["tool_calling"], profile["image_inputs"]) == (True, True)
    assert profile["max_input_tokens"] == 8192
    given = ChatOpenWebUI(model=model, profile={"max_input_tokens": 5}).profile
    assert given == {"max_input_tokens": 5}  # the user's profile wins


def test_smolagents_flattens_messages_only_for_a_model_without_vision(
    owui_settings: Any,
) -> None:
    pytest.importorskip("smolagents")
    from openwebui_adapters.smolagents import OpenWebUIModel

    client = OpenWebUIClient()
    facts = {f.id: f for f in client.all_model_facts(details=True)}
    vision = OpenWebUIModel(owui_settings.models["ollama"])
    assert facts[owui_settings.models["ollama"]].capabilities.vision is True
    assert vision.flatten_messages_as_text is False
    assert OpenWebUIModel(
        owui_settings.models["ollama"], flatten_messages_as_text=True
    ).flatten_messages_as_text
    assert vision.supports_stop_parameter is True  # Ollama takes `stop`


def test_models_command_prints_json_for_scripts(owui_settings: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "openwebui_adapters", "models", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    facts = {entry["id"]: entry for entry in json.loads(done.stdout)}
    llama = facts[owui_settings.models["ollama"]]
    assert llama["capabilities"]["tools"] is True
    assert llama["context_length"] == 8192
    assert llama["backend"] == "ollama"
    assert facts[owui_settings.models["openai"]]["capabilities"] == {}
    assert owui_settings.api_key not in done.stdout
