"""The stack's fake model backend (stack/upstream.py), on real sockets, both protocols.

Every reply rule is checked through the OpenAI API (`/v1/...`) and the Ollama API (`/api/...`),
streamed and not: the live suite and the recordings depend on these answers.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stack_scripts import load_stack_script

SCRIPT = Path(__file__).resolve().parents[2] / "stack" / "upstream.py"


def load_upstream() -> ModuleType:
    """stack/upstream.py as a module (a script beside the package, not part of it)."""
    return load_stack_script("upstream")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server, thread = load_upstream().serve_in_thread(0)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def request(
    base: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# ---- one chat call, either protocol, normalised -------------------------------------------

PROTOCOLS = ["openai", "ollama"]


def to_ollama(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-style request as Open WebUI would send it to Ollama (plus tool_choice/json)."""
    messages = []
    for m in body["messages"]:
        m = dict(m)
        if m.get("tool_calls"):
            m["tool_calls"] = [
                {
                    "function": {
                        "name": c["function"]["name"],
                        "arguments": json.loads(c["function"]["arguments"]),
                    }
                }
                for c in m["tool_calls"]
            ]
            m["content"] = ""
        messages.append(m)
    out: dict[str, Any] = {
        "model": "stub-llama:latest",
        "messages": messages,
        "stream": bool(body.get("stream")),
    }
    for key in ("tools", "tool_choice"):
        if key in body:
            out[key] = body[key]
    options = {}
    if "stop" in body:
        options["stop"] = body["stop"]
    if "max_tokens" in body:
        options["num_predict"] = body["max_tokens"]
    if options:
        out["options"] = options
    fmt = body.get("response_format")
    if fmt and fmt["type"] == "json_object":
        out["format"] = "json"
    elif fmt:
        out["format"] = fmt["json_schema"]["schema"]
    return out


def chat(base: str, protocol: str, body: dict[str, Any]) -> dict[str, Any]:
    """Returns {content, tool_calls: [(name, args)], finish_reason, prompt_tokens, completion_tokens}."""
    if protocol == "openai":
        status, _, raw = request(base, "/v1/chat/completions", {"model": "stub-gpt", **body})
        assert status == 200, raw
        if body.get("stream"):
            return collect_sse(raw.decode())
        data = json.loads(raw)
        choice = data["choices"][0]
        calls = [
            (c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in choice["message"].get("tool_calls") or []
        ]
        return {
            "content": choice["message"]["content"] or "",
            "tool_calls": calls,
            "finish_reason": choice["finish_reason"],
            "prompt_tokens": data["usage"]["prompt_tokens"],
            "completion_tokens": data["usage"]["completion_tokens"],
        }
    status, headers, raw = request(base, "/api/chat", to_ollama(body))
    assert status == 200, raw
    lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    if body.get("stream"):
        assert headers["Content-Type"] == "application/x-ndjson"
        assert all(not line["done"] for line in lines[:-1])
    last = lines[-1]
    assert last["done"] is True
    content = "".join(line["message"]["content"] for line in lines)
    calls = [
        (c["function"]["name"], c["function"]["arguments"])
        for line in lines
        for c in line["message"].get("tool_calls") or []
    ]
    # Ollama has no "tool_calls"/"length" pair like OpenAI: map as Open WebUI does.
    finish = "tool_calls" if calls else last["done_reason"]
    return {
        "content": content,
        "tool_calls": calls,
        "finish_reason": finish,
        "prompt_tokens": last["prompt_eval_count"],
        "completion_tokens": last["eval_count"],
    }


def sse_events(text: str) -> list[Any]:
    events = [line[len("data: ") :] for line in text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def collect_sse(text: str) -> dict[str, Any]:
    chunks = sse_events(text)
    content, calls, finish = "", {}, None
    for chunk in chunks:
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                entry = calls.setdefault(call["index"], {"name": "", "arguments": ""})
                entry["name"] += call.get("function", {}).get("name", "")
                entry["arguments"] += call.get("function", {}).get("arguments", "")
            finish = choice["finish_reason"] or finish
    usage = next((c["usage"] for c in chunks if c.get("usage")), None)
    return {
        "content": content,
        "tool_calls": [(c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())],
        "finish_reason": finish,
        "prompt_tokens": usage and usage["prompt_tokens"],
        "completion_tokens": usage and usage["completion_tokens"],
    }


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "days": {"type": "integer"},
                "scale": {"type": "number"},
                "detailed": {"type": "boolean"},
                "hours": {"type": "array", "items": {"type": "integer"}},
                "extra": {"type": "object"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        },
    },
}
FINAL = {
    "type": "function",
    "function": {
        "name": "final_answer",
        "parameters": {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
        },
    },
}
WEATHER_ARGS = {
    "location": "Paris",
    "days": 3,
    "scale": 3,
    "detailed": True,
    "hours": [],
    "extra": {},
    "unit": "celsius",
}


