"""A deterministic fake model backend for Open WebUI: the OpenAI API and the Ollama API on one port.

    python stack/upstream.py --port N      # 127.0.0.1 only; --port 0 picks a free port
    -> prints `READY <port>` once listening

OpenAI-compatible routes live under `/v1/`, Ollama routes under `/api/` (plus `GET /`), so one
process can be both Open WebUI's `OPENAI_API_BASE_URLS` (`{url}/v1`) and its `OLLAMA_BASE_URL`
(`{url}`). Every answer is decided from the request alone (see `decide`); only ids and timestamps
vary. Standard library only, so it runs under any Python 3.10+ (the stack's Open WebUI venv, the
project venv, a bare python3) and tests can start it in a thread on real sockets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
# The stub-* models are the tests' and cassettes'; the docs' snippets use names people have on
# their own servers (`gpt-4o-mini`, `llama3.2`, `nomic-embed-text`), which answer the same way.
OPENAI_MODELS = ("stub-gpt", "stub-embed", "gpt-4o-mini")
OLLAMA_MODELS = (
    "stub-llama:latest",
    "stub-embed-ollama:latest",
    "llama3.2:latest",
    "nomic-embed-text:latest",
)
OLLAMA_VERSION = "0.9.0"
DEFAULT_WORD = "stub"
EMBED_DIM = 64
WORD = re.compile(r"\w+")
MAX_SLOW_SECONDS = 120.0
FINAL_ANSWER = "final_answer"
# Fixed Ollama timings (ns): real ones vary, and Open WebUI derives usage fields from them.
OLLAMA_TIMINGS = {
    "total_duration": 1000,
    "load_duration": 10,
    "prompt_eval_duration": 100,
    "eval_duration": 100,
}

# --------------------------------------------------------------------------------------------
# The protocol-neutral request and reply
# --------------------------------------------------------------------------------------------


@dataclass
class Chat:
    """What both protocols' chat requests boil down to."""

    messages: list[dict[str, Any]]  # each: role, text, plus tool_call_id when given
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI shape {type, function}
    tool_choice: Any = None
    json_mode: str | None = None  # None, "object" or "schema"
    schema: dict[str, Any] = field(default_factory=dict)
    stop: list[str] = field(default_factory=list)
    max_tokens: int | None = None


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0


