"""LiteLLM's `openwebui/` provider on a real Open WebUI 0.12.4, replayed from cassettes/litellm/.

Each call goes through `litellm.completion`/`acompletion`/`embedding` as users write it, on both
routes (an OpenAI connection: `stub-gpt`; Ollama: `stub-llama:latest`), and is checked for what
LiteLLM users rely on: the answer, the resolved model id, the server's usage, one success callback
per call, tool calls (streamed too), JSON output, and errors as LiteLLM's own classes carrying the
core's diagnosis. Re-record with `nox -s record -- tests/replay/test_litellm.py`.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm
from litellm import exceptions as llm_errors
from litellm.integrations.custom_logger import CustomLogger

import openwebui_adapters.litellm as adapter
from openwebui_adapters import errors

pytestmark = [
    pytest.mark.vcr,
    # LiteLLM's own types trip a pydantic warning on first use; nothing of ours.
    pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning"),
]

BACKENDS = ["openai", "ollama"]
MESSAGES = [{"role": "user", "content": "Say hello."}]
WRONG_KEY = "sk-0000wrong0000key0000"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"The {name.split('_')[1]} in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    for name in ("get_weather", "get_time")
]
PARALLEL = [{"role": "user", "content": "In parallel: the weather and the time in 'Lyon'."}]
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "joke",
        "schema": {
            "type": "object",
            "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
            "required": ["setup", "punchline"],
        },
    },
}


class Calls(CustomLogger):
    """Every success LiteLLM reports to its callbacks (sync ones come from a worker thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.successes: list[tuple[dict[str, Any], Any]] = []
        self.arrived = threading.Event()
        self.since = datetime.datetime.now()

    def _record(self, kwargs: Any, response_obj: Any, start_time: Any) -> None:
        # LiteLLM reports from a worker thread: a call of the previous test may report late.
        if isinstance(start_time, datetime.datetime) and start_time < self.since:
            return
        self.successes.append((kwargs, response_obj))
        self.arrived.set()

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, response_obj, start_time)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, response_obj, start_time)

    def reset(self) -> None:
        self.since = datetime.datetime.now()
        self.successes.clear()
        self.arrived.clear()

    def settled(self) -> list[tuple[dict[str, Any], Any]]:
        """The successes once one arrived, and a beat more to catch a duplicate."""
        self.arrived.wait(CALLBACK_WAIT)
        time.sleep(DUPLICATE_WAIT)
        return self.successes

    async def asettled(self) -> list[tuple[dict[str, Any], Any]]:
        await asyncio.to_thread(self.arrived.wait, CALLBACK_WAIT)
        await asyncio.sleep(DUPLICATE_WAIT)
        return self.successes


CALLBACK_WAIT = 10.0
DUPLICATE_WAIT = 0.2
# LiteLLM keeps one logger per class once it has seen it: one recorder serves every test.
RECORDER = Calls()
CALLBACK_LISTS = ("callbacks", "success_callback", "_async_success_callback")


@pytest.fixture(autouse=True)
def calls() -> Iterator[Calls]:
    """The recorder, emptied; LiteLLM's globals restored after the test."""
    saved = {name: list(getattr(litellm, name)) for name in CALLBACK_LISTS}
    saved_debug, saved_cost = litellm.suppress_debug_info, dict(litellm.model_cost)
    RECORDER.reset()
    litellm.callbacks = [RECORDER]
    litellm.suppress_debug_info = True
    adapter.register()
    try:
        yield RECORDER
    finally:
        for name, value in saved.items():
            setattr(litellm, name, value)
        litellm.suppress_debug_info = saved_debug
        litellm.model_cost.clear()
        litellm.model_cost.update(saved_cost)


def model(owui_settings: Any, backend: str) -> str:
    return f"openwebui/{owui_settings.models[backend]}"


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def assert_one_success_with_usage(
    successes: list[tuple[dict[str, Any], Any]], model_id: str
) -> None:
    [(_, response)] = successes
    assert response.model == model_id
    assert response.usage.prompt_tokens > 0
    assert response.usage.completion_tokens > 0
    assert response.usage.total_tokens == (
        response.usage.prompt_tokens + response.usage.completion_tokens
    )


def build(chunks: list[Any]) -> Any:
    """The whole response from stream chunks, as LiteLLM assembles it."""
    return litellm.stream_chunk_builder(chunks)


# -- chat ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_completion_answers_with_the_resolved_id_and_usage(
    owui_settings: Any, calls: Calls, backend: str
) -> None:
    response = litellm.completion(model=model(owui_settings, backend), messages=MESSAGES)
    assert response.choices[0].message.content == "Echo: Say hello."
    assert response.model == owui_settings.models[backend]
    assert response.usage.completion_tokens > 0
    assert_one_success_with_usage(calls.settled(), owui_settings.models[backend])


