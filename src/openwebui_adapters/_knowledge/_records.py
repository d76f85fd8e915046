"""Files and knowledge bases as typed records, read from the server's answers; and one
connection's knowledge list, cached for name lookups."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from openwebui_adapters._replies import Citation, citations_from_sources
from openwebui_adapters._shapes import integer, mapping, text
from openwebui_adapters.errors import ResponseError

__all__ = [
    "FileRef",
    "FilesArg",
    "KnowledgeBase",
    "KnowledgeCache",
    "KnowledgeRef",
    "UploadedFile",
    "citations_from_query",
    "read_file_record",
    "read_knowledge",
    "read_knowledge_list",
]


@dataclass(frozen=True)
class UploadedFile:
    """A file on the server. `status`: pending, processing, completed or failed (`error` says
    why); `filename` is None when only the id was known."""

    id: str
    filename: str | None
    status: str
    error: str | None = None
    size: int | None = None
    content_type: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def usable(self) -> bool:
        """True once processed: ready for a chat or a knowledge base."""
        return self.status == "completed"


@dataclass(frozen=True)
class KnowledgeBase:
    """A knowledge base (Open WebUI's "collection"). `file_ids` is filled when the server sent
    the files (after create or add); `file_count` when it counted them (the list)."""

    id: str
    name: str
    description: str = ""
    file_ids: tuple[str, ...] = ()
    file_count: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


KnowledgeRef: TypeAlias = str | KnowledgeBase
FileRef: TypeAlias = str | UploadedFile | KnowledgeBase | Mapping[str, Any]
FilesArg: TypeAlias = FileRef | Sequence[FileRef] | None


def read_file_record(payload: Any, url: str = "") -> UploadedFile:
    """A file record (`POST /api/v1/files/`, `GET /api/v1/files/{id}`) as an `UploadedFile`.

    The status is in `data.status`; the upload answer's own top-level `status` is a bare `true`.
    """
    if not isinstance(payload, Mapping) or not text(payload.get("id")):
        raise ResponseError(
            f"Expected a file record, the server sent {str(payload)[:200]!r}", url=url or None
        )
    data = mapping(payload.get("data"))
    meta = mapping(payload.get("meta"))
    status = text(data.get("status")) or "pending"
    return UploadedFile(
        id=payload["id"],
        filename=text(payload.get("filename")) or text(meta.get("name")),
        status=status,
        error=text(data.get("error")),
        size=integer(meta.get("size")),
        content_type=text(meta.get("content_type")),
        meta=dict(meta),
    )


def read_knowledge(payload: Any, url: str = "") -> KnowledgeBase:
    """One knowledge base record (create, add, list entry) as a `KnowledgeBase`."""
    if not isinstance(payload, Mapping) or not text(payload.get("id")):
        raise ResponseError(
            f"Expected a knowledge base, the server sent {str(payload)[:200]!r}", url=url or None
        )
    files = payload.get("files")
    file_ids: list[str] = []
    if isinstance(files, list):
        file_ids = [f["id"] for f in files if isinstance(f, Mapping) and text(f.get("id"))]
    else:
        # Releases before 0.6.x's file table kept the ids in `data.file_ids`.
        legacy = mapping(payload.get("data")).get("file_ids")
        if isinstance(legacy, list):
            file_ids = [i for i in legacy if isinstance(i, str)]
    count = integer(payload.get("file_count"))
    if count is None and (isinstance(files, list) or file_ids):
        count = len(file_ids)
    return KnowledgeBase(
        id=payload["id"],
        name=text(payload.get("name")) or payload["id"],
        description=text(payload.get("description")) or "",
        file_ids=tuple(file_ids),
        file_count=count,
        raw=dict(payload),
    )


def read_knowledge_list(payload: Any, url: str = "") -> tuple[list[KnowledgeBase], int | None]:
    """A page of `GET /api/v1/knowledge/`: its bases and the server's total (None: a bare list,
    as releases before 0.7 answer, is the whole list)."""
    if isinstance(payload, list):
        return [read_knowledge(entry, url) for entry in payload], None
    if isinstance(payload, Mapping) and isinstance(payload.get("items"), list):
        total = integer(payload.get("total"))
        return [read_knowledge(entry, url) for entry in payload["items"]], total
    raise ResponseError(
        f"Expected a list of knowledge bases, the server sent {str(payload)[:200]!r}",
        url=url or None,
    )


def citations_from_query(
    result: Any, bases: Sequence[KnowledgeBase], url: str = ""
) -> tuple[Citation, ...]:
    """`POST /api/v1/retrieval/query/collection`'s answer (parallel lists, one per query) as
    citations, best first. With one base searched, each citation names it."""
    if not isinstance(result, Mapping) or not all(
        isinstance(result.get(key), list) for key in ("documents", "metadatas", "distances")
    ):
        raise ResponseError(
            f"Expected retrieval results, the server sent {str(result)[:200]!r}", url=url or None
        )

    def first(key: str) -> Any:
        rows = result[key]
        return rows[0] if rows and isinstance(rows[0], list) else []

    source: dict[str, Any] = {"type": "collection"}
    if len(bases) == 1:
        source.update(id=bases[0].id, name=bases[0].name)
    entry = {
        "source": source,
        "document": first("documents"),
        "metadata": first("metadatas"),
        "distances": first("distances"),
    }
    return citations_from_sources([entry])


class KnowledgeCache:
    """One connection's knowledge list (None until fetched), kept current by create/delete."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bases: tuple[KnowledgeBase, ...] | None = None

    def store(self, bases: Sequence[KnowledgeBase]) -> None:
        with self.lock:
            self.bases = tuple(bases)

    def add(self, base: KnowledgeBase) -> None:
        with self.lock:
            if self.bases is not None:
                self.bases = (*[b for b in self.bases if b.id != base.id], base)

    def drop(self, knowledge_id: str) -> None:
        with self.lock:
            if self.bases is not None:
                self.bases = tuple(b for b in self.bases if b.id != knowledge_id)