# ---- routes ------------------------------------------------------------------------------


def test_root_says_ollama_is_running(base_url: str) -> None:
    status, _, body = request(base_url, "/")
    assert (status, body) == (200, b"Ollama is running")


def test_openai_models(base_url: str) -> None:
    status, _, body = request(base_url, "/v1/models")
    data = json.loads(body)
    assert status == 200
    assert [m["id"] for m in data["data"]] == ["stub-gpt", "stub-embed", "gpt-4o-mini"]
    assert all(m["object"] == "model" for m in data["data"])


def test_ollama_tags_version_ps_show(base_url: str) -> None:
    tags = json.loads(request(base_url, "/api/tags")[2])["models"]
    assert [t["name"] for t in tags] == [
        "stub-llama:latest",
        "stub-embed-ollama:latest",
        "llama3.2:latest",
        "nomic-embed-text:latest",
    ]
    for tag in tags:
        assert tag["model"] == tag["name"]
        assert len(tag["digest"]) == 64
        assert {"modified_at", "size", "details"} <= tag.keys()
        assert tag["details"]["format"] == "gguf"
    assert json.loads(request(base_url, "/api/version")[2]) == {"version": "0.9.0"}
    assert json.loads(request(base_url, "/api/ps")[2]) == {"models": []}
    show = json.loads(request(base_url, "/api/show", {"model": "stub-llama:latest"})[2])
    assert "tools" in show["capabilities"]
    assert request(base_url, "/api/show", {"model": "nope"})[0] == 404


def test_unknown_route_and_bad_json(base_url: str) -> None:
    assert request(base_url, "/v1/nothing")[0] == 404
    status, _, body = request(base_url, "/v1/chat/completions", raw=b"{not json")
    assert status == 400
    assert "error" in json.loads(body)
    status, _, body = request(base_url, "/api/chat", raw=b"[1]")
    assert status == 400
    assert isinstance(json.loads(body)["error"], str)


# ---- rule 1: forced errors and delays ----------------------------------------------------


@pytest.mark.parametrize("code", [400, 429, 500, 503])
@pytest.mark.parametrize("stream", [False, True])
def test_forced_error_openai(base_url: str, code: int, stream: bool) -> None:
    body = {"model": "stub-gpt", "stream": stream, "messages": [user(f"please FORCE_ERROR {code}")]}
    status, headers, raw = request(base_url, "/v1/chat/completions", body)
    assert status == code
    assert json.loads(raw) == {
        "error": {"message": f"stub forced error {code}", "type": "stub_error", "code": str(code)}
    }
    assert headers.get("Retry-After") == ("1" if code == 429 else None)


@pytest.mark.parametrize("code", [400, 429, 500, 503])
@pytest.mark.parametrize("path", ["/api/chat", "/api/generate"])
def test_forced_error_ollama(base_url: str, code: int, path: str) -> None:
    body = {
        "model": "stub-llama:latest",
        "messages": [user(f"FORCE_ERROR {code}")],
        "prompt": f"FORCE_ERROR {code}",
    }
    status, headers, raw = request(base_url, path, body)
    assert status == code
    assert json.loads(raw) == {"error": f"stub forced error {code}"}
    assert headers.get("Retry-After") == ("1" if code == 429 else None)


def test_only_the_last_user_message_forces_errors(base_url: str) -> None:
    body = {
        "messages": [user("FORCE_ERROR 500"), {"role": "assistant", "content": "x"}, user("hi")]
    }
    for protocol in PROTOCOLS:
        assert chat(base_url, protocol, body)["content"] == "Echo: hi"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_forced_slow(base_url: str, protocol: str) -> None:
    start = time.monotonic()
    reply = chat(base_url, protocol, {"messages": [user("FORCE_SLOW 0.4 hi")]})
    assert time.monotonic() - start >= 0.4
    assert reply["content"] == "Echo: FORCE_SLOW 0.4 hi"


