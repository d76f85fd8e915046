"""`OpenWebUIEmbeddings`: an Open WebUI server's embedding models as LangChain embeddings."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._replies import read_embedding_answer
from openwebui_adapters.errors import API_KEY, SERVER_URL

from ._errors import map_errors
from ._fields import collect_model_kwargs, core_client

__all__ = [
    "OpenWebUIEmbeddings",
]


def _vectors(response: Mapping[str, Any]) -> list[list[float]]:
    """The vectors of the core's embeddings answer (one per input, in input order: the core checks)."""
    return [
        [float(value) for value in vector] for vector in read_embedding_answer(response).vectors
    ]


class OpenWebUIEmbeddings(BaseModel, Embeddings):
    """Embeddings from a model an Open WebUI server offers (OpenAI or Ollama backends).

    ```python
    from openwebui_adapters.langchain import OpenWebUIEmbeddings

    embeddings = OpenWebUIEmbeddings(model="nomic-embed-text:latest")
    vectors = embeddings.embed_documents(["first", "second"])
    ```
    """

    model: str
    """The embedding model as the server lists it."""
    base_url: str | None = Field(default_factory=from_env(SERVER_URL, default=None))
    """The Open WebUI server's address; defaults to `OPENWEBUI_SERVER_URL`."""
    api_key: SecretStr | None = Field(default_factory=secret_from_env(API_KEY, default=None))
    """An Open WebUI API key; defaults to `OPENWEBUI_API_KEY`."""
    chunk_size: int = Field(default=1000, gt=0)
    """The most texts sent in one request."""
    dimensions: int | None = None
    """Output dimensions, for models that can shorten their vectors."""
    timeout: float | None = None
    max_retries: int | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other body parameters, sent as given."""
    default_headers: dict[str, str] | None = None
    verify: bool | str | ssl.SSLContext | None = None
    client: OpenWebUIClient | None = Field(default=None, exclude=True, repr=False)
    """A prebuilt core client to use instead of one built from the settings above."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        return collect_model_kwargs(cls, values)

    @model_validator(mode="after")
    def _build_client(self) -> OpenWebUIEmbeddings:
        if self.client is None:
            self.client = core_client(self)
        return self

    @property
    def _client(self) -> OpenWebUIClient:
        assert self.client is not None  # set by _build_client
        return self.client

    def _batches(self, texts: list[str]) -> list[dict[str, Any]]:
        body = {"model": self.model, "dimensions": self.dimensions, **self.model_kwargs}
        return [
            {**body, "input": texts[start : start + self.chunk_size]}
            for start in range(0, len(texts), self.chunk_size)
        ]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, `chunk_size` texts per request."""
        vectors: list[list[float]] = []
        with map_errors():
            for payload in self._batches(texts):
                vectors += _vectors(self._client.embed(payload))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text; the batches are sent concurrently."""
        batches = self._batches(texts)
        with map_errors():
            responses = await asyncio.gather(*(self._client.aembed(p) for p in batches))
            return [
                vector
                for payload, response in zip(batches, responses, strict=True)
                for vector in _vectors(response)
            ]

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
