"""Chats and embeddings as plans: the request body, the id to send, the answer made the same
across releases (`_replies`), and a batch a release joined sent again one input at a time."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NoReturn

from ._knowledge._service import Knowledge
from ._models import Models, check_model_name, is_missing_embedding_model
from ._plan import Emit, Plan
from ._replies import StreamFixer, embedding_count, fix_chat_answer, is_joined_batch
from ._sending import RETRY_STATUSES, Sender
from .errors import ConfigurationError, ResponseError

__all__ = [
    "CHAT_PATH",
    "EMBEDDINGS_PATH",
    "EMBEDDING_RETRY_STATUSES",
    "MAX_NESTING",
    "Chat",
    "build_chat_body",
    "encode_chat_body",
]

CHAT_PATH = "/api/chat/completions"
EMBEDDINGS_PATH = "/api/embeddings"
# Open WebUI answers an unknown embeddings model with a bare 500: not worth retrying blindly.
EMBEDDING_RETRY_STATUSES = RETRY_STATUSES - {500}


def build_chat_body(
    payload: Mapping[str, Any], *, stream: bool, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The request body: None values dropped, never an empty `tools` list, usage asked for."""
    body = {key: value for key, value in payload.items() if value is not None}
    body["model"] = check_model_name(body.get("model"), names)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigurationError(
            "A chat needs a non-empty list of messages",
            setting="messages",
            hint="pass messages=[{'role': 'user', 'content': '...'}]",
        )
    if not body.get("tools"):
        # An empty list breaks some backends (vLLM answers 400), and tool_choice needs tools.
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            body.pop(key, None)
    body["stream"] = stream
    if stream:
        body.setdefault("stream_options", {"include_usage": True})
    else:
        body.pop("stream_options", None)
    return body


MAX_NESTING = 64  # deeper than any real message; a circular reference stops here


