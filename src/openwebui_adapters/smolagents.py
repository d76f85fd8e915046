"""`OpenWebUIModel`: any model an Open WebUI server offers, as a smolagents model.

```python
from smolagents import CodeAgent

from openwebui_adapters.smolagents import OpenWebUIModel

model = OpenWebUIModel("llama3.2:latest")  # OPENWEBUI_SERVER_URL, OPENWEBUI_API_KEY from the env
agent = CodeAgent(tools=[], model=model, stream_outputs=True)
```

This module only translates: smolagents' messages and tools into an OpenAI chat body, and the
server's answer (or stream chunks) back into `ChatMessage` / `ChatMessageStreamDelta`. Routing,
model-name resolution, HTTP retries and error diagnosis live in the core `OpenWebUIClient`.

Imports: the module shares its name with the `smolagents` package, but Python 3 imports are
absolute, so `import smolagents...` below always means the installed package, never this file.
Importing it loads smolagents and httpx, not LiteLLM (smolagents imports LiteLLM only when a
`LiteLLMModel` is created).
"""

from __future__ import annotations

import itertools
import os
import ssl
from collections.abc import Generator, Mapping
from contextlib import closing
from typing import Any

from smolagents.models import (
    MODEL_REGISTRY,
    ApiModel,
    ChatMessage,
    ChatMessageStreamDelta,
    ChatMessageToolCall,
    ChatMessageToolCallFunction,
    ChatMessageToolCallStreamDelta,
    MessageRole,
    is_rate_limit_error,
    remove_content_after_stop_sequences,
)
from smolagents.monitoring import TokenUsage
from smolagents.tools import Tool

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._models import check_model_name
from openwebui_adapters._replies import (
    ChatAnswer,
    Citation,
    StreamChunk,
    Usage,
)
from openwebui_adapters._settings import Settings
from openwebui_adapters._smolagents_facts import flatten_messages_as_text as _flatten
from openwebui_adapters._smolagents_facts import stop_parameter_supported
from openwebui_adapters.errors import OpenWebUIError, RateLimitError

__all__ = ["MODEL_ENV", "OpenWebUIKnowledgeTool", "OpenWebUIModel"]

MODEL_ENV = "OPENWEBUI_MODEL"
"""The environment variable `OpenWebUIModel` reads its model from when none is passed."""

# Constructor options written by `to_dict` (never the API key or headers, which may hold secrets).
_SAVED_OPTIONS = (
    "api_base",
    "timeout",
    "connect_timeout",
    "max_retries",
    "verify",
    "api_key_header",
    "custom_role_conversions",
    "flatten_messages_as_text",
    "requests_per_minute",
    "retry",
)