class StubError(Exception):
    """A forced HTTP error (FORCE_ERROR <code>)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"stub forced error {status}")
        self.status = status


def content_text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and "text" in part
        )
    return ""


def normalize_messages(raw: Any) -> list[dict[str, Any]]:
    messages = []
    for message in raw if isinstance(raw, list) else []:
        if isinstance(message, dict):
            entry = {
                "role": message.get("role", "user"),
                "text": content_text(message.get("content")),
            }
            if message.get("tool_call_id"):
                entry["tool_call_id"] = message["tool_call_id"]
            messages.append(entry)
    return messages


def dumps(value: Any) -> str:
    """Compact JSON, as OpenAI and Ollama (Go) write it."""
    return json.dumps(value, separators=(",", ":"))


def words(text: str) -> int:
    return len(text.split())


def last_user_text(chat: Chat) -> str:
    return next((m["text"] for m in reversed(chat.messages) if m["role"] == "user"), "")


def system_text(chat: Chat) -> str:
    return "\n".join(m["text"] for m in chat.messages if m["role"] in ("system", "developer"))


# --------------------------------------------------------------------------------------------
# Values from JSON schemas (tool arguments, json_schema answers)
# --------------------------------------------------------------------------------------------

# A quoted word in the user text: 'Paris' or "Paris", but not the apostrophe in "What's".
QUOTED = re.compile(r"""(?<!\w)['"]([^'"\n]+?)['"](?!\w)""")


def pick_word(user_text: str) -> str:
    match = QUOTED.search(user_text)
    return match.group(1) if match else DEFAULT_WORD


def sample(schema: Any, word: str, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A value valid for simple schemas: enum -> first, const, $ref, anyOf/oneOf -> first non-null."""
    if not isinstance(schema, dict) or depth > 10:
        return word
    root = root if root is not None else schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return sample(target, word, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [
            o
            for o in schema.get(key) or []
            if not (isinstance(o, dict) and o.get("type") == "null")
        ]
        if options:
            return sample(options[0], word, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        # Every property, not only the required ones: a filled object is easier to assert on.
        props = schema.get("properties") or {}
        return {name: sample(prop, word, root, depth + 1) for name, prop in props.items()}
    if kind == "array":
        return [sample(schema.get("items", {}), word, root, depth + 1)] * int(
            schema.get("minItems", 0)
        )
    return {"integer": 3, "number": 3, "boolean": True, "null": None}.get(kind, word)


# --------------------------------------------------------------------------------------------
# The reply rules
# --------------------------------------------------------------------------------------------


def tool_name(tool: dict[str, Any]) -> str:
    return str((tool.get("function") or tool).get("name", ""))


def tool_params(tool: dict[str, Any]) -> dict[str, Any]:
    return (tool.get("function") or tool).get("parameters") or {}


def forced_tool(choice: Any) -> str | None:
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name") or choice.get("name")
    return None


def trailing_tool_results(chat: Chat) -> list[str] | None:
    """Results at the end of the conversation, or None when the last message is no tool result.

    Role `tool` is the OpenAI/Ollama way; smolagents' ToolCallingAgent instead sends the result
    as a user message starting with `Observation:`.
    """
    results: list[str] = []
    for message in reversed(chat.messages):
        if message["role"] != "tool":
            break
        results.insert(0, message["text"])
    if results:
        return results
    last = chat.messages[-1] if chat.messages else None
    if last and last["role"] == "user" and last["text"].lstrip().startswith("Observation:"):
        return [last["text"].lstrip()[len("Observation:") :].strip()]
    return None


def tool_reply(chat: Chat) -> Reply:
    """Rules 2 and 3: call a tool, or answer/finish from the tool results."""
    names = [tool_name(t) for t in chat.tools]
    results = trailing_tool_results(chat)
    if results is not None:
        result = "; ".join(results)
        if FINAL_ANSWER in names:
            return Reply(
                tool_calls=[ToolCall(FINAL_ANSWER, {"answer": result})], finish_reason="tool_calls"
            )
        return Reply(content=f"The tool returned: {result}")
    user = last_user_text(chat)
    word = pick_word(user)
    forced = forced_tool(chat.tool_choice)
    candidates = [t for t in chat.tools if tool_name(t) != FINAL_ANSWER] or chat.tools
    if forced:
        chosen = [t for t in chat.tools if tool_name(t) == forced] or candidates[:1]
    elif re.search(r"\bparallel\b", user, re.IGNORECASE):
        chosen = candidates
    else:
        chosen = candidates[:1]
    calls = [
        ToolCall(tool_name(t), sample(tool_params(t) or {"type": "object"}, word)) for t in chosen
    ]
    return Reply(tool_calls=calls, finish_reason="tool_calls")


SIGNATURE = re.compile(r"^\s*def (\w+)\((.*)\)\s*->\s*.*:\s*$", re.MULTILINE)
PY_LITERALS = {
    "integer": "3",
    "int": "3",
    "number": "3",
    "float": "3",
    "boolean": "True",
    "bool": "True",
}


def split_args(signature: str) -> list[tuple[str, str]]:
    """`a: string, b: dict[str, Any]` -> [(a, string), (b, dict[str, Any])], brackets respected."""
    parts, depth, current = [], 0, ""
    for char in signature:
        depth += (char in "[(") - (char in "])")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    pairs = []
    for part in filter(str.strip, parts):
        name, _, kind = part.partition(":")
        pairs.append((name.strip(), kind.strip()))
    return pairs


def py_literal(kind: str, word: str) -> str:
    base = kind.split("[")[0].strip().lower()
    if base in ("array", "list"):
        return "[]"
    if base in ("object", "dict"):
        return "{}"
    return PY_LITERALS.get(base, repr(word))


def observation_value(text: str) -> str:
    """What the code printed (or, when it printed nothing, its last output)."""
    body = text.split("Observation:", 1)[-1]
    match = re.search(
        r"Execution logs:\n(.*?)(?:Last output from code snippet:\n(.*))?\Z", body, re.S
    )
    if not match:
        return body.strip()
    return match.group(1).strip() or (match.group(2) or "").strip()


def code_step(chat: Chat) -> tuple[str, str]:
    """Rule 5: the smolagents CodeAgent step as (thought, code)."""
    observations = [
        m["text"] for m in chat.messages if m["role"] != "system" and "Observation:" in m["text"]
    ]
    tools = [(n, a) for n, a in SIGNATURE.findall(system_text(chat)) if n != FINAL_ANSWER]
    if observations or not tools:
        value = observation_value(observations[-1]) if observations else last_user_text(chat)
        return "I have the answer.", f"final_answer({value!r})"
    task = next((m["text"] for m in chat.messages if m["role"] == "user"), "")
    word = pick_word(task)
    name, signature = tools[0]
    args = ", ".join(f"{arg}={py_literal(kind, word)}" for arg, kind in split_args(signature))
    return "I will call the tool.", f"result = {name}({args})\nprint(result)"


def is_code_agent(chat: Chat) -> bool:
    system = system_text(chat)
    return FINAL_ANSWER in system and ("<code>" in system or "Thought:" in system)


def code_agent_text(chat: Chat) -> str:
    thought, code = code_step(chat)
    system = system_text(chat)
    opening, closing = (
        ("```python", "```")
        if "```python" in system and "<code>" not in system
        else ("<code>", "</code>")
    )
    return f"Thought: {thought}\n{opening}\n{code}\n{closing}"


def is_thought_code_schema(schema: dict[str, Any]) -> bool:
    props = schema.get("properties") or {}
    return "thought" in props and "code" in props


# JSON mode prompts name the keys they want: "... as JSON with 'setup' and 'punchline' keys".
REQUESTED_KEYS = re.compile(
    r"""((?:['"][^'"\n]+['"](?:\s*,\s*(?:and\s+)?|\s+and\s+))*['"][^'"\n]+['"])\s+keys\b"""
)


def json_reply(chat: Chat) -> str:
    """Rule 4: JSON mode (the keys the prompt names, else an echo) or a JSON schema (sampled;
    smolagents' thought/code special-cased)."""
    if chat.json_mode == "object":
        user = last_user_text(chat)
        named = REQUESTED_KEYS.search(user)
        if named:
            return dumps({key: DEFAULT_WORD for key in QUOTED.findall(named.group(1))})
        return dumps({"answer": user})
    if is_thought_code_schema(chat.schema):
        thought, code = code_step(chat)
        return dumps({"thought": thought, "code": code})
    return dumps(sample(chat.schema or {"type": "object"}, pick_word(last_user_text(chat))))


def limit(text: str, stop: list[str], max_tokens: int | None) -> tuple[str, str]:
    """Cut before the first stop sequence, then keep `max_tokens` words ("length" when cut)."""
    cuts = [text.find(s) for s in stop if s and s in text]
    if cuts:
        text = text[: min(cuts)]
    pieces = re.findall(r"\s*\S+", text)
    if max_tokens is not None and max_tokens >= 0 and len(pieces) > max_tokens:
        return "".join(pieces[:max_tokens]).strip(), "length"
    return text, "stop"


def forced_slow_and_error(chat: Chat) -> None:
    """Rule 1: FORCE_SLOW <seconds> sleeps, FORCE_ERROR <code> raises."""
    user = last_user_text(chat)
    slow = re.search(r"FORCE_SLOW (\d+(?:\.\d+)?)", user)
    if slow:
        time.sleep(min(float(slow.group(1)), MAX_SLOW_SECONDS))
    error = re.search(r"FORCE_ERROR (\d{3})", user)
    if error:
        raise StubError(int(error.group(1)))


def decide(chat: Chat) -> Reply:
    """Apply the rules in order; the first that matches answers."""
    forced_slow_and_error(chat)
    reply: Reply | None = None
    if chat.tools and chat.tool_choice != "none":
        reply = tool_reply(chat)
    elif chat.json_mode:
        reply = Reply(content=json_reply(chat))
    else:
        text = code_agent_text(chat) if is_code_agent(chat) else f"Echo: {last_user_text(chat)}"
        reply = Reply(content=text)
    if not reply.tool_calls and not chat.json_mode:
        reply.content, reply.finish_reason = limit(reply.content, chat.stop, chat.max_tokens)
    reply.prompt_tokens = sum(words(m["text"]) for m in chat.messages)
    # A tool call counts one token for its name and one per argument.
    reply.completion_tokens = words(reply.content) + sum(
        1 + len(c.arguments) for c in reply.tool_calls
    )
    return reply


# --------------------------------------------------------------------------------------------
# Request parsing per protocol
# --------------------------------------------------------------------------------------------


def as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def openai_chat(body: dict[str, Any]) -> Chat:
    chat = Chat(
        messages=normalize_messages(body.get("messages")),
        tools=body.get("tools") or [],
        tool_choice=body.get("tool_choice"),
        stop=as_list(body.get("stop")),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
    )
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        chat.json_mode = "object"
    elif response_format.get("type") == "json_schema":
        chat.json_mode = "schema"
        chat.schema = (response_format.get("json_schema") or {}).get("schema") or {}
    return chat


def ollama_chat(body: dict[str, Any], messages: list[dict[str, Any]] | None = None) -> Chat:
    options = body.get("options") or {}
    predict = options.get("num_predict")
    chat = Chat(
        messages=messages if messages is not None else normalize_messages(body.get("messages")),
        tools=body.get("tools") or [],
        tool_choice=body.get("tool_choice"),  # not Ollama's API, honoured when a client sends it
        stop=as_list(options.get("stop")),
        max_tokens=predict if isinstance(predict, int) and predict >= 0 else None,
    )
    fmt = body.get("format")
    if fmt == "json":
        chat.json_mode = "object"
    elif isinstance(fmt, dict):
        chat.json_mode, chat.schema = "schema", fmt
    return chat


def ollama_generate_chat(body: dict[str, Any]) -> Chat:
    messages = [{"role": "system", "text": str(body["system"])}] if body.get("system") else []
    messages.append({"role": "user", "text": str(body.get("prompt") or "")})
    return ollama_chat(body, messages)


# --------------------------------------------------------------------------------------------
# Response shapes
# --------------------------------------------------------------------------------------------


def pieces(text: str) -> list[str]:
    """Word-sized chunks whose concatenation is the text."""
    return re.findall(r"\S+\s*|\s+", text)


def openai_usage(reply: Reply) -> dict[str, int]:
    total = reply.prompt_tokens + reply.completion_tokens
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": total,
    }


def openai_tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": dumps(c.arguments)},
        }
        for c in reply.tool_calls
    ]


