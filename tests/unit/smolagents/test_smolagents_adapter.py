"""OpenWebUIModel: smolagents' arguments in, the server's answers out, over a scripted server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from smolagents import CodeAgent, ToolCallingAgent, tool
from smolagents.agents import AgentGenerationError
from smolagents.models import (
    CODEAGENT_RESPONSE_FORMAT,
    ChatMessage,
    MessageRole,
    agglomerate_stream_deltas,
    is_rate_limit_error,
)

from openwebui_adapters import OpenWebUIClient, Settings, errors
from openwebui_adapters._replies import read_stream_chunk
from openwebui_adapters.smolagents import OpenWebUIModel, delta_from_chunk
from samples import sample_response as sample

URL = "http://openwebui.test"
KEY = "sk-unit-test-key-0123456789"

Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    """Queued answers over httpx.MockTransport; every request body is kept."""

    def __init__(self) -> None:
        self.answers: list[httpx.Response] = []
        self.bodies: list[dict[str, Any]] = []

    def reply(self, *answers: httpx.Response) -> Server:
        self.answers.extend(answers)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return self.answers.pop(0)

    def model(self, model_id: str = "stub-gpt", **kwargs: Any) -> OpenWebUIModel:
        # Settings by smolagents' names, as `OpenWebUIModel(api_base=..., api_key=...)` gives them.
        settings = Settings.resolve(URL, KEY, library="smolagents", max_retries=0)
        client = OpenWebUIClient.from_settings(settings, transport=httpx.MockTransport(self.handle))
        return OpenWebUIModel(model_id, client=client, **kwargs)


@pytest.fixture
def server() -> Server:
    return Server()


def completion(
    content: str | None = "Hello",
    tool_calls: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
) -> httpx.Response:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "stub-gpt",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": usage or {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        },
    )


def call(name: str, arguments: Any, call_id: str = "call_1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def sse(*chunks: dict[str, Any]) -> httpx.Response:
    body = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


def chunk(usage: dict[str, Any] | None = None, **delta: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "stub-gpt",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }
    if usage is not None:
        data["usage"] = usage
    return data


@tool  # type: ignore[untyped-decorator]  # smolagents ships no type information
def get_weather(location: str) -> str:
    """The weather in a city.

    Args:
        location: the city
    """
    return f"sunny in {location}"


USER = [ChatMessage(role=MessageRole.USER, content=[{"type": "text", "text": "Weather in Paris?"}])]


# --- import and settings -------------------------------------------------------------------


def test_import_does_not_load_litellm() -> None:
    code = "import sys, openwebui_adapters.smolagents; print('litellm' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", "https://chat.example.com/api/v1/")
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    monkeypatch.setenv("OPENWEBUI_MODEL", "llama3:latest")
    model = OpenWebUIModel()
    assert model.model_id == "llama3:latest"
    assert model.server_url == "https://chat.example.com"
    assert model.client.settings.api_key == KEY


def test_arguments_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", "https://env.example.com")
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-from-env-000000")
    model = OpenWebUIModel("stub-gpt", api_base="http://10.0.0.5:3000/ollama/v1", api_key=KEY)
    assert model.server_url == "http://10.0.0.5:3000"
    assert model.client.settings.api_key == KEY


def test_missing_model_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENWEBUI_MODEL", raising=False)
    with pytest.raises(errors.ConfigurationError) as caught:
        OpenWebUIModel(api_base=URL, api_key=KEY)
    assert caught.value.setting == "model_id"  # smolagents' own name for it


def test_missing_key_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENWEBUI_API_KEY", raising=False)
    with pytest.raises(errors.ConfigurationError) as caught:
        OpenWebUIModel("stub-gpt", api_base=URL)
    assert "OPENWEBUI_API_KEY" in str(caught.value)


def test_repr_hides_the_key(server: Server) -> None:
    assert KEY not in repr(server.model())


# --- the request ---------------------------------------------------------------------------


def test_request_carries_messages_stop_and_extra_parameters(server: Server) -> None:
    model = server.reply(completion()).model(temperature=0.2)
    history: list[ChatMessage | dict[str, Any]] = [
        ChatMessage(role=MessageRole.SYSTEM, content=[{"type": "text", "text": "Be brief."}]),
        *USER,
        ChatMessage(role=MessageRole.TOOL_RESPONSE, content=[{"type": "text", "text": "Obs"}]),
    ]
    model.generate(history, stop_sequences=["Observation:"], seed=7)
    body = server.bodies[0]
    assert body["model"] == "stub-gpt"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]  # tool response -> user
    assert body["messages"][1]["content"][-1]["text"].endswith("Obs")
    assert body["stop"] == ["Observation:"]
    assert body["temperature"] == 0.2
    assert body["seed"] == 7
    assert body["stream"] is False


def test_request_offers_tools_with_required_choice_by_default(server: Server) -> None:
    server.reply(completion(None, [call("get_weather", '{"location": "Paris"}')]))
    server.model().generate(USER, tools_to_call_from=[get_weather])
    body = server.bodies[0]
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["location"]
    assert body["tool_choice"] == "required"


@pytest.mark.parametrize(
    "choice", ["auto", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_tool_choice_is_sent_as_given(server: Server, choice: Any) -> None:
    server.reply(completion(None, [call("get_weather", "{}")]))
    server.model().generate(USER, tools_to_call_from=[get_weather], tool_choice=choice)
    assert server.bodies[0]["tool_choice"] == choice


def test_response_format_is_sent_for_structured_code_steps(server: Server) -> None:
    server.reply(completion('{"thought": "t", "code": "final_answer(1)"}'))
    server.model().generate(USER, response_format=CODEAGENT_RESPONSE_FORMAT)
    assert server.bodies[0]["response_format"] == CODEAGENT_RESPONSE_FORMAT


def test_flattened_messages_are_plain_text(server: Server) -> None:
    server.reply(completion()).model(flatten_messages_as_text=True).generate(USER)
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "Weather in Paris?"}]


def test_stop_is_applied_locally_for_models_without_a_stop_parameter(server: Server) -> None:
    model = server.reply(completion("Thought: x\nObservation: made up")).model("gpt-5")
    message = model.generate(USER, stop_sequences=["Observation:"])
    assert "stop" not in server.bodies[0]
    assert message.content == "Thought: x\n"


# --- the answer ----------------------------------------------------------------------------


def test_answer_becomes_a_chat_message_with_usage(server: Server) -> None:
    message = server.reply(completion("Sunny.")).model().generate(USER)
    assert message.role == MessageRole.ASSISTANT
    assert message.content == "Sunny."
    assert message.tool_calls is None
    assert (message.token_usage.input_tokens, message.token_usage.output_tokens) == (5, 3)
    assert message.raw["model"] == "stub-gpt"


def test_tool_calls_keep_json_arguments(server: Server) -> None:
    server.reply(completion(None, [call("get_weather", '{"location": "Paris"}', "call_9")]))
    message = server.model().generate(USER, tools_to_call_from=[get_weather])
    assert message.tool_calls is not None
    (tool_call,) = message.tool_calls
    assert (tool_call.id, tool_call.type, tool_call.function.name) == (
        "call_9",
        "function",
        "get_weather",
    )
    assert json.loads(tool_call.function.arguments) == {"location": "Paris"}


def test_tool_call_arguments_sent_as_an_object_become_json(server: Server) -> None:
    server.reply(completion(None, [call("get_weather", {"location": "Paris"})]))
    message = server.model().generate(USER, tools_to_call_from=[get_weather])
    assert message.tool_calls is not None
    assert json.loads(message.tool_calls[0].function.arguments) == {"location": "Paris"}


def test_answer_without_choices_is_a_response_error(server: Server) -> None:
    server.reply(httpx.Response(200, json={"id": "x", "model": "stub-gpt", "choices": []}))
    with pytest.raises(errors.ResponseError):
        server.model().generate(USER)


# --- streaming -----------------------------------------------------------------------------


def test_stream_yields_text_then_usage(server: Server) -> None:
    server.reply(
        sse(
            chunk(role="assistant", content=""),
            chunk(content="Sun"),
            chunk(content="ny."),
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "model": "stub-gpt",
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            },
        )
    )
    deltas = list(server.model().generate_stream(USER, stop_sequences=["Observation:"]))
    assert [d.content for d in deltas if d.content] == ["Sun", "ny."]
    assert deltas[-1].token_usage is not None
    assert deltas[-1].token_usage.output_tokens == 3
    assert server.bodies[0]["stream"] is True
    assert server.bodies[0]["stream_options"] == {"include_usage": True}
    assert server.bodies[0]["stop"] == ["Observation:"]


def test_streamed_tool_call_deltas_agglomerate_into_one_call(server: Server) -> None:
    first = {"index": 0, "id": "call_1", "type": "function"}
    server.reply(
        sse(
            chunk(tool_calls=[{**first, "function": {"name": "get_weather", "arguments": ""}}]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"location": '}}]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": '"Paris"}'}}]),
        )
    )
    deltas = list(server.model().generate_stream(USER, tools_to_call_from=[get_weather]))
    message = agglomerate_stream_deltas(deltas)
    assert [(c.id, c.function.name) for c in message.tool_calls or []] == [
        ("call_1", "get_weather")
    ]
    assert json.loads(message.tool_calls[0].function.arguments) == {"location": "Paris"}


def test_ollama_stream_with_whole_tool_call_and_usage(server: Server) -> None:
    server.reply(sample("tools_ollama_stream"))
    deltas = list(server.model("stub-llama:latest").generate_stream(USER, [], None, [get_weather]))
    message = agglomerate_stream_deltas(deltas)
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.tool_calls[0].function.arguments) == {"location": "Paris"}
    assert message.token_usage is not None
    assert (message.token_usage.input_tokens, message.token_usage.output_tokens) == (5, 3)


def test_chunk_without_index_uses_its_position() -> None:
    raw = chunk(tool_calls=[{"function": {"name": "a", "arguments": "{}"}}])
    delta = delta_from_chunk(read_stream_chunk(raw))
    assert delta is not None
    assert delta.tool_calls is not None
    assert delta.tool_calls[0].index == 0


def test_empty_chunks_are_skipped() -> None:
    assert delta_from_chunk(read_stream_chunk(chunk())) is None
    assert delta_from_chunk(read_stream_chunk({"choices": []})) is None


# --- errors and smolagents' retry ------------------------------------------------------------


def test_wrong_key_names_the_key_setting_and_is_not_retried(server: Server) -> None:
    server.reply(sample("err_badkey_chat"))
    with pytest.raises(errors.AuthenticationError) as caught:
        server.model().generate(USER)
    assert caught.value.setting == "api_key"
    assert "set api_key" in str(caught.value)
    assert not is_rate_limit_error(caught.value)
    assert len(server.bodies) == 1


def test_rate_limit_is_retried_by_smolagents(server: Server) -> None:
    model = server.reply(sample("err_upstream_429_chat"), completion("after the wait")).model()
    model.retryer.wait_seconds = 0
    assert model.generate(USER).content == "after the wait"
    assert len(server.bodies) == 2


def test_rate_limit_on_a_stream_is_retried_before_the_first_delta(server: Server) -> None:
    model = server.reply(sample("err_upstream_429_chat"), sse(chunk(content="ok"))).model()
    model.retryer.wait_seconds = 0
    assert [d.content for d in model.generate_stream(USER)] == ["ok"]
    assert len(server.bodies) == 2


def test_rate_limit_surfaces_after_smolagents_gives_up(server: Server) -> None:
    model = server.reply(*[sample("err_upstream_429_chat")] * 3).model()
    model.retryer.wait_seconds = 0
    with pytest.raises(errors.RateLimitError) as caught:
        model.generate(USER)
    assert is_rate_limit_error(caught.value)
    assert len(server.bodies) == 3


def test_retry_false_turns_smolagents_retry_off(server: Server) -> None:
    model = server.reply(sample("err_upstream_429_chat")).model(retry=False)
    with pytest.raises(errors.RateLimitError):
        model.generate(USER)
    assert len(server.bodies) == 1


@pytest.mark.parametrize(
    "error",
    [
        errors.AuthenticationError("Open WebUI did not accept the API key", status_code=401),
        errors.ModelNotFoundError("Open WebUI has no model 'x'", model="x", status_code=400),
        errors.RouteError("No Open WebUI API at this URL (405 Method Not Allowed)"),
        errors.DNSError("Could not resolve host", url="http://host:4290"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_only_rate_limits_look_like_rate_limits_to_smolagents(error: Exception) -> None:
    assert not is_rate_limit_error(error)


# --- saving and loading ---------------------------------------------------------------------


def test_to_dict_never_holds_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    model = OpenWebUIModel(
        "stub-gpt", api_base=URL, api_key=KEY, timeout=30, temperature=0, headers={"X-A": "b"}
    )
    saved = model.to_dict()
    assert KEY not in json.dumps(saved)
    assert "api_key" not in saved
    assert "headers" not in saved
    assert {"model_id": "stub-gpt", "api_base": URL, "timeout": 30, "temperature": 0}.items() <= (
        saved.items()
    )
    assert KEY not in capsys.readouterr().out


def test_from_dict_rebuilds_the_model_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    original = OpenWebUIModel("stub-gpt", api_base=URL, timeout=30, temperature=0)
    loaded = OpenWebUIModel.from_dict(original.to_dict())
    assert isinstance(loaded, OpenWebUIModel)
    assert loaded.to_dict() == original.to_dict()
    assert loaded.client.settings.api_key == KEY


def test_saved_agent_loads_again_with_this_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    agent = CodeAgent(tools=[get_weather], model=OpenWebUIModel("stub-gpt", api_base=URL))
    agent.save(tmp_path)
    assert KEY not in "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    loaded = CodeAgent.from_folder(tmp_path)
    assert isinstance(loaded.model, OpenWebUIModel)
    assert (loaded.model.model_id, loaded.model.server_url) == ("stub-gpt", URL)


# --- agents over the scripted server ----------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
def test_tool_calling_agent_calls_a_tool_then_answers(server: Server, stream: bool) -> None:
    if stream:
        server.reply(
            sse(chunk(tool_calls=[{"index": 0, **call("get_weather", '{"location": "Paris"}')}])),
            sse(chunk(tool_calls=[{"index": 0, **call("final_answer", '{"answer": "sunny"}')}])),
        )
    else:
        server.reply(
            completion(None, [call("get_weather", '{"location": "Paris"}')]),
            completion(None, [call("final_answer", '{"answer": "sunny"}', "call_2")]),
        )
    agent = ToolCallingAgent(
        tools=[get_weather], model=server.model(), stream_outputs=stream, verbosity_level=0
    )
    assert agent.run("Weather in Paris?") == "sunny"
    tool_message = server.bodies[1]["messages"][-1]
    assert "sunny in Paris" in json.dumps(tool_message)


def test_code_agent_runs_code_then_answers(server: Server) -> None:
    server.reply(
        completion('Thought: ask the tool.\n<code>\nprint(get_weather("Paris"))\n'),
        completion('Thought: done.\n<code>\nfinal_answer("sunny")\n'),
    )
    agent = CodeAgent(tools=[get_weather], model=server.model(), verbosity_level=0)
    assert agent.run("Weather in Paris?") == "sunny"
    assert server.bodies[0]["stop"] == ["Observation:", "Calling tools:", "</code>"]
    assert "sunny in Paris" in json.dumps(server.bodies[1]["messages"])


def test_agent_error_carries_the_core_error(server: Server) -> None:
    server.reply(sample("err_badkey_chat"))
    agent = CodeAgent(tools=[get_weather], model=server.model(), verbosity_level=0)
    with pytest.raises(AgentGenerationError) as caught:
        agent.run("Weather in Paris?")
    assert "setting: api_key" in str(caught.value)
    assert isinstance(caught.value.__cause__, errors.AuthenticationError)
