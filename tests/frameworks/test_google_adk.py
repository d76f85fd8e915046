"""Google ADK's `LlmAgent` with `LiteLlm(model="openwebui/...")`, or the model string alone.

ADK's `LLMRegistry` hands a `provider/model` string it has no class for to `LiteLlm` when LiteLLM
lists the provider (`google/adk/models/registry.py`, `_resolve_litellm_provider`), as it does
once `openwebui_adapters.litellm` is imported. ADK asks LiteLLM once per model object whether it
takes a JSON schema beside tools (`LiteLlm.capabilities`, cached) before the first request.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from frameworks_support import MARKS, ProviderCall

pytest.importorskip(
    "google.adk",
    reason="Google ADK is installed by `nox -s frameworks` only, in the install beside CrewAI's",
)

from google.adk.agents import LlmAgent
from google.adk.models.lite_llm import LiteLlm
from google.adk.runners import InMemoryRunner
from google.genai import types

pytestmark = MARKS


async def final_text(runner: InMemoryRunner, question: str) -> str | None:
    """The agent's final answer to one question in a new session."""
    session = await runner.session_service.create_session(app_name=runner.app_name, user_id="u")
    message = types.Content(role="user", parts=[types.Part(text=question)])
    answer = None
    async for event in runner.run_async(user_id="u", session_id=session.id, new_message=message):
        if event.is_final_response() and event.content and event.content.parts:
            answer = event.content.parts[0].text
    return answer


@pytest.mark.parametrize("written", ["LiteLlm", "model string"])
async def test_an_agent_calls_its_tool(
    written: str,
    model: str,
    get_weather: Callable[[str], str],
    weather_calls: list[str],
    provider_calls: list[ProviderCall],
) -> None:
    agent = LlmAgent(
        name="weather",
        model=LiteLlm(model=model) if written == "LiteLlm" else model,
        instruction="Answer with the tools.",
        tools=[get_weather],
    )
    answer = await final_text(InMemoryRunner(agent=agent), "Weather in 'Oslo'?")
    assert weather_calls == ["Oslo"]
    assert answer is not None
    assert "sunny in Oslo" in answer
    llm = agent.canonical_model
    assert isinstance(llm, LiteLlm)
    assert llm.capabilities.output_schema_and_tools is True  # ADK's own decision, cached
    assert provider_calls[0].supports("supports_function_calling")
