"""`ChatOpenWebUI`: any model an Open WebUI server offers, as a LangChain chat model."""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import aclosing, closing
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_function, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel, ConfigDict, Field, model_validator

from openwebui_adapters._knowledge._records import KnowledgeBase, UploadedFile
from openwebui_adapters._replies import ChatAnswer, Citation, StreamChunk, Usage
from openwebui_adapters._settings import PROVIDER
from openwebui_adapters.errors import API_KEY

from ._errors import map_errors
from ._fields import ConnectionFields, collect_model_kwargs
from ._messages import (
    chunk_from_stream,
    message_from_answer,
    messages_to_openai,
    sources_metadata,
    usage_metadata,
)
from ._profile import cached_profile

__all__ = [
    "PROVIDER",
    "ChatOpenWebUI",
    "StructuredOutputMethod",
]

StructuredOutputMethod = Literal["function_calling", "json_mode", "json_schema"]


def _tool_choice(choice: dict[str, Any] | str | bool, tool_names: Sequence[str]) -> Any:
    """LangChain's `tool_choice` spellings in OpenAI's form."""
    if isinstance(choice, dict) or choice in ("auto", "none", "required"):
        return choice
    if choice is True or choice == "any":
        return "required"
    if isinstance(choice, str) and choice in tool_names:
        return {"type": "function", "function": {"name": choice}}
    raise ValueError(
        f"tool_choice={choice!r} is neither 'auto', 'none', 'any', 'required' nor the name "
        f"of a bound tool ({', '.join(tool_names) or 'none bound'})"
    )


class _StreamState:
    """What a stream says once (model, finish reason, usage, sources), held for its last chunk."""

    def __init__(self) -> None:
        self.metadata: dict[str, Any] = {"model_provider": PROVIDER}
        self.usage: Usage | None = None
        self.citations: list[Citation] = []

    def generations(
        self, chunks: Iterable[StreamChunk], *, last: bool = True
    ) -> Iterator[ChatGenerationChunk]:
        """A generation chunk per core chunk that carries a delta; with `last`, then the closing
        one with what the stream said once (metadata, usage, sources)."""
        for chunk in chunks:
            message = self.read(chunk)
            if message is not None:
                yield ChatGenerationChunk(message=message)
        if last:
            yield self.last()

    def read(self, chunk: StreamChunk) -> AIMessageChunk | None:
        """Remember a chunk's metadata; the message chunk for its delta, if it carries one."""
        for key, value in (
            ("model_name", chunk.model),
            ("id", chunk.id),
            ("system_fingerprint", chunk.system_fingerprint),
            ("finish_reason", chunk.finish_reason),
        ):
            if value:
                self.metadata[key] = value
        if chunk.usage is not None:
            self.usage = chunk.usage
        self.citations.extend(chunk.citations)
        return chunk_from_stream(chunk)

    def last(self) -> ChatGenerationChunk:
        """The closing chunk: response metadata and usage, set once for the whole answer."""
        message = AIMessageChunk(
            content="",
            response_metadata={**self.metadata, **sources_metadata(tuple(self.citations))},
            usage_metadata=usage_metadata(self.usage) if self.usage else None,
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message, generation_info=_finish(self.metadata))