def openai_completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.tool_calls:
        message["tool_calls"] = openai_tool_calls(reply)
    elif message["content"] is None:
        message["content"] = ""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}
        ],
        "usage": openai_usage(reply),
    }


def openai_chunks(reply: Reply, model: str, include_usage: bool) -> Iterator[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces(reply.content):
        yield chunk({"content": piece})
    for index, call in enumerate(openai_tool_calls(reply)):
        # Like OpenAI: id and name first, then the arguments in pieces the client must join.
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        yield chunk({"tool_calls": [head]})
        arguments = call["function"]["arguments"]
        half = max(1, len(arguments) // 2)
        for part in (arguments[:half], arguments[half:]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    yield chunk({}, reply.finish_reason)
    if include_usage:
        yield {**base, "choices": [], "usage": openai_usage(reply)}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def ollama_counts(reply: Reply) -> dict[str, Any]:
    return {
        **OLLAMA_TIMINGS,
        "prompt_eval_count": reply.prompt_tokens,
        "eval_count": reply.completion_tokens,
    }


def ollama_tool_calls(reply: Reply) -> list[dict[str, Any]]:
    # Ollama's own shape: arguments as an object, the index inside `function`.
    return [
        {"id": c.id, "function": {"index": i, "name": c.name, "arguments": c.arguments}}
        for i, c in enumerate(reply.tool_calls)
    ]


def ollama_message(reply: Reply, content: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reply.tool_calls:
        message["tool_calls"] = ollama_tool_calls(reply)
    return message


def ollama_done(reply: Reply, model: str, **fields: Any) -> dict[str, Any]:
    # Real Ollama says done_reason "stop" after tool calls too; Open WebUI maps it to "tool_calls".
    done_reason = "length" if reply.finish_reason == "length" else "stop"
    return {
        "model": model,
        "created_at": now_iso(),
        **fields,
        "done": True,
        "done_reason": done_reason,
        **ollama_counts(reply),
    }


def ollama_chat_lines(reply: Reply, model: str) -> Iterator[dict[str, Any]]:
    # No empty-content line before the end: Open WebUI marks such a chunk finish_reason "stop".
    for piece in pieces(reply.content):
        yield {
            "model": model,
            "created_at": now_iso(),
            "message": {"role": "assistant", "content": piece},
            "done": False,
        }
    if reply.tool_calls:
        yield {
            "model": model,
            "created_at": now_iso(),
            "message": ollama_message(reply, ""),
            "done": False,
        }
    yield ollama_done(reply, model, message={"role": "assistant", "content": ""})


def ollama_generate_lines(reply: Reply, model: str) -> Iterator[dict[str, Any]]:
    for piece in pieces(reply.content):
        yield {"model": model, "created_at": now_iso(), "response": piece, "done": False}
    yield ollama_done(reply, model, response="")


# --------------------------------------------------------------------------------------------
# Embeddings and model lists
# --------------------------------------------------------------------------------------------


def embed(text: Any) -> list[float]:
    """Hashed word counts, L2-normalised: texts sharing words are close (cosine), so retrieval
    through Open WebUI finds the chunk that shares a query's words. A token array counts its ids;
    a text without words gets its own unit vector (never a zero vector, which cosine rejects)."""
    if isinstance(text, str):
        tokens = WORD.findall(text.casefold()) or [text]
    elif isinstance(text, list):
        tokens = [str(token) for token in text] or [""]
    else:
        tokens = [json.dumps(text)]
    counts = [0.0] * EMBED_DIM
    for token in tokens:
        bucket = int.from_bytes(hashlib.sha256(token.encode()).digest()[:4], "big") % EMBED_DIM
        counts[bucket] += 1.0
    norm = math.sqrt(sum(v * v for v in counts))
    return [round(v / norm, 6) for v in counts]


def embed_inputs(value: Any) -> list[Any]:
    # A list of ints is one tokenised text; any other list is a batch.
    if isinstance(value, list) and value and not all(isinstance(v, int) for v in value):
        return value
    return [value if value is not None else ""]


def openai_models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "stub"}
            for m in OPENAI_MODELS
        ],
    }


def ollama_tag(name: str) -> dict[str, Any]:
    family = "bert" if "embed" in name else "llama"
    return {
        "name": name,
        "model": name,
        "modified_at": "2024-01-01T00:00:00Z",
        "size": 1234,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": "1B",
            "quantization_level": "Q4_K_M",
        },
    }


