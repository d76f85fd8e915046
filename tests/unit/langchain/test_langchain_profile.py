"""The server's model facts as LangChain's `ModelProfile`: stated facts only, no request."""

from __future__ import annotations

import warnings

import httpx

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters._model_facts import Capabilities, ModelFacts
from openwebui_adapters.langchain._profile import cached_profile, profile_from_facts


def test_stated_facts_become_profile_keys_and_unknown_ones_stay_out() -> None:
    facts = ModelFacts(
        id="llama3:latest",
        name="Llama 3",
        backend="ollama",
        capabilities=Capabilities(chat=True, tools=True, vision=False, thinking=True),
        context_length=8192,
    )
    assert profile_from_facts(facts) == {
        "name": "Llama 3",
        "max_input_tokens": 8192,
        "text_inputs": True,
        "text_outputs": True,
        "image_inputs": False,
        "tool_calling": True,
        "tool_choice": True,
        "reasoning_output": True,
    }
    assert profile_from_facts(ModelFacts(id="x", name="x", backend="openai")) == {"name": "x"}


def test_every_key_is_one_langchain_core_knows() -> None:
    from openwebui_adapters.langchain import ChatOpenWebUI

    facts = ModelFacts(
        id="m",
        name="m",
        backend="ollama",
        capabilities=Capabilities(
            chat=True, tools=True, vision=True, structured_output=True, thinking=False
        ),
        context_length=1,
        max_output_tokens=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # langchain-core warns about keys it does not know
        model = ChatOpenWebUI(
            model="m",
            base_url="http://owui.test",
            api_key="sk-x",
            profile=profile_from_facts(facts),
        )
    assert model.profile is not None
    assert model.profile["structured_output"] is True


def test_cached_profile_makes_no_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    client = OpenWebUIClient("http://owui.test", "sk-x", transport=httpx.MockTransport(handler))
    assert cached_profile(client, "llama3") is None
    assert seen == []
