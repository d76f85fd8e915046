"""An Open WebUI stand-in for unit tests: queued answers over httpx.MockTransport, requests kept."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

from openwebui_adapters import OpenWebUIClient, Settings
from openwebui_adapters.langchain import ChatOpenWebUI, OpenWebUIEmbeddings

URL = "http://openwebui.test"
KEY = "sk-unit-test"


def completion(
    content: str | None = "Echo: hello",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    model: str = "stub-gpt",
    finish_reason: str = "stop",
    usage: dict[str, Any] | None = None,
) -> httpx.Response:
    """A chat.completion answer."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": usage or {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        },
    )


def tool_call(name: str, arguments: str, call_id: str = "call_1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def sse(*chunks: dict[str, Any]) -> httpx.Response:
    """A streamed answer: each chunk a `data:` event, then `[DONE]`."""
    body = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


def delta(
    model: str = "stub-gpt", finish_reason: str | None = None, **fields: Any
) -> dict[str, Any]:
    """One chat.completion.chunk with the given delta fields."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [{"index": 0, "delta": fields, "finish_reason": finish_reason}],
    }


def usage_chunk(prompt: int = 5, completion: int = 3, model: str = "stub-gpt") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


class FakeServer:
    """Answers from a queue (the last answer repeats) or a responder; keeps every request."""

    def __init__(self) -> None:
        self.answers: list[httpx.Response] = []
        self.responder: Callable[[httpx.Request], httpx.Response] | None = None
        self.requests: list[httpx.Request] = []
        self.threads: list[threading.Thread] = []

    def reply(self, *answers: httpx.Response) -> FakeServer:
        self.answers.extend(answers)
        return self

    def respond_with(self, responder: Callable[[httpx.Request], httpx.Response]) -> FakeServer:
        self.responder = responder
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.threads.append(threading.current_thread())
        if self.responder is not None:
            return self.responder(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]

    @property
    def body(self) -> dict[str, Any]:
        """The last request's JSON body."""
        return self.bodies[-1]

    def client(self) -> OpenWebUIClient:
        # Settings by LangChain's names, as `ChatOpenWebUI(base_url=..., api_key=...)` gives them.
        settings = Settings.resolve(URL, KEY, library="langchain", max_retries=0)
        return OpenWebUIClient.from_settings(settings, transport=httpx.MockTransport(self.handle))

    def chat(self, **params: Any) -> ChatOpenWebUI:
        return ChatOpenWebUI(**{"model": "stub-gpt", "client": self.client(), **params})

    def embeddings(self, **params: Any) -> OpenWebUIEmbeddings:
        return OpenWebUIEmbeddings(**{"model": "stub-embed", "client": self.client(), **params})
