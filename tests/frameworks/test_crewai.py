"""CrewAI with `LLM(model="openwebui/...")`, as its docs show a LiteLLM model (`crewai[litellm]`).

CrewAI routes a prefix it has no native provider for to LiteLLM (`crewai/llm.py`,
`LLM._resolve_route`), then asks LiteLLM whether the model calls functions
(`LLM.supports_function_calling`: native tools, else a text ReAct prompt) and, for
`response_format`, whether it takes a schema (`LLM._validate_call_params`: a ValueError if not).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from frameworks_support import FILE_TEXT, MARKS, ProviderCall

pytest.importorskip(
    "crewai", reason="CrewAI is installed by `nox -s frameworks` only, in its install of its own"
)

from crewai import LLM, Agent, Crew, Task
from crewai.tools import tool
from pydantic import BaseModel

pytestmark = [
    *MARKS,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # CrewAI's own, about itself
]


class Weather(BaseModel):
    city: str
    sunny: bool


def test_an_agent_calls_its_tool_natively(
    model: str,
    get_weather: Callable[[str], str],
    weather_calls: list[str],
    provider_calls: list[ProviderCall],
) -> None:
    llm = LLM(model=model)
    assert llm.supports_function_calling() is True  # decided before any call
    agent = Agent(
        role="Weather reporter",
        goal="Report the weather",
        backstory="You look the weather up.",
        llm=llm,
        tools=[tool("get_weather")(get_weather)],
        max_iter=3,
    )
    task = Task(
        description="What is the weather in 'Oslo'?", expected_output="The weather", agent=agent
    )
    result = Crew(agents=[agent], tasks=[task]).kickoff()
    assert weather_calls == ["Oslo"]
    assert "sunny in Oslo" in result.raw
    first = provider_calls[0]
    assert first.supports("supports_function_calling")
    assert [t["function"]["name"] for t in first.params["tools"]] == ["get_weather"]


def test_a_typed_answer_with_response_format(
    model: str, provider_calls: list[ProviderCall]
) -> None:
    llm = LLM(model=model, response_format=Weather)
    answer = llm.call("What is the weather in 'Oslo'?")
    assert Weather.model_validate(json.loads(answer)) == Weather(city="Oslo", sunny=True)
    assert provider_calls[0].supports("supports_response_schema")
    assert provider_calls[0].params["response_format"]["type"] == "json_schema"


def test_files_reach_open_webui_as_llm_parameters(owui_settings: Any, uploaded_file: Any) -> None:
    llm = LLM(model=f"openwebui/{owui_settings.models['openai']}", files=[uploaded_file.id])
    answer = llm.call("When does the Lyon office open?")
    assert FILE_TEXT in answer  # the stub echoes the prompt Open WebUI built from the file


def test_tool_ids_reach_open_webui_as_llm_parameters(owui_settings: Any, server_tool: str) -> None:
    llm = LLM(model=f"openwebui/{owui_settings.models['openai']}", tool_ids=[server_tool])
    calls = llm.call("What time is it in 'Oslo'?")
    # A tool this process never offered: the server added it from tool_ids.
    assert [call.function.name for call in calls] == [server_tool]
