"""`OpenWebUIClient`: chat, streams, embeddings, models, facts and knowledge, for one server.

The client is built from parts it owns: the shared connection (pools, catalog, caches) and the
services that write each exchange once as a plan (`_chat`, `_models`, `_model_facts`,
`_knowledge`). Its methods only hand a plan to the sync or the async driver (`_plan`), so a sync
method and its async twin differ in one line.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from contextlib import aclosing, closing
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._catalog import ModelInfo
from ._chat import Chat
from ._connection import AsyncTransportFactory, Connection, get_connection
from ._discovery import VERSION_PATH, open_webui_version, warn_once_if_session_token
from ._knowledge._records import FilesArg, KnowledgeBase, KnowledgeRef, UploadedFile
from ._knowledge._service import Knowledge
from ._knowledge._waiting import PROCESS_TIMEOUT
from ._model_facts import Facts, ModelFacts
from ._models import Models
from ._plan import Plan, aiterate, arun, iterate, run
from ._replies import (
    ChatAnswer,
    Citation,
    EmbeddingAnswer,
    StreamChunk,
    read_chat_answer,
    read_embedding_answer,
    read_stream_chunk,
)
from ._sending import Sender
from ._settings import Settings
from .errors import RouteError

if TYPE_CHECKING:
    import os

    from typing_extensions import Unpack

    from ._knowledge._waiting import UploadOptions
    from ._settings import ConnectionOptions

__all__ = ["OpenWebUIClient"]

T = TypeVar("T")


class OpenWebUIClient:
    """A client for one Open WebUI server; cheap to create.

    Clients of the same server, key and TLS trust share one pool and catalog, whatever their
    headers, timeouts and retries (those go with each request). `verify` is True, False, a CA
    bundle path, "system" (the OS trust store, needs `truststore`) or an `ssl.SSLContext`.
    `async_transport_factory` builds the async pool's transport (the LiteLLM adapter passes
    LiteLLM's aiohttp transport); clients with another factory use another pool.
    """

    def __init__(
        self,
        server_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        async_transport_factory: AsyncTransportFactory | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        settings = Settings.resolve(server_url, api_key, **options)
        self._build(settings, transport, async_transport_factory)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        async_transport_factory: AsyncTransportFactory | None = None,
    ) -> OpenWebUIClient:
        """A client for settings resolved already (the adapters resolve them by their names)."""
        client = cls.__new__(cls)
        client._build(settings, transport, async_transport_factory)
        return client

    def _build(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
        async_transport_factory: AsyncTransportFactory | None,
    ) -> None:
        self.settings = settings
        if transport is None:
            self.connection = get_connection(settings, async_transport_factory)
        else:
            # A private connection over a given transport (tests, fault injection).
            self.connection = Connection(
                settings,
                transport=transport if isinstance(transport, httpx.BaseTransport) else None,
                async_transport=transport
                if isinstance(transport, httpx.AsyncBaseTransport)
                else None,
            )
        self.connection.acquire()
        self._closed = False
        self.catalog = self.connection.catalog
        sender = Sender(self.connection, settings)
        self._sender = sender
        self._models = Models(sender, self.catalog, settings.timeout)
        self._facts = Facts(sender, self._models, settings.timeout)
        self._knowledge = Knowledge(sender, self.connection.knowledge, settings.timeout)
        self._chat = Chat(sender, self._models, self._knowledge)
        warn_once_if_session_token(self.connection)

    def __repr__(self) -> str:
        return f"OpenWebUIClient(server_url={self.settings.server_url!r}, api_key='***')"

    # -- the two drivers -------------------------------------------------------------------
    def _run(self, plan: Plan[T]) -> T:
        return run(plan, self.connection.client)

    async def _arun(self, plan: Plan[T]) -> T:
        return await arun(plan, self.connection.async_client)

    # -- the server ------------------------------------------------------------------------
    def server_version(self) -> str:
        """The release of Open WebUI at the server URL (RouteError when it is not Open WebUI)."""
        return self._run(self._version())

    async def aserver_version(self) -> str:
        """The async twin of `server_version`."""
        return await self._arun(self._version())

    def _version(self) -> Plan[str]:
        request = self._sender.outgoing("GET", VERSION_PATH)
        response = yield from self._sender.exchange(request)
        version = open_webui_version(response)
        if version is None:
            raise RouteError(
                f"{request.url} did not answer like Open WebUI (HTTP {response.status_code})",
                url=request.url,
                status_code=response.status_code,
                names=self.settings.names,
            )
        return version

    # -- models ----------------------------------------------------------------------------
    def list_models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """Every model this key may use (`refresh` asks the server to re-read its backends)."""
        return self._run(self._models.fetch(refresh=refresh))

    async def alist_models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """The async twin of `list_models`."""
        return await self._arun(self._models.fetch(refresh=refresh))

    def resolve_model(self, name: str) -> str:
        """The server id for what the user wrote; ModelNotFoundError with suggestions if none."""
        return self._run(self._models.resolve(name))

    async def aresolve_model(self, name: str) -> str:
        """The async twin of `resolve_model`."""
        return await self._arun(self._models.resolve(name))

    def cached_model_facts(self, name: str) -> ModelFacts | None:
        """The facts as far as they are cached; None when the list was never fetched or the name
        does not resolve in it. Never makes a request (for constructors and hot paths)."""
        return self._facts.cached(name)

    def model_facts(self, name: str, *, details: bool = True) -> ModelFacts:
        """What the server says about a model as the user writes it: capabilities, context
        length, backend (the list when not cached; with `details` one `/api/show` for Ollama)."""
        return self._run(self._facts.of(name, details=details))

    async def amodel_facts(self, name: str, *, details: bool = True) -> ModelFacts:
        """The async twin of `model_facts`."""
        return await self._arun(self._facts.of(name, details=details))

    def all_model_facts(self, *, details: bool = False, refresh: bool = False) -> list[ModelFacts]:
        """Facts for every model the key may use: one list request (none when cached), plus
        with `details` one `/api/show` per Ollama model not asked about before."""
        return self._run(self._facts.every(details=details, refresh=refresh))

    async def aall_model_facts(
        self, *, details: bool = False, refresh: bool = False
    ) -> list[ModelFacts]:
        """The async twin of `all_model_facts`."""
        return await self._arun(self._facts.every(details=details, refresh=refresh))

    # -- chat ------------------------------------------------------------------------------
    def chat(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A chat completion (OpenAI format); `payload["model"]` as the user wrote it."""
        return self._run(self._chat.complete(payload))

    async def achat(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The async twin of `chat`."""
        return await self._arun(self._chat.complete(payload))

    def stream_chat(self, payload: Mapping[str, Any]) -> Generator[dict[str, Any], None, None]:
        """The chunks of a streamed chat completion, usage included on the last one."""
        return iterate(self._chat.stream(payload), self.connection.client)

    def astream_chat(self, payload: Mapping[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """The async twin of `stream_chat`."""
        return aiterate(self._chat.stream(payload), self.connection.async_client)

    def answer(self, payload: Mapping[str, Any]) -> ChatAnswer:
        """`chat`, read into a typed `ChatAnswer` (text, tool calls, usage, reasoning, and the
        citations when the server retrieved from `files`)."""
        return read_chat_answer(self.chat(payload))

    async def aanswer(self, payload: Mapping[str, Any]) -> ChatAnswer:
        """The async twin of `answer`."""
        return read_chat_answer(await self.achat(payload))

    def stream_answer(self, payload: Mapping[str, Any]) -> Generator[StreamChunk, None, None]:
        """`stream_chat`, each chunk read into a typed `StreamChunk` (the `sources` event too)."""
        with closing(self.stream_chat(payload)) as chunks:  # stopping early frees the connection
            for chunk in chunks:
                yield read_stream_chunk(chunk)

    async def astream_answer(self, payload: Mapping[str, Any]) -> AsyncGenerator[StreamChunk, None]:
        """The async twin of `stream_answer`."""
        async with aclosing(self.astream_chat(payload)) as chunks:
            async for chunk in chunks:
                yield read_stream_chunk(chunk)

    # -- embeddings ------------------------------------------------------------------------
    def embed(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Embeddings (OpenAI format) for `payload["input"]` (a string or a list of strings)."""
        return self._run(self._chat.embed(payload))

    async def aembed(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The async twin of `embed`."""
        return await self._arun(self._chat.embed(payload))

    def embeddings(self, payload: Mapping[str, Any]) -> EmbeddingAnswer:
        """`embed`, read into a typed `EmbeddingAnswer` (one vector per input, in order)."""
        return read_embedding_answer(self.embed(payload))

    async def aembeddings(self, payload: Mapping[str, Any]) -> EmbeddingAnswer:
        """The async twin of `embeddings`."""
        return read_embedding_answer(await self.aembed(payload))

    # -- knowledge -------------------------------------------------------------------------
    def list_knowledge(self) -> list[KnowledgeBase]:
        """Every knowledge base this key's user may read (all pages), cached for name lookups."""
        return self._run(self._knowledge.bases())

    async def alist_knowledge(self) -> list[KnowledgeBase]:
        """The async twin of `list_knowledge`."""
        return await self._arun(self._knowledge.bases())

    def resolve_knowledge(self, knowledge: KnowledgeRef) -> KnowledgeBase:
        """The knowledge base an id or name means (KnowledgeNotFoundError with suggestions)."""
        return self._run(self._knowledge.resolve(knowledge))

    async def aresolve_knowledge(self, knowledge: KnowledgeRef) -> KnowledgeBase:
        """The async twin of `resolve_knowledge`."""
        return await self._arun(self._knowledge.resolve(knowledge))

    def resolve_files(self, files: FilesArg) -> list[dict[str, Any]]:
        """`files=` as Open WebUI's items: raw items and records cost no request, names at most
        one knowledge list request (then cached)."""
        return self._run(self._knowledge.resolve_files(files))

    async def aresolve_files(self, files: FilesArg) -> list[dict[str, Any]]:
        """The async twin of `resolve_files`."""
        return await self._arun(self._knowledge.resolve_files(files))

    def upload_file(
        self, source: str | os.PathLike[str] | bytes, **options: Unpack[UploadOptions]
    ) -> UploadedFile:
        """Upload a file (a path, or bytes with `filename`) and, unless `wait=False`, wait up to
        `timeout` seconds for the server to process it. KnowledgeError if processing fails."""
        return self._run(self._knowledge.upload_file(source, **options))

    async def aupload_file(
        self, source: str | os.PathLike[str] | bytes, **options: Unpack[UploadOptions]
    ) -> UploadedFile:
        """The async twin of `upload_file`."""
        return await self._arun(self._knowledge.upload_file(source, **options))

    def wait_for_file(
        self, file: str | UploadedFile, *, timeout: float = PROCESS_TIMEOUT
    ) -> UploadedFile:
        """The file once processed; KnowledgeError when its processing failed or did not
        finish within `timeout` seconds."""
        return self._run(self._knowledge.wait_for_file(file, timeout=timeout))

    async def await_file(
        self, file: str | UploadedFile, *, timeout: float = PROCESS_TIMEOUT
    ) -> UploadedFile:
        """The async twin of `wait_for_file`."""
        return await self._arun(self._knowledge.wait_for_file(file, timeout=timeout))

    def delete_file(self, file: str | UploadedFile) -> None:
        """Delete a file (and its chunks, also from the knowledge bases holding it)."""
        self._run(self._knowledge.delete_file(file))

    async def adelete_file(self, file: str | UploadedFile) -> None:
        """The async twin of `delete_file`."""
        await self._arun(self._knowledge.delete_file(file))

    def create_knowledge(
        self, name: str, *, description: str = "", exist_ok: bool = False
    ) -> KnowledgeBase:
        """Create a knowledge base; with `exist_ok`, return the one of that name if it exists
        (so a script can run twice). Names need not be unique: the id identifies a base."""
        return self._run(self._knowledge.create(name, description=description, exist_ok=exist_ok))

    async def acreate_knowledge(
        self, name: str, *, description: str = "", exist_ok: bool = False
    ) -> KnowledgeBase:
        """The async twin of `create_knowledge`."""
        plan = self._knowledge.create(name, description=description, exist_ok=exist_ok)
        return await self._arun(plan)

    def add_file_to_knowledge(
        self,
        knowledge: KnowledgeRef,
        file: str | UploadedFile,
        *,
        timeout: float = PROCESS_TIMEOUT,
    ) -> KnowledgeBase:
        """Add a file to a knowledge base once it is processed; the base with its file ids."""
        return self._run(self._knowledge.add_file(knowledge, file, timeout=timeout))

    async def aadd_file_to_knowledge(
        self,
        knowledge: KnowledgeRef,
        file: str | UploadedFile,
        *,
        timeout: float = PROCESS_TIMEOUT,
    ) -> KnowledgeBase:
        """The async twin of `add_file_to_knowledge`."""
        return await self._arun(self._knowledge.add_file(knowledge, file, timeout=timeout))

    def delete_knowledge(self, knowledge: KnowledgeRef) -> None:
        """Delete a knowledge base (its files stay on the server)."""
        self._run(self._knowledge.delete(knowledge))

    async def adelete_knowledge(self, knowledge: KnowledgeRef) -> None:
        """The async twin of `delete_knowledge`."""
        await self._arun(self._knowledge.delete(knowledge))

    def search_knowledge(
        self, knowledge: KnowledgeRef | Sequence[KnowledgeRef], query: str, *, k: int = 4
    ) -> tuple[Citation, ...]:
        """The `k` chunks of these knowledge bases closest to `query`, best first, without a
        chat (Open WebUI's retrieval as the chat would run it)."""
        return self._run(self._knowledge.search(knowledge, query, k=k))

    async def asearch_knowledge(
        self, knowledge: KnowledgeRef | Sequence[KnowledgeRef], query: str, *, k: int = 4
    ) -> tuple[Citation, ...]:
        """The async twin of `search_knowledge`."""
        return await self._arun(self._knowledge.search(knowledge, query, k=k))

    # -- lifecycle -------------------------------------------------------------------------
    def _release(self) -> bool:
        """Give this client's hold on the pool back (once); True if no other client holds it."""
        if self._closed:
            return False
        self._closed = True
        return self.connection.release()

    def close(self) -> None:
        """Close the pools, unless another client still shares them (then they live on)."""
        if self._release():
            self.connection.close()

    async def aclose(self) -> None:
        """The async twin of `close` (closes the running loop's async pool)."""
        if self._release():
            await self.connection.aclose()