# ---- rule 2: tool calls ------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True])
def test_calls_first_tool_with_schema_arguments(base_url: str, protocol: str, stream: bool) -> None:
    body = {
        "stream": stream,
        "messages": [user("Weather in 'Paris'?")],
        "tools": [FINAL, WEATHER, ADD],
    }
    reply = chat(base_url, protocol, body)
    assert reply["tool_calls"] == [("get_weather", WEATHER_ARGS)]
    assert reply["finish_reason"] == "tool_calls"
    assert reply["content"] == ""


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_string_arguments_default_to_a_word(base_url: str, protocol: str) -> None:
    reply = chat(
        base_url, protocol, {"messages": [user("What's the weather?")], "tools": [WEATHER]}
    )
    assert reply["tool_calls"][0][1]["location"] == "stub"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tool_choice_forces_a_tool(base_url: str, protocol: str) -> None:
    body = {
        "messages": [user("add please")],
        "tools": [WEATHER, ADD],
        "tool_choice": {"type": "function", "function": {"name": "add"}},
    }
    assert chat(base_url, protocol, body)["tool_calls"] == [("add", {"a": 3, "b": 3})]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True])
def test_parallel_calls_every_tool_but_final_answer(
    base_url: str, protocol: str, stream: bool
) -> None:
    body = {
        "stream": stream,
        "messages": [user("do both in parallel")],
        "tools": [WEATHER, FINAL, ADD],
    }
    reply = chat(base_url, protocol, body)
    assert [name for name, _ in reply["tool_calls"]] == ["get_weather", "add"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tool_choice_none_answers_text(base_url: str, protocol: str) -> None:
    body = {"messages": [user("hi")], "tools": [WEATHER], "tool_choice": "none"}
    reply = chat(base_url, protocol, body)
    assert (reply["content"], reply["tool_calls"]) == ("Echo: hi", [])


# ---- rule 3: after a tool result ---------------------------------------------------------


def tool_round(tools: list[dict[str, Any]]) -> dict[str, Any]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
    }
    return {
        "messages": [
            user("Weather in 'Paris'?"),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 22 C"},
        ],
        "tools": tools,
    }


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True])
def test_tool_result_becomes_text(base_url: str, protocol: str, stream: bool) -> None:
    reply = chat(base_url, protocol, {**tool_round([WEATHER]), "stream": stream})
    assert reply["content"] == "The tool returned: sunny, 22 C"
    assert reply["finish_reason"] == "stop"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tool_result_goes_to_final_answer(base_url: str, protocol: str) -> None:
    reply = chat(base_url, protocol, tool_round([WEATHER, FINAL]))
    assert reply["tool_calls"] == [("final_answer", {"answer": "sunny, 22 C"})]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_smolagents_observation_counts_as_tool_result(base_url: str, protocol: str) -> None:
    body = {
        "messages": [
            {"role": "system", "content": "You are an expert assistant ... final_answer"},
            user("New task:\nWeather in 'Paris'?"),
            {"role": "assistant", "content": "Calling tools:\n[...]"},
            user("Observation:\nsunny"),
        ],
        "tools": [WEATHER, FINAL],
    }
    assert chat(base_url, protocol, body)["tool_calls"] == [("final_answer", {"answer": "sunny"})]


# ---- rule 4: JSON mode and schemas -------------------------------------------------------

CITY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "population": {"type": "integer"},
        "area": {"type": "number"},
        "capital": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "size": {"enum": ["big", "small"]},
        "mayor": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Person"}]},
    },
    "required": ["name"],
    "$defs": {"Person": {"type": "object", "properties": {"first": {"type": "string"}}}},
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_json_object_echoes(base_url: str, protocol: str) -> None:
    body = {"messages": [user("hi there")], "response_format": {"type": "json_object"}}
    assert json.loads(chat(base_url, protocol, body)["content"]) == {"answer": "hi there"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True])
def test_json_schema_is_sampled(base_url: str, protocol: str, stream: bool) -> None:
    body = {
        "stream": stream,
        "messages": [user("Tell me about 'Lyon'")],
        "response_format": {"type": "json_schema", "json_schema": {"name": "City", "schema": CITY}},
    }
    assert json.loads(chat(base_url, protocol, body)["content"]) == {
        "name": "Lyon",
        "population": 3,
        "area": 3,
        "capital": True,
        "tags": [],
        "size": "big",
        "mayor": {"first": "Lyon"},
    }


# ---- rule 5: smolagents CodeAgent --------------------------------------------------------

