"""smolagents agents on a real Open WebUI 0.12.4, replayed from cassettes/smolagents/.

Each agent runs several model calls to a final answer through `OpenWebUIModel`: a tool step, then
`final_answer`, on both routes (an OpenAI connection and Ollama), generated and streamed.
Re-record with `nox -s record -- tests/replay/test_smolagents.py`; run live with `nox -s live`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from smolagents import CodeAgent, Tool, ToolCallingAgent
from smolagents.agents import AgentGenerationError, MultiStepAgent
from smolagents.memory import ActionStep, FinalAnswerStep
from smolagents.models import ChatMessageStreamDelta

from openwebui_adapters.errors import AuthenticationError
from openwebui_adapters.smolagents import OpenWebUIModel

pytestmark = pytest.mark.vcr

TASK = "How many people live in 'Lyon'? Look it up, then answer with the number."
WRONG_KEY = "sk-0000wrong0000key0000"
BACKENDS = ["openai", "ollama"]
STREAMING = [pytest.param(False, id="generate"), pytest.param(True, id="stream")]


class CityPopulation(Tool):  # type: ignore[misc]  # smolagents ships no type information
    """A local lookup standing in for the seeds' web search; remembers what it was asked."""

    name = "city_population"
    description = "Looks up how many people live in a city."
    inputs = {"city": {"type": "string", "description": "the city's name"}}
    output_type = "string"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def forward(self, city: str) -> str:
        self.calls.append(city)
        return f"{city}: 522250 inhabitants"


@pytest.fixture
def lookup() -> CityPopulation:
    return CityPopulation()


def model_for(owui_settings: Any, backend: str, **kwargs: Any) -> OpenWebUIModel:
    """The model as users create it: settings from the environment, the name as listed."""
    return OpenWebUIModel(owui_settings.models[backend], max_retries=0, **kwargs)


def run_to_the_end(agent: MultiStepAgent, *, streamed: bool) -> Any:
    """Run the task; the model's output came as stream deltas exactly when `streamed`."""
    events = list(agent.run(TASK, stream=True))
    deltas = [event for event in events if isinstance(event, ChatMessageStreamDelta)]
    assert bool(deltas) is streamed
    final = events[-1]
    assert isinstance(final, FinalAnswerStep)
    return final.output


def assert_final_answer_from_the_tool(
    agent: MultiStepAgent, lookup: CityPopulation, answer: Any
) -> None:
    """The agent called the tool with the task's city, took more than one model call, and
    answered with the tool's result; every model call reported token usage."""
    assert lookup.calls == ["Lyon"]
    steps = [step for step in agent.memory.steps if isinstance(step, ActionStep)]
    assert len(steps) >= 2
    assert steps[-1].is_final_answer
    assert all(step.error is None for step in steps)
    assert "522250" in str(answer)
    assert all(step.token_usage is not None for step in steps)
    assert steps[0].token_usage.input_tokens > 0


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("backend", BACKENDS)
def test_code_agent_answers_with_a_tool(
    owui_settings: Any, lookup: CityPopulation, backend: str, stream: bool
) -> None:
    agent = CodeAgent(
        tools=[lookup],
        model=model_for(owui_settings, backend),
        stream_outputs=stream,
        max_steps=4,
        verbosity_level=0,
    )
    answer = run_to_the_end(agent, streamed=stream)
    assert_final_answer_from_the_tool(agent, lookup, answer)


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("backend", BACKENDS)
def test_tool_calling_agent_answers_with_a_tool(
    owui_settings: Any, lookup: CityPopulation, backend: str, stream: bool
) -> None:
    agent = ToolCallingAgent(
        tools=[lookup],
        model=model_for(owui_settings, backend),
        stream_outputs=stream,
        max_steps=4,
        verbosity_level=0,
    )
    answer = run_to_the_end(agent, streamed=stream)
    assert_final_answer_from_the_tool(agent, lookup, answer)
    tool_steps = [step for step in agent.memory.steps if isinstance(step, ActionStep)]
    assert tool_steps[0].tool_calls is not None
    assert tool_steps[0].tool_calls[0].name == "city_population"


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("backend", BACKENDS)
def test_structured_code_agent_answers_with_a_tool(
    owui_settings: Any, lookup: CityPopulation, backend: str, stream: bool
) -> None:
    agent = CodeAgent(
        tools=[lookup],
        model=model_for(owui_settings, backend),
        use_structured_outputs_internally=True,
        stream_outputs=stream,
        max_steps=4,
        verbosity_level=0,
    )
    answer = run_to_the_end(agent, streamed=stream)
    assert_final_answer_from_the_tool(agent, lookup, answer)
    first_step = next(step for step in agent.memory.steps if isinstance(step, ActionStep))
    assert json.loads(first_step.model_output)["code"] == first_step.code_action


def test_agent_finds_a_custom_model_by_its_display_name(
    owui_settings: Any, lookup: CityPopulation
) -> None:
    model = model_for(owui_settings, "custom_name")
    agent = ToolCallingAgent(tools=[lookup], model=model, max_steps=4, verbosity_level=0)
    answer = run_to_the_end(agent, streamed=False)
    assert_final_answer_from_the_tool(agent, lookup, answer)
    assert model.client.resolve_model(model.model_id) == owui_settings.models["custom"]


@pytest.mark.parametrize("stream", STREAMING)
def test_wrong_key_stops_the_agent_naming_the_key_setting(
    owui_settings: Any, lookup: CityPopulation, stream: bool
) -> None:
    model = model_for(owui_settings, "openai", api_key=WRONG_KEY)
    agent = CodeAgent(tools=[lookup], model=model, stream_outputs=stream, verbosity_level=0)
    with pytest.raises(AgentGenerationError) as caught:
        agent.run(TASK)
    assert "setting: api_key" in str(caught.value)
    cause = caught.value.__cause__
    assert isinstance(cause, AuthenticationError)
    assert cause.status_code == 401
    assert cause.setting == "api_key"
    assert not lookup.calls