def encode_chat_body(body: Mapping[str, Any]) -> bytes:
    """The body as JSON bytes, encoded as httpx would (so the encoding is also the check that
    it can be sent: a walk in Python cost more than the encoding for a long conversation);
    a ConfigurationError naming the value when it cannot be sent."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        _refuse_unsendable(body)
    return text.encode("utf-8")


def _refuse_unsendable(body: Mapping[str, Any]) -> NoReturn:
    """Name the value that cannot be sent (walked only once encoding has failed)."""
    for key, value in body.items():
        found = _unsendable(value, str(key))
        if found is not None:
            where, what = found
            raise ConfigurationError(
                f"{where} holds {what}, which cannot be sent as JSON",
                setting="messages" if where.startswith("messages") else str(key),
                hint="pass text, lists and dicts only (an image or file as a base64 data URL)",
            )
    raise ConfigurationError(
        "The request cannot be sent as JSON",
        setting="messages",
        hint="pass text, lists and dicts only (an image or file as a base64 data URL)",
    )


def _unsendable(value: Any, where: str, depth: int = 0) -> tuple[str, str] | None:
    """Where `value` holds something `json.dumps` would refuse, and what it is; None if nothing."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, f"the number {value!r}")
    if depth > MAX_NESTING and isinstance(value, (dict, list, tuple)):
        return where, "a structure nested too deeply (a circular reference?)"
    if isinstance(value, dict):
        for key, item in value.items():
            if key is not None and not isinstance(key, (str, int, float, bool)):
                return where, f"a key of type {_type_name(key)}"
            found = _unsendable(item, f"{where}.{key}", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _unsendable(item, f"{where}[{index}]", depth + 1)
            if found is not None:
                return found
        return None
    return where, f"a {_type_name(value)}"


def _type_name(value: Any) -> str:
    kind = type(value)
    name = kind.__qualname__
    return name if kind.__module__ == "builtins" else f"{kind.__module__}.{name}"


class Chat:
    """One client's chat and embedding exchanges."""

    def __init__(self, sender: Sender, models: Models, knowledge: Knowledge) -> None:
        self.sender = sender
        self.models = models
        self.knowledge = knowledge

    def _url(self, path: str) -> str:
        return self.sender.connection.url(path)

    def complete(self, payload: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        """A chat completion (OpenAI format); `payload["model"]` as the user wrote it."""
        body = build_chat_body(payload, stream=False, names=self.sender.names)
        yield from self.knowledge.prepare_files(body)
        name = body["model"]

        def send(model_id: str) -> Plan[Any]:
            encoded = encode_chat_body({**body, "model": model_id})
            return (yield from self.sender.json("POST", CHAT_PATH, encoded, model=name))

        answer = yield from self.models.with_model(name, send)
        return fix_chat_answer(answer, self._url(CHAT_PATH))

    def stream(self, payload: Mapping[str, Any]) -> Plan[None]:
        """Emits the chunks of a streamed chat completion, usage included on the last one."""
        body = build_chat_body(payload, stream=True, names=self.sender.names)
        yield from self.knowledge.prepare_files(body)
        name = body["model"]

        def start(model_id: str) -> Plan[Any]:
            # Reading the first chunk surfaces any error while a retry is still possible.
            encoded = encode_chat_body({**body, "model": model_id})
            return (yield from self.sender.open_stream(CHAT_PATH, encoded, model=name))

        stream = yield from self.models.with_model(name, start)
        fix = StreamFixer()
        while chunks := (yield from stream.next_chunks()):
            yield Emit([fix(chunk) for chunk in chunks])

    def embed(self, payload: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        """Embeddings (OpenAI format) for `payload["input"]`, one vector per input, in order."""
        body = {key: value for key, value in payload.items() if value is not None}
        name = body["model"] = check_model_name(body.get("model"), self.sender.names)
        inputs = body.get("input")

        def send(model_id: str, given: Any) -> Plan[Any]:
            request = {**body, "model": model_id, "input": given}
            return (
                yield from self.sender.json(
                    "POST",
                    EMBEDDINGS_PATH,
                    request,
                    model=name,
                    retry_statuses=EMBEDDING_RETRY_STATUSES,
                )
            )

        def embedded(given: Any) -> Plan[Any]:
            return (
                yield from self.models.with_model(
                    name, lambda model_id: send(model_id, given), is_missing_embedding_model
                )
            )

        answer = yield from embedded(inputs)
        if is_joined_batch(inputs, answer):
            # Releases before 0.8.0 join an Ollama batch into one text: one input at a time.
            answers = []
            for text in inputs:
                answers.append((yield from embedded([text])))
            answer = _merge_embeddings(answers)
        return self._checked_embeddings(inputs, answer)

    def _checked_embeddings(self, inputs: Any, answer: Any) -> dict[str, Any]:
        """The answer, if it holds one vector per input; never a silently shorter list."""
        expected = len(inputs) if isinstance(inputs, list) else 1
        count = embedding_count(answer)
        if count != expected:
            raise ResponseError(
                f"Expected {expected} embeddings, the server sent "
                f"{'none' if count is None else count}: {str(answer)[:200]!r}",
                url=self._url(EMBEDDINGS_PATH),
                hint="the embedding backend answered badly; retry, or tell the Open WebUI admin",
            )
        result: dict[str, Any] = answer
        data = result["data"]
        if all(isinstance(item, dict) and "index" in item for item in data):
            # Some backends answer out of order; every library gets input order.
            result["data"] = sorted(data, key=lambda item: item["index"])
        return result


def _merge_embeddings(answers: list[Any]) -> dict[str, Any]:
    """One answer from per-input answers (the fallback for a server that joins a batch)."""
    data = []
    for index, answer in enumerate(answers):
        vectors = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(vectors, list) or len(vectors) != 1:
            raise ResponseError(
                f"Expected 1 embedding for input {index}, got {str(answer)[:120]!r}"
            )
        data.append({**vectors[0], "index": index})
    usage = [a.get("usage") for a in answers if isinstance(a.get("usage"), dict)]
    merged: dict[str, Any] = {**answers[0], "data": data}
    if usage:
        merged["usage"] = {
            key: sum(u.get(key, 0) for u in usage if isinstance(u.get(key, 0), int))
            for key in usage[0]
            if isinstance(usage[0][key], int)
        }
    return merged