def test_a_name_as_a_person_writes_it_answers_with_the_resolved_id(owui_settings: Any) -> None:
    """`stub-llama` (no tag) resolves to `stub-llama:latest`; the response names the real id."""
    response = litellm.completion(model="openwebui/stub-llama", messages=MESSAGES)
    assert response.model == owui_settings.models["ollama"] == "stub-llama:latest"
    assert response.choices[0].message.content == "Echo: Say hello."


@pytest.mark.parametrize("backend", BACKENDS)
def test_stream_yields_the_text_and_reports_the_servers_usage(
    owui_settings: Any, calls: Calls, backend: str
) -> None:
    chunks = list(
        litellm.completion(model=model(owui_settings, backend), messages=MESSAGES, stream=True)
    )
    assert text_of(chunks) == "Echo: Say hello."
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[0]._hidden_params["provider_response_model"] == owui_settings.models[backend]
    assert_one_success_with_usage(calls.settled(), owui_settings.models[backend])


@pytest.mark.parametrize("backend", BACKENDS)
async def test_acompletion_answers(owui_settings: Any, calls: Calls, backend: str) -> None:
    response = await litellm.acompletion(model=model(owui_settings, backend), messages=MESSAGES)
    assert response.choices[0].message.content == "Echo: Say hello."
    assert response.model == owui_settings.models[backend]
    assert_one_success_with_usage(await calls.asettled(), owui_settings.models[backend])


