"""langchain-litellm's `ChatLiteLLM(model="openwebui/...")`: `bind_tools` and
`with_structured_output` (a JSON schema by default, `langchain_litellm/chat_models/litellm.py`).
It asks LiteLLM nothing about the model; the facts must still be in LiteLLM's table when the first
call reaches the provider.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from frameworks_support import MARKS, ProviderCall
from pydantic import BaseModel

pytest.importorskip(
    "langchain_litellm",
    reason="langchain-litellm is installed by `nox -s frameworks` only, in the install beside CrewAI's",
)

from langchain_core.tools import tool
from langchain_litellm import ChatLiteLLM

pytestmark = MARKS


class Weather(BaseModel):
    city: str
    sunny: bool


def test_bind_tools_answers_with_a_tool_call(
    model: str, get_weather: Callable[[str], str], provider_calls: list[ProviderCall]
) -> None:
    message = ChatLiteLLM(model=model).bind_tools([tool(get_weather)]).invoke("Weather in 'Oslo'?")
    assert [(call["name"], call["args"]) for call in message.tool_calls] == [
        ("get_weather", {"city": "Oslo"})
    ]
    assert provider_calls[0].supports("supports_function_calling")


def test_with_structured_output(model: str, provider_calls: list[ProviderCall]) -> None:
    answer = ChatLiteLLM(model=model).with_structured_output(Weather).invoke("Weather in 'Oslo'?")
    assert answer == Weather(city="Oslo", sunny=True)
    assert provider_calls[0].supports("supports_response_schema")
    assert provider_calls[0].params["response_format"]["type"] == "json_schema"
