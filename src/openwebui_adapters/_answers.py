"""The server's answers made the same across Open WebUI releases, before any adapter sees them.

Pure functions, no I/O: the client applies them to every chat answer, stream and embedding
answer, so LiteLLM, LangChain and smolagents get one shape whichever release answered.
"""

from __future__ import annotations

from typing import Any

from .errors import ResponseError

__all__ = ["StreamFixer", "check_chat_answer", "embedding_count", "is_joined_batch"]


def _tool_finish(choice: dict[str, Any], has_tool_calls: bool) -> None:
    # Before 0.8.2 the Ollama path ends a tool call with "stop"; OpenAI's word is "tool_calls".
    if has_tool_calls and choice.get("finish_reason") == "stop":
        choice["finish_reason"] = "tool_calls"


def check_chat_answer(answer: Any, url: str) -> dict[str, Any]:
    """A chat.completion as a dict with `choices`; a `null` or other body is a ResponseError."""
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        raise ResponseError(
            f"{url} answered a chat with {str(answer)[:120]!r} instead of a chat completion",
            url=url,
        )
    for choice in answer["choices"]:
        if isinstance(choice, dict):
            message = choice.get("message")
            _tool_finish(choice, isinstance(message, dict) and bool(message.get("tool_calls")))
    return answer


class StreamFixer:
    """Per stream: remembers whether a tool call went by, so its final "stop" says "tool_calls",
    and gives a tool call that starts without an id one (`call_<index>`), as a whole answer's
    calls get one, so libraries that pair calls by id keep every call."""

    def __init__(self) -> None:
        self._tool_choices: set[int] = set()
        self._started_calls: set[tuple[int, int]] = set()

    def __call__(self, chunk: dict[str, Any]) -> dict[str, Any]:
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            delta = choice.get("delta")
            if isinstance(delta, dict) and delta.get("tool_calls"):
                self._tool_choices.add(index)
                self._name_calls(index, delta["tool_calls"])
            _tool_finish(choice, index in self._tool_choices)
        return chunk

    def _name_calls(self, choice_index: int, calls: Any) -> None:
        if not isinstance(calls, list):
            return
        for position, call in enumerate(calls):
            if not isinstance(call, dict):
                continue
            call_index = call.get("index", position)
            key = (choice_index, call_index if isinstance(call_index, int) else position)
            if key not in self._started_calls:
                self._started_calls.add(key)
                if not call.get("id"):
                    call["id"] = f"call_{key[1]}"


def embedding_count(answer: Any) -> int | None:
    """How many vectors an embeddings answer holds, or None if it holds no list of them."""
    data = answer.get("data") if isinstance(answer, dict) else None
    return len(data) if isinstance(data, list) else None


def is_joined_batch(inputs: Any, answer: Any) -> bool:
    """True when a batch came back as one vector: releases before 0.8.0 join an Ollama model's
    inputs with newlines and embed the result once."""
    return isinstance(inputs, list) and len(inputs) > 1 and embedding_count(answer) == 1
