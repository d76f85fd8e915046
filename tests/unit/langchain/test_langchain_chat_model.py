"""ChatOpenWebUI against a fake server: what it sends, and what LangChain gets back."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import ModelAPIError
from langchain_core.load import dumpd, load
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langchain_fake_server import (
    URL,
    FakeServer,
    completion,
    delta,
    sse,
    tool_call,
    usage_chunk,
)
from pydantic import BaseModel, Field

from openwebui_adapters.errors import ConfigurationError, ResponseError
from openwebui_adapters.langchain import ChatOpenWebUI
from samples import DATA


class Joke(BaseModel):
    """A joke."""

    setup: str = Field(description="the question")
    punchline: str = Field(description="the answer")


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


# --- construction ---------------------------------------------------------------------------


def test_settings_default_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", "http://env.test/api")
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-env")
    model = ChatOpenWebUI(model="stub-gpt")
    assert model.base_url == "http://env.test/api"
    assert model.api_key is not None
    assert model.api_key.get_secret_value() == "sk-env"
    assert model.client is not None
    assert model.client.settings.server_url == "http://env.test"


def test_missing_server_url_is_a_configuration_error_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENWEBUI_SERVER_URL", raising=False)
    with pytest.raises(ConfigurationError, match="OPENWEBUI_SERVER_URL"):
        ChatOpenWebUI(model="stub-gpt", api_key="sk-x")


def test_repr_and_serialisation_hide_the_key() -> None:
    model = ChatOpenWebUI(model="stub-gpt", base_url=URL, api_key="sk-secret-123")
    assert "sk-secret-123" not in repr(model)
    assert "sk-secret-123" not in json.dumps(dumpd(model))


def test_unknown_arguments_go_to_model_kwargs_and_the_body(server: FakeServer) -> None:
    server.reply(completion())
    with pytest.warns(UserWarning, match="top_p"):
        model = server.chat(top_p=0.5)
    assert model.model_kwargs == {"top_p": 0.5}
    model.invoke("hi")
    assert server.body["top_p"] == 0.5


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialisation_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-from-env")
    model = ChatOpenWebUI(model="stub-gpt", base_url=URL, api_key="sk-x", temperature=0.2)
    loaded = load(
        dumpd(model),
        valid_namespaces=["openwebui_adapters"],
        allowed_objects=[ChatOpenWebUI],
        secrets_from_env=True,
    )
    assert isinstance(loaded, ChatOpenWebUI)
    assert (loaded.model, loaded.base_url, loaded.temperature) == ("stub-gpt", URL, 0.2)
    assert loaded.api_key is not None
    assert loaded.api_key.get_secret_value() == "sk-from-env"


# --- invoke -----------------------------------------------------------------------------------


def test_invoke_sends_the_openai_body_and_returns_usage_and_metadata(server: FakeServer) -> None:
    server.reply(completion("Echo: hello", model="stub-gpt"))
    model = server.chat(temperature=0.1, max_tokens=20, stop=["END"], model_kwargs={"seed": 7})
    result = model.invoke([SystemMessage("be brief"), HumanMessage("hello")])

    assert server.requests[0].url == f"{URL}/api/chat/completions"
    assert server.body == {
        "model": "stub-gpt",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello"},
        ],
        "temperature": 0.1,
        "max_tokens": 20,
        "stop": ["END"],
        "seed": 7,
        "stream": False,
    }
    assert isinstance(result, AIMessage)
    assert result.content == "Echo: hello"
    assert result.usage_metadata == {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}
    assert result.response_metadata["model_name"] == "stub-gpt"
    assert result.response_metadata["finish_reason"] == "stop"
    assert result.response_metadata["model_provider"] == "openwebui"


def test_call_stop_replaces_the_default_and_an_empty_list_sends_none(server: FakeServer) -> None:
    server.reply(completion())
    model = server.chat(stop=["END"])
    model.invoke("hi", stop=["you"])
    assert server.body["stop"] == ["you"]
    model.invoke("hi", stop=[])
    assert "stop" not in server.body


def test_model_can_be_overridden_per_call(server: FakeServer) -> None:
    server.reply(completion(model="stub-llama:latest"))
    result = server.chat().invoke("hi", model="stub-llama:latest")
    assert server.body["model"] == "stub-llama:latest"
    assert result.response_metadata["model_name"] == "stub-llama:latest"


def test_ls_params_name_the_provider_and_the_call_model() -> None:
    model = ChatOpenWebUI(model="stub-gpt", base_url=URL, api_key="k", temperature=0, stop=["x"])
    assert model._get_ls_params(model="other") == {
        "ls_provider": "openwebui",
        "ls_model_name": "other",
        "ls_model_type": "chat",
        "ls_temperature": 0,
        "ls_stop": ["x"],
    }


async def test_ainvoke_is_natively_async(server: FakeServer) -> None:
    server.reply(completion("Echo: hi"))
    result = await server.chat().ainvoke("hi")
    assert result.content == "Echo: hi"
    # Served on the event loop's own thread: not a sync call pushed to an executor.
    assert server.threads == [threading.current_thread()]


def test_batch_sends_one_request_per_input(server: FakeServer) -> None:
    server.reply(completion("a"), completion("b"))
    results = server.chat().batch(["one", "two"], config={"max_concurrency": 1})
    assert [r.content for r in results] == ["a", "b"]
    assert [b["messages"][0]["content"] for b in server.bodies] == ["one", "two"]


def test_prompt_model_parser_chain(server: FakeServer) -> None:
    server.reply(completion("Echo: tell me about cats"))
    chain = ChatPromptTemplate.from_messages([("user", "tell me about {topic}")])
    answer = (chain | server.chat() | StrOutputParser()).invoke({"topic": "cats"})
    assert answer == "Echo: tell me about cats"


def test_a_body_without_choices_is_a_response_error(server: FakeServer) -> None:
    server.reply(httpx.Response(200, json={"model": "stub-gpt"}))
    with pytest.raises(ModelAPIError) as caught:
        server.chat().invoke("hi")
    assert isinstance(caught.value, ResponseError)


# --- streaming ----------------------------------------------------------------------------


def _stream_answer() -> Any:
    return sse(
        delta(role="assistant", content=""),
        delta(content="Echo: "),
        delta(content="hello"),
        delta(finish_reason="stop"),
        usage_chunk(5, 2),
    )


def test_stream_yields_text_then_one_closing_chunk_with_usage_and_metadata(
    server: FakeServer,
) -> None:
    server.reply(_stream_answer())
    chunks = list(server.chat().stream("hello"))

    assert server.body["stream"] is True
    assert server.body["stream_options"] == {"include_usage": True}
    assert [c.content for c in chunks] == ["Echo: ", "hello", ""]
    *text_chunks, last = chunks
    assert all(
        c.usage_metadata is None and "model_name" not in c.response_metadata for c in text_chunks
    )
    assert last.chunk_position == "last"
    assert last.usage_metadata == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    assert last.response_metadata["model_name"] == "stub-gpt"
    assert last.response_metadata["finish_reason"] == "stop"


def test_stream_usage_false_asks_the_server_not_to_send_it(server: FakeServer) -> None:
    server.reply(_stream_answer())
    list(server.chat(stream_usage=False).stream("hello"))
    assert server.body["stream_options"] == {"include_usage": False}


def test_streaming_true_streams_under_invoke(server: FakeServer) -> None:
    server.reply(_stream_answer())
    result = server.chat(streaming=True).invoke("hello")
    assert server.body["stream"] is True
    assert result.content == "Echo: hello"
    assert result.usage_metadata == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}


async def test_astream_is_natively_async(server: FakeServer) -> None:
    server.reply(_stream_answer())
    chunks = [chunk async for chunk in server.chat().astream("hello")]
    assert "".join(str(c.content) for c in chunks) == "Echo: hello"
    assert chunks[-1].usage_metadata is not None
    assert server.threads == [threading.current_thread()]


def test_ollama_stream_with_usage_on_the_finish_chunk(server: FakeServer) -> None:
    """Ollama backends put usage (with extra timing fields) on the chunk that finishes."""
    body = (DATA / "chat_ollama_stream.body").read_bytes()
    server.reply(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body))
    full = None
    for chunk in server.chat(model="stub-llama:latest").stream("hello world"):
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    assert full.content == "Echo: hello world "
    assert full.usage_metadata is not None
    assert full.usage_metadata["input_tokens"] == 5
    assert full.usage_metadata["output_tokens"] == 3
    assert full.response_metadata["model_name"] == "stub-llama:latest"
    assert full.response_metadata["finish_reason"] == "stop"


# --- tools --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool_choice", "sent"),
    [
        ("any", "required"),
        (True, "required"),
        ("required", "required"),
        ("auto", "auto"),
        ("none", "none"),
        ("weather", {"type": "function", "function": {"name": "weather"}}),
        (
            {"type": "function", "function": {"name": "add"}},
            {"type": "function", "function": {"name": "add"}},
        ),
    ],
)
def test_tool_choice_is_sent_in_openai_form(
    server: FakeServer, tool_choice: Any, sent: Any
) -> None:
    server.reply(completion())
    server.chat().bind_tools([add, weather], tool_choice=tool_choice).invoke("hi")
    assert server.body["tool_choice"] == sent
    assert [t["function"]["name"] for t in server.body["tools"]] == ["add", "weather"]


def test_tool_choice_naming_no_bound_tool_is_refused() -> None:
    model = ChatOpenWebUI(model="stub-gpt", base_url=URL, api_key="k")
    with pytest.raises(ValueError, match="add, weather"):
        model.bind_tools([add, weather], tool_choice="nope")


def test_tool_calls_are_parsed_and_bad_arguments_kept_as_invalid(server: FakeServer) -> None:
    server.reply(
        completion(
            None,
            tool_calls=[
                tool_call("add", '{"a": 1, "b": 2}', "call_a"),
                tool_call("weather", "{not json", "call_b"),
            ],
            finish_reason="tool_calls",
        )
    )
    result = server.chat().bind_tools([add, weather]).invoke("hi")
    assert result.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "call_a", "type": "tool_call"}
    ]
    assert result.invalid_tool_calls[0]["name"] == "weather"
    assert result.invalid_tool_calls[0]["args"] == "{not json"
    assert result.response_metadata["finish_reason"] == "tool_calls"


def test_streamed_tool_call_fragments_assemble_into_one_call(server: FakeServer) -> None:
    server.reply(
        sse(
            delta(role="assistant", content=None),
            delta(
                tool_calls=[
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "add", "arguments": ""},
                    }
                ]
            ),
            delta(tool_calls=[{"index": 0, "function": {"arguments": '{"a": 1, '}}]),
            delta(tool_calls=[{"index": 0, "function": {"arguments": '"b": 2}'}}]),
            delta(finish_reason="tool_calls"),
            usage_chunk(),
        )
    )
    full = None
    for chunk in server.chat().bind_tools([add]).stream("hi"):
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    assert full.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "call_1", "type": "tool_call"}
    ]


def test_tool_round_trip_sends_the_call_and_its_result(server: FakeServer) -> None:
    server.reply(
        completion(
            None, tool_calls=[tool_call("add", '{"a": 1, "b": 2}')], finish_reason="tool_calls"
        ),
        completion("The tool returned: 3"),
    )
    model = server.chat().bind_tools([add])
    question = HumanMessage("1 + 2?")
    call = model.invoke([question])
    tool_message = tool(add).invoke(call.tool_calls[0])
    answer = model.invoke([question, call, tool_message])
    assert answer.content == "The tool returned: 3"
    assert server.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [tool_call("add", '{"a": 1, "b": 2}')],
        },
        {"role": "tool", "content": "3", "tool_call_id": "call_1"},
    ]


# --- structured output --------------------------------------------------------------------

JOKE_JSON = '{"setup": "Why?", "punchline": "Because."}'


def test_structured_output_defaults_to_the_json_schema_response_format(server: FakeServer) -> None:
    server.reply(completion(JOKE_JSON))
    joke = server.chat().with_structured_output(Joke).invoke("a joke")
    assert joke == Joke(setup="Why?", punchline="Because.")
    response_format = server.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Joke"
    assert set(response_format["json_schema"]["schema"]["properties"]) == {"setup", "punchline"}
    assert "tools" not in server.body


def test_structured_output_by_function_calling_forces_the_tool(server: FakeServer) -> None:
    server.reply(completion(None, tool_calls=[tool_call("Joke", JOKE_JSON)]))
    joke = server.chat().with_structured_output(Joke, method="function_calling").invoke("a joke")
    assert joke == Joke(setup="Why?", punchline="Because.")
    assert server.body["tool_choice"] == {"type": "function", "function": {"name": "Joke"}}
    assert [t["function"]["name"] for t in server.body["tools"]] == ["Joke"]


def test_structured_output_in_json_mode_with_a_dict_schema(server: FakeServer) -> None:
    server.reply(completion("```json\n" + JOKE_JSON + "\n```"))
    result = (
        server.chat()
        .with_structured_output(Joke.model_json_schema(), method="json_mode")
        .invoke("a joke as JSON")
    )
    assert result == {"setup": "Why?", "punchline": "Because."}
    assert server.body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_include_raw_returns_the_message_and_any_parsing_error(
    server: FakeServer, method: str
) -> None:
    server.reply(completion("not json at all"))
    result = (
        server.chat()
        .with_structured_output(
            Joke,
            method=method,
            include_raw=True,  # type: ignore[arg-type]
        )
        .invoke("a joke")
    )
    assert isinstance(result, dict)
    assert isinstance(result["raw"], AIMessage)
    assert result["parsed"] is None
    if method != "function_calling":  # no tool call is not an error for the tools parser
        assert result["parsing_error"] is not None


def test_structured_output_streams_partial_objects(server: FakeServer) -> None:
    server.reply(
        sse(
            delta(content='{"setup": "Why'),
            delta(content='?", "punchline": "Because."}'),
            delta(finish_reason="stop"),
        )
    )
    parts = list(server.chat().with_structured_output(Joke.model_json_schema()).stream("joke"))
    assert parts[-1] == {"setup": "Why?", "punchline": "Because."}


def test_json_mode_refuses_strict() -> None:
    model = ChatOpenWebUI(model="stub-gpt", base_url=URL, api_key="k")
    with pytest.raises(ValueError, match="strict"):
        model.with_structured_output(Joke, method="json_mode", strict=True)


def test_an_ssl_context_reaches_the_core_client() -> None:
    import ssl

    from openwebui_adapters.langchain import ChatOpenWebUI

    context = ssl.create_default_context()
    model = ChatOpenWebUI(
        model="stub-gpt", base_url="http://owui.test", api_key="sk-test", verify=context
    )
    assert model.core_client().connection.ssl_context is context