CODE_SYSTEM = """You are an expert assistant who can solve any task using code blobs.
The code sequence must be opened with '<code>', and closed with '</code>'.
In the end you have to return a final answer using the `final_answer` tool.
<code>
def get_weather(location: string, days: integer) -> string:
    \"\"\"Weather.\"\"\"

def final_answer(answer: any) -> any:
    \"\"\"Provides a final answer to the given problem.\"\"\"
</code>
Now Begin!"""


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_code_agent_first_step_calls_the_tool(base_url: str, protocol: str) -> None:
    body = {
        "messages": [
            {"role": "system", "content": CODE_SYSTEM},
            user("New task:\nWeather in 'Paris'?"),
        ],
        "stop": ["Observation:", "Calling tools:"],
    }
    assert chat(base_url, protocol, body)["content"] == (
        "Thought: I will call the tool.\n<code>\n"
        "result = get_weather(location='Paris', days=3)\nprint(result)\n</code>"
    )


OBSERVATION = "Observation:\nExecution logs:\nsunny in Paris\nLast output from code snippet:\nNone"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_code_agent_next_step_gives_the_final_answer(base_url: str, protocol: str) -> None:
    body = {
        "messages": [
            {"role": "system", "content": CODE_SYSTEM},
            user("New task:\nWeather in 'Paris'?"),
            {"role": "assistant", "content": "Thought: I will call the tool.\n<code>...</code>"},
            user(OBSERVATION),
        ]
    }
    assert chat(base_url, protocol, body)["content"] == (
        "Thought: I have the answer.\n<code>\nfinal_answer('sunny in Paris')\n</code>"
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_code_agent_without_tools_answers_at_once(base_url: str, protocol: str) -> None:
    system = CODE_SYSTEM.replace("def get_weather(location: string, days: integer) -> string:", "")
    body = {"messages": [{"role": "system", "content": system}, user("2+2?")]}
    assert "final_answer(" in chat(base_url, protocol, body)["content"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_code_agent_structured_mode(base_url: str, protocol: str) -> None:
    schema = {
        "type": "object",
        "properties": {"thought": {"type": "string"}, "code": {"type": "string"}},
        "required": ["thought", "code"],
    }
    body = {
        "messages": [{"role": "system", "content": CODE_SYSTEM}, user("Weather in 'Paris'?")],
        "response_format": {"type": "json_schema", "json_schema": {"name": "T", "schema": schema}},
    }
    answer = json.loads(chat(base_url, protocol, body)["content"])
    assert answer == {
        "thought": "I will call the tool.",
        "code": "result = get_weather(location='Paris', days=3)\nprint(result)",
    }


# ---- rule 6: echo, stop, max tokens, usage -----------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True])
def test_echo_with_usage_in_words(base_url: str, protocol: str, stream: bool) -> None:
    body = {
        "stream": stream,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "system", "content": "be brief"}, user("hello big world")],
    }
    reply = chat(base_url, protocol, body)
    assert reply["content"] == "Echo: hello big world"
    assert reply["finish_reason"] == "stop"
    assert (reply["prompt_tokens"], reply["completion_tokens"]) == (5, 4)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True])
def test_stop_and_max_tokens(base_url: str, protocol: str, stream: bool) -> None:
    text = "one two three four five"
    reply = chat(base_url, protocol, {"stream": stream, "messages": [user(text)], "stop": ["four"]})
    assert (reply["content"], reply["finish_reason"]) == ("Echo: one two three ", "stop")
    reply = chat(base_url, protocol, {"stream": stream, "messages": [user(text)], "max_tokens": 3})
    assert (reply["content"], reply["finish_reason"]) == ("Echo: one two", "length")
    reply = chat(base_url, protocol, {"messages": [user(text)], "max_tokens": 6})
    assert reply["finish_reason"] == "stop"


def test_openai_stream_shape(base_url: str) -> None:
    body = {"model": "stub-gpt", "stream": True, "messages": [user("a b c")]}
    status, headers, raw = request(base_url, "/v1/chat/completions", body)
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    chunks = sse_events(raw.decode())
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]] == [
        "Echo: ",
        "a ",
        "b ",
        "c",
    ]
    assert len({c["id"] for c in chunks}) == 1
    assert all("usage" not in c for c in chunks)  # not asked for


def test_openai_stream_tool_call_deltas(base_url: str) -> None:
    body = {"model": "stub-gpt", "stream": True, "messages": [user("x")], "tools": [ADD]}
    chunks = sse_events(request(base_url, "/v1/chat/completions", body)[2].decode())
    deltas = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert deltas[0]["id"].startswith("call_")
    assert deltas[0]["function"] == {"name": "add", "arguments": ""}
    pieces = [d["function"]["arguments"] for d in deltas[1:]]
    assert len(pieces) >= 2
    assert json.loads("".join(pieces)) == {"a": 3, "b": 3}


