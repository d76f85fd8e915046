"""Real clients nobody here wrote, reading LiteLLM's flags after `register_models()` or learned
at their own first lookup (`nox -s live`): DSPy's typed outputs and native tool calls,
smolagents' own `LiteLLMModel`.

DSPy only sends a JSON schema when `litellm.supports_response_schema` says so, and tools only
when `supports_function_calling` does (`dspy/clients/capabilities.py`); both were False for
`openwebui/` before registration.
No `from __future__ import annotations` here: DSPy reads the signatures' annotations, which name
the `dspy` fixture's module, at class creation.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm

from openwebui_adapters.litellm import register_models

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning"),
]


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.fixture(params=["register_models()", "on demand"])
def registered(
    request: pytest.FixtureRequest, owui_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The Ollama model's LiteLLM name, its facts known to LiteLLM either way they arrive: from
    `register_models()`, or at LiteLLM's first lookup (`litellm.lookup_facts`), which the
    clients below make themselves before their first call."""
    name = f"openwebui/{owui_settings.models['ollama']}"
    if request.param == "on demand":
        request.getfixturevalue("litellm_knows_no_openwebui_model")
        return name
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    register_models()
    assert litellm.supports_function_calling(name) is True
    assert litellm.supports_response_schema(name) is True
    return name


@pytest.fixture
def dspy(tmp_path: Path) -> Iterator[Any]:
    """DSPy with its disk cache in a temporary directory (imported here: it takes seconds)."""
    os.environ["DSPY_CACHEDIR"] = str(tmp_path)
    import dspy as dspy_module

    yield dspy_module
    os.environ.pop("DSPY_CACHEDIR", None)


def test_dspy_typed_output_uses_the_json_schema(dspy: Any, registered: str) -> None:
    class Pick(dspy.Signature):  # type: ignore[misc, name-defined]
        """Pick a count and whether it is fine."""

        question: str = dspy.InputField()
        count: int = dspy.OutputField()
        fine: bool = dspy.OutputField()

    lm = dspy.LM(registered, cache=False, max_tokens=200)
    assert lm.supports_response_schema  # DSPy's own decision, before its first call
    with dspy.context(lm=lm):
        result = dspy.Predict(Pick)(question="How many?")
    assert isinstance(result.count, int)
    assert isinstance(result.fine, bool)
    formats = [call["kwargs"].get("response_format") for call in lm.history]
    assert any(f is not None for f in formats)  # the JSON schema went to the server


def test_dspy_native_tool_call(dspy: Any, registered: str) -> None:
    class Ask(dspy.Signature):  # type: ignore[misc, name-defined]
        """Answer with the tools."""

        question: str = dspy.InputField()
        tools: list[dspy.Tool] = dspy.InputField()
        calls: dspy.ToolCalls = dspy.OutputField()

    lm = dspy.LM(registered, cache=False, max_tokens=200)
    assert lm.supports_function_calling  # DSPy's own decision, before its first call
    adapter = dspy.ChatAdapter(use_native_function_calling=True)
    with dspy.context(lm=lm, adapter=adapter):
        result = dspy.Predict(Ask)(question="Weather in Oslo?", tools=[dspy.Tool(get_weather)])
    assert [call.name for call in result.calls.tool_calls] == ["get_weather"]
    assert set(result.calls.tool_calls[0].args) == {"city"}
    assert "tools" in lm.history[-1]["kwargs"]  # sent as OpenAI tools, not in the prompt


def test_smolagents_litellm_model_calls_a_tool(registered: str) -> None:
    smolagents = pytest.importorskip("smolagents")
    from smolagents import tool

    @tool
    def weather(city: str) -> str:
        """The weather in a city.

        Args:
            city: the city.
        """
        return get_weather(city)

    model = smolagents.LiteLLMModel(registered)
    message = model.generate(
        [{"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]}],
        tools_to_call_from=[weather],
    )
    assert [call.function.name for call in message.tool_calls] == ["weather"]
    agent = smolagents.ToolCallingAgent(tools=[weather], model=model, max_steps=3)
    assert str(agent.run("Weather in Oslo?")).startswith("sunny in ")
