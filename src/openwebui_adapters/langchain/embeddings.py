"""`OpenWebUIEmbeddings`: an Open WebUI server's embedding models as LangChain embeddings."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field, model_validator

from openwebui_adapters._replies import EmbeddingAnswer

from ._errors import map_errors
from ._fields import ConnectionFields, collect_model_kwargs

__all__ = [
    "OpenWebUIEmbeddings",
]


def _vectors(answer: EmbeddingAnswer) -> list[list[float]]:
    """The vectors of the core's embeddings answer (one per input, in input order: the core checks)."""
    return [[float(value) for value in vector] for vector in answer.vectors]


class OpenWebUIEmbeddings(ConnectionFields, Embeddings):
    """Embeddings from a model an Open WebUI server offers (OpenAI or Ollama backends).

    ```python
    from openwebui_adapters.langchain import OpenWebUIEmbeddings

    embeddings = OpenWebUIEmbeddings(model="nomic-embed-text:latest")
    vectors = embeddings.embed_documents(["first", "second"])
    ```
    """

    model: str
    """The embedding model as the server lists it."""
    chunk_size: int = Field(default=1000, gt=0)
    """The most texts sent in one request."""
    dimensions: int | None = None
    """Output dimensions, for models that can shorten their vectors."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other body parameters, sent as given."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        return collect_model_kwargs(cls, values)

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
                vectors += _vectors(self.core_client().embeddings(payload))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text; the batches are sent concurrently."""
        batches = self._batches(texts)
        with map_errors():
            answers = await asyncio.gather(*(self.core_client().aembeddings(p) for p in batches))
            return [vector for answer in answers for vector in _vectors(answer)]

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