def test_ollama_tool_calls_carry_objects(base_url: str) -> None:
    body = {"model": "stub-llama:latest", "stream": False, "messages": [user("x")], "tools": [ADD]}
    data = json.loads(request(base_url, "/api/chat", body)[2])
    call = data["message"]["tool_calls"][0]
    assert call["function"] == {"index": 0, "name": "add", "arguments": {"a": 3, "b": 3}}
    assert data["done"] is True
    assert {"total_duration", "eval_count", "prompt_eval_count", "eval_duration"} <= data.keys()


def test_ollama_streams_by_default_and_generate(base_url: str) -> None:
    body = {"model": "stub-llama:latest", "messages": [user("a b")]}
    lines = request(base_url, "/api/chat", body)[2].decode().splitlines()
    assert len(lines) == 4  # "Echo: ", "a ", "b", done
    _, _, raw = request(base_url, "/api/generate", {"model": "stub-llama:latest", "prompt": "a b"})
    lines = [json.loads(line) for line in raw.decode().splitlines()]
    assert "".join(line["response"] for line in lines) == "Echo: a b"
    assert lines[-1]["done"] is True
    body = {"model": "stub-llama:latest", "prompt": "hi", "stream": False, "format": "json"}
    assert json.loads(json.loads(request(base_url, "/api/generate", body)[2])["response"]) == {
        "answer": "hi"
    }


# ---- embeddings --------------------------------------------------------------------------


def is_unit(vector: list[float]) -> bool:
    return len(vector) == load_upstream().EMBED_DIM and math.isclose(
        math.sqrt(sum(v * v for v in vector)), 1.0, abs_tol=1e-4
    )


def test_embeddings_both_protocols_agree(base_url: str) -> None:
    single = json.loads(
        request(base_url, "/v1/embeddings", {"model": "stub-embed", "input": "hello"})[2]
    )
    assert single["object"] == "list"
    assert single["data"][0]["index"] == 0
    hello = single["data"][0]["embedding"]
    assert is_unit(hello)
    batch = json.loads(
        request(base_url, "/v1/embeddings", {"model": "stub-embed", "input": ["hello", "world"]})[2]
    )
    vectors = [d["embedding"] for d in batch["data"]]
    assert vectors[0] == hello
    assert vectors[1] != hello
    assert is_unit(vectors[1])
    assert batch["usage"]["prompt_tokens"] == 2
    ollama = json.loads(
        request(
            base_url,
            "/api/embed",
            {"model": "stub-embed-ollama:latest", "input": ["hello", "world"]},
        )[2]
    )
    assert ollama["embeddings"] == vectors
    one = json.loads(
        request(base_url, "/api/embed", {"model": "stub-embed-ollama:latest", "input": "hello"})[2]
    )
    assert one["embeddings"] == [hello]
    legacy = json.loads(
        request(
            base_url, "/api/embeddings", {"model": "stub-embed-ollama:latest", "prompt": "hello"}
        )[2]
    )
    assert legacy == {"embedding": hello}


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_put_texts_sharing_words_close() -> None:
    embed = load_upstream().embed
    chunks = [
        "The zebra sleeps in the savanna under acacia trees.",
        "Invoices are due within thirty days of delivery.",
        "Our office in Lyon opens at nine every weekday.",
    ]
    query = embed("When are invoices due?")
    scores = [cosine(query, embed(chunk)) for chunk in chunks]
    assert scores.index(max(scores)) == 1
    assert embed("Zebra SLEEPS") == embed("zebra, sleeps!")  # words, not case or punctuation
    assert cosine(embed("a b"), embed("a b")) == pytest.approx(1.0, abs=1e-5)


def test_embeddings_of_texts_without_words_are_unit_vectors() -> None:
    embed = load_upstream().embed
    assert all(is_unit(embed(text)) for text in ["", "   ", "?!", [], [7, 7]])


def test_embeddings_accept_token_arrays(base_url: str) -> None:
    data = json.loads(
        request(base_url, "/v1/embeddings", {"model": "stub-embed", "input": [[1, 2], [3]]})[2]
    )
    assert len(data["data"]) == 2
    assert all(is_unit(d["embedding"]) for d in data["data"])


# ---- the script --------------------------------------------------------------------------


def test_cli_prints_ready_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY ")
        port = int(line.split()[1])
        assert request(f"http://127.0.0.1:{port}", "/")[2] == b"Ollama is running"
    finally:
        proc.terminate()
        proc.wait(10)