# ApiModel, not Model: it brings smolagents' own options, the same as OpenAIModel's and
# LiteLLMModel's: `retry` (its rate-limit retry), `requests_per_minute` (spaces calls) and
# `custom_role_conversions` (for servers that reject a role). `create_client` builds the core client.
#
# Retries happen in one layer only, so a call makes exactly the attempts configured. The core
# retries rate limits (and 5xx, and connection failures) `max_retries` times, honouring
# Retry-After; smolagents' retryer, which would repeat all of that up to 3 times after 60 s+
# pauses, is left only the rate limits the core was told not to retry (`max_retries=0`). Its
# predicate still recognises them: the core's RateLimitError says "429" / "rate limit".
class OpenWebUIModel(ApiModel):  # type: ignore[misc]  # smolagents ships no type information
    """A chat model served by Open WebUI (OpenAI connections, Ollama, pipes: one API for all).

    Parameters:
        model_id: the model as the server lists it (`llama3:latest`, `gpt-4o`, a custom model's
            id or display name); defaults to `OPENWEBUI_MODEL`. A near miss is resolved against
            the server's model list.
        api_base: the server's address, as opened in the browser; defaults to
            `OPENWEBUI_SERVER_URL`. A pasted API path (`/api`, `/ollama/v1`) is removed.
        api_key: an Open WebUI API key; defaults to `OPENWEBUI_API_KEY`. Never written by
            `to_dict`: a loaded agent reads it from the environment again.
        timeout, connect_timeout, max_retries, verify, headers, api_key_header: the core
            client's settings (read timeout, connect timeout, transport-level retries, TLS
            verification, extra headers, the header that carries the key; headers are not
            written by `to_dict`).
        custom_role_conversions, flatten_messages_as_text, requests_per_minute, retry:
            smolagents' usual `ApiModel` options (`flatten_messages_as_text` unset: True for a
            model the server's cached facts say has no vision, else False). Rate limits are retried by the core
            (`max_retries`, honouring Retry-After); `retry=True` adds smolagents' own rate-limit
            retry only when `max_retries=0`, so attempts never multiply.
        client: a prebuilt `OpenWebUIClient` to use instead of one built from the settings.
        **kwargs: other chat parameters (`temperature`, `max_tokens`, `seed`, `tool_choice`...),
            sent with every request; among them Open WebUI's own `files` (file ids, knowledge
            base ids or names, or raw `{"type": ..., "id": ...}` items: the server retrieves
            from them and answers with citations, in `ChatMessage.raw["sources"]` (the same
            citation dicts as in LiteLLM and LangChain) and `last_citations`) and `tool_ids` (tools configured on the server).

    Failures raise the core's `OpenWebUIError` subclasses (`AuthenticationError`,
    `ModelNotFoundError`...), whose message names the layer that failed and the setting to fix;
    agents wrap them in `AgentGenerationError`, with the original as `__cause__`.
    """

    client: OpenWebUIClient
    last_citations: tuple[Citation, ...] = ()
    """The sources of this model's most recent answer when retrieval ran (streamed or not;
    smolagents' stream deltas have no field for them)."""

    def __init__(
        self,
        model_id: str | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | ssl.SSLContext | None = None,
        headers: Mapping[str, str] | None = None,
        api_key_header: str | None = None,
        custom_role_conversions: dict[str, str] | None = None,
        flatten_messages_as_text: bool | None = None,
        requests_per_minute: float | None = None,
        retry: bool = True,
        client: OpenWebUIClient | None = None,
        **kwargs: Any,
    ) -> None:
        self.api_base = api_base
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.verify = verify
        self.api_key_header = api_key_header
        self.requests_per_minute = requests_per_minute
        self.retry = retry
        # Kept only until `create_client` has used them: no attribute holds the key afterwards.
        self._credentials = (api_key, headers)
        super().__init__(
            model_id=check_model_name(model_id or os.environ.get(MODEL_ENV), {"model": "model_id"}),
            custom_role_conversions=custom_role_conversions,
            client=client,
            requests_per_minute=requests_per_minute,
            retry=retry,
            flatten_messages_as_text=flatten_messages_as_text,
            **kwargs,
        )
        del self._credentials
        self.retryer.retry_predicate = self._smolagents_retries

    def _smolagents_retries(self, error: BaseException) -> bool:
        """Whether smolagents' own retryer (`retry=True`) may repeat the call after `error`.

        Only for a rate limit when the core does not retry (`max_retries=0`): otherwise the core
        has already spent the configured retries, and a second layer would multiply them.
        """
        if isinstance(error, OpenWebUIError):
            return isinstance(error, RateLimitError) and self.client.settings.max_retries == 0
        return bool(is_rate_limit_error(error))

    @property  # smolagents keeps a plain attribute; here it is read from the facts
    def flatten_messages_as_text(self) -> bool:
        """Send messages as plain text: as given, else True for a model the server says has no
        vision (from the connection's cached model facts; never a request)."""
        return _flatten(self.client.cached_model_facts(self.model_id), self._flatten_given)

    @flatten_messages_as_text.setter
    def flatten_messages_as_text(self, value: bool | None) -> None:
        self._flatten_given = value  # smolagents' Model.__init__ assigns it

    @property
    def supports_stop_parameter(self) -> bool:
        """Whether `stop` is sent: Ollama models take it; otherwise smolagents' own rule on the
        model's base id (a workspace model on o3 cannot)."""
        return stop_parameter_supported(
            self.client.cached_model_facts(self.model_id), self.model_id
        )

    def __repr__(self) -> str:
        return f"OpenWebUIModel(model_id={self.model_id!r}, api_base={self.server_url!r})"

    @property
    def server_url(self) -> str:
        """The server this model talks to (normalised; from `api_base` or the environment)."""
        return self.client.settings.server_url

    def create_client(self) -> OpenWebUIClient:
        """The core client for these settings (clients with equal settings share a pool)."""
        api_key, headers = self._credentials
        settings = Settings.resolve(
            self.api_base,
            api_key,
            library="smolagents",
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            max_retries=self.max_retries,
            verify=self.verify,
            headers=headers,
            api_key_header=self.api_key_header,
        )
        return OpenWebUIClient.from_settings(settings)

    # -- generation ------------------------------------------------------------------------
    def generate(
        self,
        messages: list[ChatMessage | dict[str, Any]],
        stop_sequences: list[str] | None = None,
        response_format: dict[str, Any] | None = None,
        tools_to_call_from: list[Tool] | None = None,
        **kwargs: Any,
    ) -> ChatMessage:
        """One answer: text, tool calls or both, with token usage."""
        payload = self._payload(
            messages, stop_sequences, response_format, tools_to_call_from, **kwargs
        )
        self._apply_rate_limit()
        answer: ChatAnswer = self.retryer(self.client.answer, payload)
        self.last_citations = answer.citations
        message = message_from_answer(answer)
        if stop_sequences and "stop" not in payload:
            message.content = remove_content_after_stop_sequences(message.content, stop_sequences)
        return message

    def generate_stream(
        self,
        messages: list[ChatMessage | dict[str, Any]],
        stop_sequences: list[str] | None = None,
        response_format: dict[str, Any] | None = None,
        tools_to_call_from: list[Tool] | None = None,
        **kwargs: Any,
    ) -> Generator[ChatMessageStreamDelta, None, None]:
        """The answer as it is generated: text and tool-call deltas, then token usage."""
        payload = self._payload(
            messages, stop_sequences, response_format, tools_to_call_from, **kwargs
        )
        self._apply_rate_limit()
        first, chunks = self.retryer(_open_stream, self.client, payload)
        self.last_citations = ()
        with closing(chunks):
            if first is None:
                return
            for chunk in itertools.chain((first,), chunks):
                if chunk.citations:
                    self.last_citations += chunk.citations
                delta = delta_from_chunk(chunk)
                if delta is not None:
                    yield delta

    def _payload(
        self,
        messages: list[ChatMessage | dict[str, Any]],
        stop_sequences: list[str] | None,
        response_format: dict[str, Any] | None,
        tools_to_call_from: list[Tool] | None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The OpenAI chat body, built by smolagents' own message and tool preparation."""
        completion_kwargs: dict[str, Any] = self._prepare_completion_kwargs(
            messages=messages,
            stop_sequences=stop_sequences,
            response_format=response_format,
            tools_to_call_from=tools_to_call_from,
            model=self.model_id,
            custom_role_conversions=self.custom_role_conversions,
            convert_images_to_image_urls=True,
            **kwargs,
        )
        completion_kwargs["messages"] = [
            {**message, "role": _role_name(message["role"])}
            for message in completion_kwargs["messages"]
        ]
        return completion_kwargs

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The settings to rebuild this model with `from_dict` (never the API key)."""
        options = {name: getattr(self, name) for name in _SAVED_OPTIONS}
        options["flatten_messages_as_text"] = self._flatten_given  # what was given, not derived
        saved = {"model_id": self.model_id, **options, **self.kwargs}
        return {name: value for name, value in saved.items() if value is not None}


def _role_name(role: Any) -> str:
    """A role as plain JSON text (smolagents hands over its `MessageRole` enum)."""
    return str(role.value) if isinstance(role, MessageRole) else str(role)


def _open_stream(
    client: OpenWebUIClient, payload: Mapping[str, Any]
) -> tuple[StreamChunk | None, Generator[StreamChunk, None, None]]:
    """Start a stream and read its first chunk, so a refused request fails here, inside the
    retryer, rather than when the agent starts reading."""
    chunks = client.stream_answer(payload)
    return next(chunks, None), chunks


# -- the server's answer as smolagents objects ---------------------------------------------


def token_usage(usage: Usage | None) -> TokenUsage | None:
    """smolagents' TokenUsage from the core's counts (None when the server sent none)."""
    if usage is None:
        return None
    return TokenUsage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)


def message_from_answer(answer: ChatAnswer) -> ChatMessage:
    """The core's chat answer (its first choice) as a `ChatMessage`; `raw` is the server's
    answer, with its `sources` as the citation dicts every library gives (when retrieval ran)."""
    raw = dict(answer.raw)
    if answer.citations:
        raw["sources"] = [citation.as_dict() for citation in answer.citations]
    tool_calls = [
        ChatMessageToolCall(
            function=ChatMessageToolCallFunction(name=call.name, arguments=call.arguments),
            id=call.id,
            type="function",
        )
        for call in answer.tool_calls
    ]
    return ChatMessage(
        role=MessageRole.ASSISTANT,
        content=answer.content,
        tool_calls=tool_calls or None,
        raw=raw,
        token_usage=token_usage(answer.usage),
    )


def delta_from_chunk(chunk: StreamChunk) -> ChatMessageStreamDelta | None:
    """A core stream chunk as a stream delta; None for a chunk that carries nothing for it."""
    tool_calls = [
        ChatMessageToolCallStreamDelta(
            index=call.index,
            id=call.id,
            type="function" if call.id else None,
            function=ChatMessageToolCallFunction(name=call.name or "", arguments=call.arguments),
        )
        for call in chunk.tool_calls
    ]
    usage = token_usage(chunk.usage)
    if not chunk.content and not tool_calls and usage is None:
        return None
    return ChatMessageStreamDelta(
        content=chunk.content or None, tool_calls=tool_calls or None, token_usage=usage
    )


class OpenWebUIKnowledgeTool(Tool):  # type: ignore[misc]  # smolagents ships no type information
    """A tool that searches Open WebUI knowledge bases, for `CodeAgent` and `ToolCallingAgent`.

    ```python
    from smolagents import ToolCallingAgent

    from openwebui_adapters.smolagents import OpenWebUIKnowledgeTool, OpenWebUIModel

    search = OpenWebUIKnowledgeTool("Team handbook", k=4)
    agent = ToolCallingAgent(tools=[search], model=OpenWebUIModel("llama3.2:latest"))
    ```

    `knowledge`: one knowledge base or several, by id or by name as the web UI shows it. The
    connection settings are the core client's (`api_base`, `api_key`, or the environment);
    `name` and `description` may be changed to tell the model what the knowledge is about.
    """

    name = "search_knowledge"
    description = (
        "Searches the team's knowledge base and returns the passages most relevant to the "
        "query, each with the file it comes from."
    )
    inputs = {
        "query": {"type": "string", "description": "What to look for, in plain words."},
    }
    output_type = "string"

    def __init__(
        self,
        knowledge: str | list[str],
        *,
        k: int = 4,
        api_base: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
        description: str | None = None,
        client: OpenWebUIClient | None = None,
        **settings: Any,
    ) -> None:
        self.knowledge = [knowledge] if isinstance(knowledge, str) else list(knowledge)
        self.k = k
        self.client = client or OpenWebUIClient.from_settings(
            Settings.resolve(api_base, api_key, library="smolagents", **settings)
        )
        if name:
            self.name = name
        if description:
            self.description = description
        super().__init__()

    def forward(self, query: str) -> str:
        citations = self.client.search_knowledge(self.knowledge, query, k=self.k)
        if not citations:
            return f"Nothing in {', '.join(self.knowledge)} matches {query!r}."
        return "\n\n".join(
            f"[{number}] from {citation.file_name or citation.source_name or 'an unnamed file'}:"
            f"\n{citation.document}"
            for number, citation in enumerate(citations, start=1)
        )


# Agents saved with this model load again (`CodeAgent.from_dict`, `from_folder`): smolagents
# rebuilds models only from the classes in its registry.
MODEL_REGISTRY.setdefault("OpenWebUIModel", OpenWebUIModel)
