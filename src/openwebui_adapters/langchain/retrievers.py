"""`OpenWebUIRetriever`: an Open WebUI server's knowledge bases as a LangChain retriever."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, model_validator

from openwebui_adapters._replies import Citation

from ._errors import map_errors
from ._fields import ConnectionFields

__all__ = ["OpenWebUIRetriever", "document_from_citation"]


def document_from_citation(citation: Citation) -> Document:
    """A retrieved chunk as a `Document`: its text, and where it came from in `metadata`."""
    metadata = {key: value for key, value in citation.as_dict().items() if key != "document"}
    return Document(page_content=citation.document, metadata=metadata)


class OpenWebUIRetriever(BaseRetriever, ConnectionFields):
    """The chunks of one or more Open WebUI knowledge bases closest to a query.

    ```python
    from openwebui_adapters.langchain import OpenWebUIRetriever

    retriever = OpenWebUIRetriever(knowledge=["Team handbook"], k=4)
    docs = retriever.invoke("How many vacation days?")
    ```

    A knowledge base is named by its id or by its name as the web UI shows it (case and spacing
    are forgiven; a miss raises an error with suggestions). Search runs on the server
    (`POST /api/v1/retrieval/query/collection`), with the embedding model the admin configured.
    Each `Document.metadata` holds `file_name`, `file_id`, `source_id` (the knowledge base),
    `distance` and the server's own chunk `metadata`.
    """

    knowledge: list[str]
    """Knowledge bases to search: ids or names."""
    k: int = Field(default=4, gt=0)
    """How many chunks to return (also per call: `invoke(query, k=2)`)."""
    model_config = ConfigDict(arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _one_knowledge_base(cls, values: Any) -> Any:
        """`knowledge="Handbook"` means one knowledge base."""
        if isinstance(values, dict) and isinstance(values.get("knowledge"), str):
            values = {**values, "knowledge": [values["knowledge"]]}
        return values

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = kwargs.get("k", self.k)
        with map_errors():
            citations = self.core_client().search_knowledge(self.knowledge, query, k=k)
        return [document_from_citation(citation) for citation in citations]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = kwargs.get("k", self.k)
        with map_errors():
            citations = await self.core_client().asearch_knowledge(self.knowledge, query, k=k)
        return [document_from_citation(citation) for citation in citations]
