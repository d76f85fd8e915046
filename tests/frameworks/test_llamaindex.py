"""LlamaIndex's `LiteLLM(model="openwebui/...")` (`llama-index-llms-litellm`).

Its `metadata` asks LiteLLM each time: `is_function_calling_model` from
`litellm.supports_function_calling`, `context_window` from `litellm.get_model_info` (2048 when
LiteLLM does not know the model) (`llama_index/llms/litellm/utils.py`). Function-calling agents
and `predict_and_call` refuse a model whose metadata says it calls no functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from frameworks_support import MARKS, ProviderCall

pytest.importorskip(
    "llama_index.llms.litellm",
    reason="LlamaIndex is installed by `nox -s frameworks` only, in the install beside CrewAI's",
)

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool
from llama_index.llms.litellm import LiteLLM

pytestmark = [
    *MARKS,
    # LlamaIndex's workflows inspecting pydantic models; nothing this project can act on.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def test_the_metadata_says_what_the_server_says(model: str) -> None:
    metadata = LiteLLM(model=model).metadata
    assert metadata.is_function_calling_model is True
    assert metadata.context_window == 8192  # the Ollama model's, from /api/show


def test_predict_and_call_calls_the_tool(
    model: str, get_weather: Callable[[str], str], weather_calls: list[str]
) -> None:
    llm = LiteLLM(model=model)
    answer = llm.predict_and_call([FunctionTool.from_defaults(get_weather)], "Weather in 'Oslo'?")
    assert weather_calls == ["Oslo"]
    assert answer.response == "sunny in Oslo"


async def test_a_function_agent_calls_the_tool(
    model: str,
    get_weather: Callable[[str], str],
    weather_calls: list[str],
    provider_calls: list[ProviderCall],
) -> None:
    agent = FunctionAgent(
        tools=[get_weather], llm=LiteLLM(model=model), system_prompt="Answer with the tools."
    )
    answer: Any = await agent.run("Weather in 'Oslo'?")
    assert weather_calls == ["Oslo"]
    assert "sunny in Oslo" in str(answer)
    assert provider_calls[0].supports("supports_function_calling")