@pytest.mark.parametrize("backend", BACKENDS)
async def test_async_stream_yields_the_text_and_usage(
    owui_settings: Any, calls: Calls, backend: str
) -> None:
    stream = await litellm.acompletion(
        model=model(owui_settings, backend),
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert text_of(chunks) == "Echo: Say hello."
    usage = [c.usage for c in chunks if getattr(c, "usage", None)]
    assert usage
    assert usage[-1].completion_tokens > 0
    assert_one_success_with_usage(await calls.asettled(), owui_settings.models[backend])


@pytest.mark.parametrize("backend", BACKENDS)
def test_tool_calls_come_back_in_openai_form(owui_settings: Any, backend: str) -> None:
    response = litellm.completion(
        model=model(owui_settings, backend),
        messages=[{"role": "user", "content": "What is the weather in 'Lyon'?"}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Lyon"}
    assert call.id


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_tool_calls_stream_as_deltas(owui_settings: Any, backend: str) -> None:
    chunks = list(
        litellm.completion(
            model=model(owui_settings, backend), messages=PARALLEL, tools=TOOLS, stream=True
        )
    )
    assert any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    message = build(chunks).choices[0].message
    calls = message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Lyon"}] * 2
    assert len({c.id for c in calls}) == 2


async def test_async_parallel_tool_calls_stream_as_deltas(owui_settings: Any) -> None:
    stream = await litellm.acompletion(
        model=model(owui_settings, "openai"), messages=PARALLEL, tools=TOOLS, stream=True
    )
    chunks = [chunk async for chunk in stream]
    calls = build(chunks).choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]


def test_tool_result_round_trip_answers(owui_settings: Any) -> None:
    """A previous response's message (LiteLLM's own object) goes back as history."""
    first = litellm.completion(
        model=model(owui_settings, "openai"),
        messages=[{"role": "user", "content": "What is the weather in 'Lyon'?"}],
        tools=TOOLS,
    )
    call = first.choices[0].message.tool_calls[0]
    history = [
        {"role": "user", "content": "What is the weather in 'Lyon'?"},
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = litellm.completion(model=model(owui_settings, "openai"), messages=history, tools=TOOLS)
    assert second.choices[0].message.content == "The tool returned: sunny"


def test_json_mode_answers_json(owui_settings: Any) -> None:
    # Open WebUI 0.12.4 forwards `json_object` on OpenAI connections only; its Ollama route
    # converts a JSON schema (below) but drops `json_object`.
    response = litellm.completion(
        model=model(owui_settings, "openai"),
        messages=[{"role": "user", "content": "A joke as JSON with 'setup' and 'punchline' keys."}],
        response_format={"type": "json_object"},
    )
    assert json.loads(response.choices[0].message.content) == {"setup": "stub", "punchline": "stub"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_json_schema_answers_matching_json(owui_settings: Any, backend: str) -> None:
    response = litellm.completion(
        model=model(owui_settings, backend),
        messages=[{"role": "user", "content": "Tell a joke about 'cats'."}],
        response_format=SCHEMA,
    )
    assert set(json.loads(response.choices[0].message.content)) == {"setup", "punchline"}


def test_sampling_params_reach_the_server(owui_settings: Any) -> None:
    """max_tokens and stop act upstream; the others must be in the recorded body to replay."""
    response = litellm.completion(
        model=model(owui_settings, "openai"),
        messages=[{"role": "user", "content": "one two three four five six"}],
        max_tokens=3,
        stop=["six"],
        temperature=0.2,
        top_p=0.9,
        seed=7,
        user="user-42",
        extra_body={"files": [{"type": "file", "id": "no-such-file"}]},
    )
    assert response.choices[0].message.content == "Echo: one two"
    assert response.choices[0].finish_reason == "length"


# -- embeddings ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_embedding_returns_one_vector_per_input(owui_settings: Any, backend: str) -> None:
    name = owui_settings.models[f"embed_{backend}"]
    result = litellm.embedding(model=f"openwebui/{name}", input=["first text", "second text"])
    vectors = [item["embedding"] for item in result.data]
    assert len(vectors) == 2
    assert all(vector and isinstance(vector[0], float) for vector in vectors)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_aembedding_returns_one_vector_per_input(owui_settings: Any, backend: str) -> None:
    name = owui_settings.models[f"embed_{backend}"]
    result = await litellm.aembedding(model=f"openwebui/{name}", input=["first text"])
    assert len(result.data) == 1
    assert len(result.data[0]["embedding"]) > 1


# -- cost ------------------------------------------------------------------------------------


def test_completion_cost_uses_a_registered_price(owui_settings: Any, calls: Calls) -> None:
    name = model(owui_settings, "openai")
    litellm.register_model(
        {
            name: {
                "input_cost_per_token": 1e-6,
                "output_cost_per_token": 2e-6,
                "litellm_provider": "openwebui",
                "mode": "chat",
            }
        }
    )
    response = litellm.completion(model=name, messages=MESSAGES)
    usage = response.usage
    expected = usage.prompt_tokens * 1e-6 + usage.completion_tokens * 2e-6
    assert litellm.completion_cost(completion_response=response) == pytest.approx(expected)
    [(kwargs, _)] = calls.settled()
    assert kwargs["response_cost"] == pytest.approx(expected)


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["completion", "stream"])
def test_wrong_key_is_litellms_authentication_error(owui_settings: Any, stream: bool) -> None:
    with pytest.raises(llm_errors.AuthenticationError) as caught:
        litellm.completion(
            model=model(owui_settings, "openai"),
            messages=MESSAGES,
            api_key=WRONG_KEY,
            stream=stream,
        )
    assert "setting: api_key" in str(caught.value)
    assert caught.value.setting == "api_key"  # type: ignore[attr-defined]  # LiteLLM's name
    assert isinstance(caught.value.__cause__, errors.AuthenticationError)
    assert WRONG_KEY not in str(caught.value)


async def test_wrong_key_in_an_async_stream_is_an_authentication_error(owui_settings: Any) -> None:
    """The request goes out on the first chunk (LiteLLM iterates the stream); a 4xx keeps its class."""
    stream = await litellm.acompletion(
        model=model(owui_settings, "ollama"), messages=MESSAGES, api_key=WRONG_KEY, stream=True
    )
    with pytest.raises(llm_errors.AuthenticationError) as caught:
        async for _ in stream:
            pass
    assert "setting: api_key" in str(caught.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_model_lists_suggestions(owui_settings: Any, backend: str) -> None:
    misspelled = {"openai": "stub-gtp", "ollama": "stub-lama"}[backend]
    with pytest.raises(llm_errors.NotFoundError) as caught:
        litellm.completion(model=f"openwebui/{misspelled}", messages=MESSAGES)
    assert owui_settings.models[backend] in caught.value.suggestions  # type: ignore[attr-defined]
    assert repr(owui_settings.models[backend]) in str(caught.value)


async def test_unknown_model_in_acompletion_is_not_found(owui_settings: Any) -> None:
    with pytest.raises(llm_errors.NotFoundError) as caught:
        await litellm.acompletion(model="openwebui/stub-gtp", messages=MESSAGES)
    assert "stub-gpt" in str(caught.value)


def test_a_wrong_route_is_walked_up_to_the_server(owui_settings: Any) -> None:
    response = litellm.completion(
        model=model(owui_settings, "openai"),
        messages=MESSAGES,
        api_base=f"{owui_settings.server_url}/typo/",
    )
    assert response.choices[0].message.content == "Echo: Say hello."  # the stack's echo


def test_unknown_embedding_model_is_not_found(owui_settings: Any) -> None:
    with pytest.raises(llm_errors.NotFoundError) as caught:
        litellm.embedding(model="openwebui/stub-embd", input=["text"], max_retries=0)
    assert "stub-embed" in str(caught.value)
