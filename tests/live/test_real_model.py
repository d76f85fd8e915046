"""A real small model behind Open WebUI (`nox -s live` with OPENWEBUI_STACK_REAL_MODEL=1).

The stack's optional llama.cpp server (gemma-3-270m, a base model) is a second OpenAI connection
of the local Open WebUI; `python stack/run.py env` exports its id as OPENWEBUI_REAL_MODEL. What the
fake upstream cannot show: real tokens, real usage counts, a real stream and a real tool call,
through the core client and each adapter. The answers ramble but are identical at temperature 0;
a tool call only comes with a forced `tool_choice`. Every request asks for a few tokens only
(~20 tokens/s on 2 cores).
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient

REAL_MODEL = os.environ.get("OPENWEBUI_REAL_MODEL", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not REAL_MODEL,
        reason="no real model in this stack (start it with OPENWEBUI_STACK_REAL_MODEL=1)",
    ),
]

MESSAGES = [{"role": "user", "content": "Say hello"}]
MAX_TOKENS = 16
TIMEOUT = 120.0  # a busy 2-core machine slows the model down a lot
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "The city"}},
            "required": ["location"],
        },
    },
}


@pytest.fixture
def client(owui_settings: Any) -> OpenWebUIClient:
    return OpenWebUIClient(max_retries=0, timeout=TIMEOUT)


def request(**extra: Any) -> dict[str, Any]:
    return {
        "model": REAL_MODEL,
        "messages": MESSAGES,
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
        **extra,
    }


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        (choice.get("delta") or {}).get("content") or ""
        for chunk in chunks
        for choice in chunk.get("choices") or []
    )


def test_the_real_model_is_listed_as_an_openai_connection(client: OpenWebUIClient) -> None:
    models = {model.id: model for model in client.list_models()}
    assert models[REAL_MODEL].backend == "openai"


def test_chat_returns_text_and_usage(client: OpenWebUIClient) -> None:
    answer = client.chat(request())

    choice = answer["choices"][0]
    assert choice["message"]["content"].strip()
    assert answer["model"] == REAL_MODEL
    usage = answer["usage"]
    assert usage["prompt_tokens"] > 0
    assert 0 < usage["completion_tokens"] <= MAX_TOKENS
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_same_request_twice_gives_the_same_text_at_temperature_0(
    client: OpenWebUIClient,
) -> None:
    first = client.chat(request())["choices"][0]["message"]["content"]
    second = client.chat(request())["choices"][0]["message"]["content"]
    assert first.strip()
    assert second == first


def test_stream_yields_the_same_text_in_chunks(client: OpenWebUIClient) -> None:
    # The client raises ResponseError when a stream ends without [DONE]: finishing is the proof.
    chunks = list(client.stream_chat(request()))

    content_chunks = [chunk for chunk in chunks if text_of([chunk])]
    assert len(content_chunks) >= 2
    finishes = [
        choice.get("finish_reason") for chunk in chunks for choice in chunk.get("choices") or []
    ]
    assert finishes[-1] in ("stop", "length")
    assert text_of(chunks) == client.chat(request())["choices"][0]["message"]["content"]


def test_stream_on_the_wire_ends_with_done(owui_settings: Any) -> None:
    """The raw body Open WebUI passes through from llama.cpp: `data:` chunks, then `[DONE]`."""
    data: list[str] = []
    with httpx.stream(
        "POST",
        f"{owui_settings.server_url}/api/chat/completions",
        json=request(stream=True),
        headers={"Authorization": f"Bearer {owui_settings.api_key}"},
        timeout=TIMEOUT,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line[5:].strip() for line in response.iter_lines() if line.startswith("data:")]

    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert chunks
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert text_of(chunks).strip()


def test_forced_tool_choice_yields_a_tool_call(client: OpenWebUIClient) -> None:
    answer = client.chat(
        {
            "model": REAL_MODEL,
            "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "temperature": 0,
            "max_tokens": 32,
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        }
    )

    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    assert isinstance(arguments, dict)
    assert isinstance(arguments.get("location"), str)


# pydantic warns about LiteLLM's own TypedDicts when LiteLLM builds its response types.
@pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning")
def test_litellm_completion(owui_settings: Any) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import
    litellm = pytest.importorskip("litellm", reason="the litellm extra is not installed")
    pytest.importorskip("openwebui_adapters.litellm", reason="the litellm extra is not installed")

    response = litellm.completion(
        model=f"openwebui/{REAL_MODEL}",
        messages=MESSAGES,
        temperature=0,
        max_tokens=MAX_TOKENS,
        timeout=TIMEOUT,
    )

    assert response.choices[0].message.content.strip()
    assert 0 < response.usage.completion_tokens <= MAX_TOKENS


def test_langchain_invoke(owui_settings: Any) -> None:
    pytest.importorskip("langchain_core", reason="the langchain extra is not installed")
    from openwebui_adapters.langchain import ChatOpenWebUI

    model = ChatOpenWebUI(
        model=REAL_MODEL, temperature=0, max_tokens=MAX_TOKENS, timeout=TIMEOUT, max_retries=0
    )
    message = model.invoke("Say hello")

    assert isinstance(message.content, str)
    assert message.content.strip()
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] > 0


def test_smolagents_generate(owui_settings: Any) -> None:
    pytest.importorskip("smolagents", reason="the smolagents extra is not installed")
    from openwebui_adapters.smolagents import OpenWebUIModel

    model = OpenWebUIModel(
        REAL_MODEL, max_retries=0, timeout=TIMEOUT, temperature=0, max_tokens=MAX_TOKENS
    )
    message = model.generate([{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}])

    assert isinstance(message.content, str)
    assert message.content.strip()
    assert message.token_usage is not None
    assert message.token_usage.output_tokens > 0