def _finish(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """The generation info LangChain callbacks read: the finish reason, when there is one."""
    reason = metadata.get("finish_reason")
    return {"finish_reason": reason} if reason else None


class ChatOpenWebUI(BaseChatModel, ConnectionFields):
    """A chat model served by Open WebUI (OpenAI, Ollama, pipes: one API for all).

    Setup: set `OPENWEBUI_SERVER_URL` (the address you open in the browser) and
    `OPENWEBUI_API_KEY` (Settings > Account > API keys), or pass `base_url` and `api_key`.

    ```python
    from openwebui_adapters.langchain import ChatOpenWebUI

    model = ChatOpenWebUI(model="llama3.2:latest", temperature=0)
    model.invoke("Hello")
    ```

    The model name is resolved against the server's model list when it does not match as
    written. Failures raise `langchain_core.exceptions` classes (`ModelAuthenticationError`,
    `ModelNotFoundError`...) that are also `openwebui_adapters.errors.OpenWebUIError`s naming the
    setting to fix.
    """

    model: str
    """The model as the server lists it (`llama3:latest`, `gpt-4o`, a custom model's id)."""
    temperature: float | None = None
    max_tokens: int | None = None
    """The most tokens to generate."""
    stop: list[str] | None = None
    """Stop sequences; a call's `stop` replaces them."""
    streaming: bool = False
    """Stream even on `invoke` (the result is the same; callbacks see tokens as they come)."""
    stream_usage: bool = True
    """Ask for token usage at the end of a stream (Open WebUI only sends it when asked)."""
    files: list[str | dict[str, Any] | UploadedFile | KnowledgeBase] | None = None
    """Open WebUI knowledge to answer from: file ids, knowledge base ids or names, or raw
    `{"type": "file" | "collection", "id": ...}` items. The server retrieves from them and the
    answer's `response_metadata["sources"]` lists what it used. Per call: `invoke(..., files=...)`
    or `bind(files=...)`."""
    tool_ids: list[str] | None = None
    """Tools configured on the Open WebUI server that it may offer the model."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other body parameters (`top_p`, `seed`, `frequency_penalty`...), sent as given."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: dict[str, Any]) -> Any:
        """Unknown constructor arguments (`top_p=...`) go to `model_kwargs`, with a warning."""
        return collect_model_kwargs(cls, values)

    def _resolve_model_profile(self) -> ModelProfile | None:
        """The profile from the server's model facts, when this connection has them cached
        (`client.all_model_facts()` or `model_facts(name)` fetch them); never a request here.
        LangChain calls it only when no `profile=` was given, before `_build_client` runs."""
        return cached_profile(self.core_client(), self.model)

    # -- LangChain's identity, tracing and serialisation ------------------------------------
    @property
    def _llm_type(self) -> str:
        return "openwebui-chat"

    @property
    def _default_params(self) -> dict[str, Any]:
        params = {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop or None,
            "files": self.files,
            "tool_ids": self.tool_ids,
            **self.model_kwargs,
        }
        return {key: value for key, value in params.items() if value is not None}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"base_url": self.base_url, **self._default_params}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = {**self._default_params, **kwargs}
        ls_params = LangSmithParams(
            ls_provider=PROVIDER, ls_model_name=params["model"], ls_model_type="chat"
        )
        if isinstance(params.get("temperature"), (int, float)):
            ls_params["ls_temperature"] = params["temperature"]
        if isinstance(params.get("max_tokens"), int):
            ls_params["ls_max_tokens"] = params["max_tokens"]
        if ls_stop := stop or params.get("stop"):
            ls_params["ls_stop"] = ls_stop
        return ls_params

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": API_KEY}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["openwebui_adapters", "langchain", "chat_models"]

    # -- calls ------------------------------------------------------------------------------
    def _payload(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """The chat body: defaults, then the call's arguments (`model` may be overridden)."""
        kwargs.pop("stream", None)
        payload = {**self._default_params, **kwargs, "messages": messages_to_openai(messages)}
        if stop is not None:
            payload["stop"] = stop or None
        return payload

    def _stream_payload(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        stream_usage: bool | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        payload = self._payload(messages, stop, kwargs)
        usage = self.stream_usage if stream_usage is None else stream_usage
        payload.setdefault("stream_options", {"include_usage": usage})
        return payload

    def _chat_result(self, answer: ChatAnswer) -> ChatResult:
        metadata: dict[str, Any] = {
            "model_provider": PROVIDER,
            "model_name": answer.model or self.model,
            **sources_metadata(answer.citations),
        }
        if answer.id:
            metadata["id"] = answer.id
        if answer.system_fingerprint:
            metadata["system_fingerprint"] = answer.system_fingerprint
        generations = []
        for choice in answer.choices:
            message = message_from_answer(answer, choice)
            message.response_metadata = {**metadata, "finish_reason": choice.finish_reason}
            if answer.usage is not None:
                message.usage_metadata = usage_metadata(answer.usage)
            generations.append(
                ChatGeneration(message=message, generation_info=_finish(message.response_metadata))
            )
        return ChatResult(
            generations=generations,
            llm_output={"token_usage": answer.raw_usage, "model_name": metadata["model_name"]},
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        payload = self._payload(messages, stop, kwargs)
        with map_errors():
            return self._chat_result(self.core_client().answer(payload))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        payload = self._payload(messages, stop, kwargs)
        with map_errors():
            return self._chat_result(await self.core_client().aanswer(payload))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        state = _StreamState()
        answers = self.core_client().stream_answer(
            self._stream_payload(messages, stop, stream_usage, kwargs)
        )
        with map_errors(), closing(answers):  # an early exit frees the connection at once
            for generation in state.generations(answers):
                if run_manager:
                    run_manager.on_llm_new_token(generation.text, chunk=generation)
                yield generation

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        state = _StreamState()
        answers = self.core_client().astream_answer(
            self._stream_payload(messages, stop, stream_usage, kwargs)
        )
        with map_errors():
            async with aclosing(answers):
                async for answer in answers:
                    for generation in state.generations([answer], last=False):
                        if run_manager:
                            await run_manager.on_llm_new_token(generation.text, chunk=generation)
                        yield generation
        for generation in state.generations([]):
            if run_manager:
                await run_manager.on_llm_new_token("", chunk=generation)
            yield generation

    # -- tools and structured output --------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (anything `convert_to_openai_tool` takes) for the model to call.

        `tool_choice`: "auto", "none", "any"/"required"/True (call some tool), or a tool's name.
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        if tool_choice is not None and tool_choice is not False:
            names = [tool["function"]["name"] for tool in formatted if "function" in tool]
            kwargs["tool_choice"] = _tool_choice(tool_choice, names)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredOutputMethod = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """A runnable that answers with `schema` (a Pydantic class, TypedDict or JSON schema).

        `method`: "json_schema" (the server's `response_format`, the default),
        "function_calling" (a forced tool call), or "json_mode" (any JSON object; describe the
        keys in the prompt). `include_raw=True` answers `{"raw", "parsed", "parsing_error"}`.
        """
        if method == "json_mode" and strict is not None:
            raise ValueError("strict is not supported with method='json_mode'")
        if schema is None and method != "json_mode":
            raise ValueError(f"method={method!r} needs a schema")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        llm: Runnable[LanguageModelInput, AIMessage]
        parser: Runnable[Any, Any]
        if method == "function_calling":
            assert schema is not None
            name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=name,
                strict=strict,
                ls_structured_output_format=ls_format,
                **kwargs,
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            if method == "json_schema":
                assert schema is not None
                function = convert_to_openai_function(schema, strict=strict)
                json_schema: dict[str, Any] = {
                    "name": function["name"],
                    "schema": function["parameters"],
                }
                if strict is not None:
                    json_schema["strict"] = strict
                response_format = {"type": "json_schema", "json_schema": json_schema}
            else:
                response_format = {"type": "json_object"}
            if schema is not None:
                kwargs["ls_structured_output_format"] = ls_format
            llm = self.bind(response_format=response_format, **kwargs)
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"method={method!r}: use 'json_schema', 'function_calling' or 'json_mode'"
            )
        if not include_raw:
            return llm | parser
        parse_raw = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        no_parse = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse_raw.with_fallbacks(
            [no_parse], exception_key="parsing_error"
        )
