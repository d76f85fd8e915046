"""The OpenAI Agents SDK through LiteLLM: `LitellmModel("openwebui/...")`, or the model string
`litellm/openwebui/...`, which its default `MultiProvider` routes to the same class by prefix
(`agents/models/multi_provider.py`). The SDK itself asks LiteLLM nothing about the model; the
facts must still be in LiteLLM's table when the first call reaches the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from frameworks_support import FILE_TEXT, MARKS, ProviderCall

pytest.importorskip(
    "agents",
    reason="the OpenAI Agents SDK is installed by `nox -s frameworks` only, in the install beside CrewAI's",
)

from agents import Agent, ModelSettings, RunConfig, Runner, function_tool, set_tracing_disabled
from agents.extensions.models.litellm_model import LitellmModel
from agents.items import ToolCallItem

pytestmark = MARKS

set_tracing_disabled(True)  # traces would go to OpenAI's servers


@pytest.mark.parametrize("written", ["LitellmModel", "litellm/ prefix"])
def test_an_agent_calls_its_function_tool(
    written: str,
    model: str,
    get_weather: Callable[[str], str],
    weather_calls: list[str],
    provider_calls: list[ProviderCall],
) -> None:
    agent = Agent(
        name="Weather reporter",
        instructions="Answer with the tools.",
        model=LitellmModel(model=model) if written == "LitellmModel" else f"litellm/{model}",
        tools=[function_tool(get_weather)],
    )
    result = Runner.run_sync(agent, "What is the weather in 'Oslo'?")
    assert weather_calls == ["Oslo"]
    assert "sunny in Oslo" in result.final_output
    assert provider_calls[0].supports("supports_function_calling")
    assert [t["function"]["name"] for t in provider_calls[0].params["tools"]] == ["get_weather"]


def test_files_reach_open_webui_as_extra_args(owui_settings: Any, uploaded_file: Any) -> None:
    agent = Agent(
        name="Librarian",
        model=LitellmModel(model=f"openwebui/{owui_settings.models['openai']}"),
        model_settings=ModelSettings(extra_args={"files": [uploaded_file.id]}),
    )
    result = Runner.run_sync(agent, "When does the Lyon office open?")
    assert FILE_TEXT in result.final_output  # the stub echoes the prompt Open WebUI built


def test_tool_ids_reach_open_webui_as_extra_args(owui_settings: Any, server_tool: str) -> None:
    agent = Agent(
        name="Clock",
        model=LitellmModel(model=f"openwebui/{owui_settings.models['openai']}"),
        model_settings=ModelSettings(extra_args={"tool_ids": [server_tool]}),
    )
    result = Runner.run_sync(
        agent,
        "What time is it in 'Oslo'?",
        run_config=RunConfig(tool_not_found_behavior="return_error_to_model"),
    )
    called = [item.raw_item.name for item in result.new_items if isinstance(item, ToolCallItem)]
    assert called == [server_tool]  # a tool the agent never had: the server added it