def ollama_show(name: str) -> dict[str, Any]:
    tag = ollama_tag(name)
    # As a real tools- and vision-capable model answers (llama3.2-vision): model facts read it.
    capabilities = ["embedding"] if "embed" in name else ["completion", "tools", "vision"]
    family = tag["details"]["family"]
    return {
        "modelfile": f"FROM {name}\n",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": tag["details"],
        "model_info": {
            "general.architecture": family,
            "general.parameter_count": 1000000000,
            f"{family}.context_length": 2048 if "embed" in name else 8192,
        },
        "capabilities": capabilities,
        "modified_at": tag["modified_at"],
    }


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps Open WebUI's pooled aiohttp connections alive; streams use chunked encoding.
    protocol_version = "HTTP/1.1"
    server_version = "stub-upstream/1"

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"upstream: {self.address_string()} {format % args}\n")

    # -- plumbing --

    def read_json(self) -> dict[str, Any]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = b""
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                raw += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, dumps(payload).encode(), "application/json", headers)

    def send_stream(self, content_type: str, lines: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for line in lines:
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def send_error_reply(
        self, ollama: bool, status: int, message: str, kind: str = "stub_error"
    ) -> None:
        headers = {"Retry-After": "1"} if status == 429 else {}
        if ollama:
            self.send_json(status, {"error": message}, headers)
        else:
            self.send_json(
                status, {"error": {"message": message, "type": kind, "code": str(status)}}, headers
            )

    # -- dispatch --

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/") or "/"
        routes = {
            "/": lambda: self.send_body(200, b"Ollama is running", "text/plain; charset=utf-8"),
            "/v1/models": lambda: self.send_json(200, openai_models()),
            "/api/tags": lambda: self.send_json(
                200, {"models": [ollama_tag(m) for m in OLLAMA_MODELS]}
            ),
            "/api/version": lambda: self.send_json(200, {"version": OLLAMA_VERSION}),
            "/api/ps": lambda: self.send_json(200, {"models": []}),
        }
        route = routes.get(path)
        if route is None:
            self.send_error_reply(path.startswith("/api"), 404, f"no route GET {path}", "not_found")
        else:
            route()

    def do_POST(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        routes = {
            "/v1/chat/completions": self.openai_chat,
            "/v1/embeddings": self.openai_embeddings,
            "/api/chat": self.ollama_chat,
            "/api/generate": self.ollama_generate,
            "/api/embed": self.ollama_embed,
            "/api/embeddings": self.ollama_embeddings,
            "/api/show": self.ollama_show,
        }
        ollama = path.startswith("/api")
        route = routes.get(path)
        if route is None:
            self.send_error_reply(ollama, 404, f"no route POST {path}", "not_found")
            return
        try:
            body = self.read_json()
        except ValueError as exc:
            self.send_error_reply(ollama, 400, f"invalid JSON body: {exc}", "invalid_request_error")
            return
        try:
            route(body)
        except StubError as exc:
            self.send_error_reply(ollama, exc.status, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away mid-stream

    # -- OpenAI --

    def openai_chat(self, body: dict[str, Any]) -> None:
        model = str(body.get("model", OPENAI_MODELS[0]))
        reply = decide(openai_chat(body))
        if not body.get("stream"):
            self.send_json(200, openai_completion(reply, model))
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = (
            f"data: {dumps(c)}\n\n".encode() for c in openai_chunks(reply, model, include_usage)
        )
        self.send_stream("text/event-stream", iter([*events, b"data: [DONE]\n\n"]))

    def openai_embeddings(self, body: dict[str, Any]) -> None:
        inputs = embed_inputs(body.get("input"))
        count = sum(
            words(i) if isinstance(i, str) else len(i) if isinstance(i, list) else 1 for i in inputs
        )
        self.send_json(
            200,
            {
                "object": "list",
                "model": body.get("model", OPENAI_MODELS[1]),
                "data": [
                    {"object": "embedding", "index": i, "embedding": embed(t)}
                    for i, t in enumerate(inputs)
                ],
                "usage": {"prompt_tokens": count, "total_tokens": count},
            },
        )

    # -- Ollama --

    def ollama_chat(self, body: dict[str, Any]) -> None:
        model = str(body.get("model", OLLAMA_MODELS[0]))
        reply = decide(ollama_chat(body))
        if body.get("stream", True):  # Ollama streams unless told not to
            self.send_stream(
                "application/x-ndjson",
                (dumps(line).encode() + b"\n" for line in ollama_chat_lines(reply, model)),
            )
        else:
            self.send_json(
                200, ollama_done(reply, model, message=ollama_message(reply, reply.content))
            )

    def ollama_generate(self, body: dict[str, Any]) -> None:
        model = str(body.get("model", OLLAMA_MODELS[0]))
        reply = decide(ollama_generate_chat(body))
        if body.get("stream", True):
            self.send_stream(
                "application/x-ndjson",
                (dumps(line).encode() + b"\n" for line in ollama_generate_lines(reply, model)),
            )
        else:
            self.send_json(200, ollama_done(reply, model, response=reply.content))

    def ollama_embed(self, body: dict[str, Any]) -> None:
        inputs = embed_inputs(body.get("input"))
        self.send_json(
            200,
            {
                "model": body.get("model", OLLAMA_MODELS[1]),
                "embeddings": [embed(t) for t in inputs],
                "total_duration": 1000,
                "load_duration": 10,
                "prompt_eval_count": sum(words(str(t)) for t in inputs),
            },
        )

    def ollama_embeddings(self, body: dict[str, Any]) -> None:
        self.send_json(200, {"embedding": embed(str(body.get("prompt", "")))})

    def ollama_show(self, body: dict[str, Any]) -> None:
        name = str(body.get("model") or body.get("name") or "")
        if name not in OLLAMA_MODELS and f"{name}:latest" not in OLLAMA_MODELS:
            self.send_json(404, {"error": f"model '{name}' not found"})
        else:
            self.send_json(200, ollama_show(name if name in OLLAMA_MODELS else f"{name}:latest"))


class _Server(ThreadingHTTPServer):
    # Open WebUI embeds a long upload's chunks concurrently: the default backlog of 5 refused
    # connections ("Connection reset by peer") and failed the processing.
    request_queue_size = 128


def make_server(port: int = 0) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1 (never another address); port 0 picks a free one."""
    server = _Server((HOST, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Start a server in a daemon thread (for tests); stop it with `server.shutdown()`."""
    server = make_server(port)
    thread = threading.Thread(target=server.serve_forever, name="stub-upstream", daemon=True)
    thread.start()
    return server, thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Deterministic fake OpenAI + Ollama backend (127.0.0.1 only)."
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    args = parser.parse_args(argv)
    server = make_server(args.port)
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
