"""Files and knowledge bases: upload and wait for processing, collections, retrieval, `files=`.

Open WebUI processes an upload in the background (extract the text, split it, embed the chunks);
a file is usable in a chat or a knowledge base once its status is `completed`. The wait polls the
status, first after a few milliseconds and then at intervals of a tenth of the time waited so far
(so the client notices completion within ~10 % of the server's own processing time), and hands
long waits to the server's status stream, which reports once a second. A failed processing
raises `KnowledgeError` quoting the server's reason and saying who can fix it.

Knowledge bases are named by id or by their name as a person writes it; the list is fetched once
per connection and cached, like the model list. `file_items` turns a chat's `files=` argument into
Open WebUI's items. The client methods live in `KnowledgeMethods`, a base of `OpenWebUIClient`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import os
import re
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias

import httpx

from .catalog import ModelInfo, suggest
from .connection import Connection
from .errors import (
    ConfigurationError,
    KnowledgeError,
    KnowledgeNotFoundError,
    OpenWebUIError,
    ResponseError,
    server_detail,
)
from .replies import Citation, citations_from_sources
from .sending import Diagnose, Sender
from .settings import Settings

__all__ = [
    "FILES_PATH",
    "KNOWLEDGE_PATH",
    "KNOWLEDGE_SETTING",
    "POLL_CAP",
    "POLL_FIRST",
    "POLL_SHARE",
    "PROCESS_TIMEOUT",
    "QUERY_PATH",
    "STREAM_AFTER",
    "FileRef",
    "FilesArg",
    "KnowledgeBase",
    "KnowledgeMethods",
    "KnowledgeRef",
    "UploadedFile",
    "citations_from_query",
    "existing_knowledge",
    "explain_processing_failure",
    "file_items",
    "match_knowledge",
    "read_file_record",
    "read_knowledge",
    "read_knowledge_list",
    "suggest_knowledge",
]

FILES_PATH = "/api/v1/files/"
KNOWLEDGE_PATH = "/api/v1/knowledge"
QUERY_PATH = "/api/v1/retrieval/query/collection"
KNOWLEDGE_SETTING = "knowledge"
FILES_SETTING = "files"

PROCESS_TIMEOUT = 300.0  # s: a long PDF takes minutes on a busy server
POLL_FIRST = 0.005  # s: a short text is processed in tens of milliseconds
POLL_SHARE = 0.1  # each pause is at most this share of the time waited so far
POLL_CAP = 1.0  # s
# From here on the server's status stream (one check per second) is as prompt as polling.
STREAM_AFTER = 10.0
# An upload the server may have stored already is not sent twice: only "not now" is retried.
UPLOAD_RETRY_STATUSES = frozenset({429, 503})
FINAL_STATUSES = frozenset({"completed", "failed"})
# Open WebUI's ERROR_MESSAGES.NOT_FOUND, its answer for an id it does not have.
_NOT_FOUND = re.compile(r"could not find what you're looking for", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


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


# -- reading the server's records -------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def read_file_record(payload: Any, url: str = "") -> UploadedFile:
    """A file record (`POST /api/v1/files/`, `GET /api/v1/files/{id}`) as an `UploadedFile`.

    The status is in `data.status`; the upload answer's own top-level `status` is a bare `true`.
    """
    if not isinstance(payload, Mapping) or not _str(payload.get("id")):
        raise ResponseError(
            f"Expected a file record, the server sent {str(payload)[:200]!r}", url=url or None
        )
    data = _mapping(payload.get("data"))
    meta = _mapping(payload.get("meta"))
    status = _str(data.get("status")) or "pending"
    return UploadedFile(
        id=payload["id"],
        filename=_str(payload.get("filename")) or _str(meta.get("name")),
        status=status,
        error=_str(data.get("error")),
        size=_int(meta.get("size")),
        content_type=_str(meta.get("content_type")),
        meta=dict(meta),
    )


def read_knowledge(payload: Any, url: str = "") -> KnowledgeBase:
    """One knowledge base record (create, add, list entry) as a `KnowledgeBase`."""
    if not isinstance(payload, Mapping) or not _str(payload.get("id")):
        raise ResponseError(
            f"Expected a knowledge base, the server sent {str(payload)[:200]!r}", url=url or None
        )
    files = payload.get("files")
    file_ids: list[str] = []
    if isinstance(files, list):
        file_ids = [f["id"] for f in files if isinstance(f, Mapping) and _str(f.get("id"))]
    else:
        # Releases before 0.6.x's file table kept the ids in `data.file_ids`.
        legacy = _mapping(payload.get("data")).get("file_ids")
        if isinstance(legacy, list):
            file_ids = [i for i in legacy if isinstance(i, str)]
    count = _int(payload.get("file_count"))
    if count is None and (isinstance(files, list) or file_ids):
        count = len(file_ids)
    return KnowledgeBase(
        id=payload["id"],
        name=_str(payload.get("name")) or payload["id"],
        description=_str(payload.get("description")) or "",
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
        total = _int(payload.get("total"))
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


# -- who can fix a failed processing ----------------------------------------------------------

_MISSING_MODULE = re.compile(r"No module named '?([\w.]+)'?")
# (reason pattern, hint, setting): the first that matches explains the failure.
_FAILURES: tuple[tuple[re.Pattern[str], str, str | None], ...] = (
    (
        re.compile(r"content provided is empty", re.IGNORECASE),
        "the file has no text Open WebUI can extract (empty, or a scan without OCR): "
        "upload a file with text",
        "file",
    ),
    (
        re.compile(r"not supported for processing|is not allowed", re.IGNORECASE),
        "upload a type the server extracts (txt, md, pdf, docx, html...), or ask the Open WebUI "
        "admin to allow this type or enable a content extraction engine for it",
        "file",
    ),
    (
        re.compile(r"too large|exceeds", re.IGNORECASE),
        "the file exceeds the server's upload limit: upload a smaller file, or ask the admin to "
        "raise it (Admin Settings > Documents > Max Upload Size)",
        "file",
    ),
    (
        re.compile(r"not a zip file|corrupt|damaged|EOF marker|invalid pdf", re.IGNORECASE),
        "the file seems damaged, or is not of the type its extension says: check that it "
        "opens, then upload it again",
        "file",
    ),
    (
        re.compile(r"duplicate content", re.IGNORECASE),
        "a file with the same content is already in this knowledge base: nothing to add",
        "file",
    ),
    (
        re.compile(r"embedding|connection|connect|timed? ?out", re.IGNORECASE),
        "the server's embedding engine failed: the Open WebUI admin must check its embedding "
        "settings (Admin Settings > Documents, RAG_EMBEDDING_ENGINE); nothing to change here",
        None,
    ),
)


def explain_processing_failure(
    filename: str | None, file_id: str | None, reason: str, **error: Any
) -> KnowledgeError:
    """The error for a file Open WebUI could not process, quoting its reason and naming who can
    fix it: a missing extractor module is the admin's, an empty or unsupported file the user's."""
    name = repr(filename) if filename else f"file {file_id}"
    message = f"Open WebUI could not process {name}: {reason or 'no reason given'}"
    missing = _MISSING_MODULE.search(reason)
    if missing:
        module = missing.group(1).split(".")[0]
        return KnowledgeError(
            message,
            hint=f"the Open WebUI server lacks the Python package {module!r} for this file type: "
            f"the admin must install it (pip install {module}) in Open WebUI's environment; "
            "nothing to change on the client",
            **error,
        )
    for pattern, hint, setting in _FAILURES:
        if pattern.search(reason):
            return KnowledgeError(message, hint=hint, setting=setting, **error)
    return KnowledgeError(
        message,
        hint="the server's reason is quoted above: fix the file if it is about its content, "
        "else tell the Open WebUI admin",
        **error,
    )


def _response_fields(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    detail = server_detail(response.text)
    try:
        url: str | None = str(response.request.url)
    except RuntimeError:
        url = None
    return detail, {"status_code": response.status_code, "url": url, "body": detail or None}


_MISSING_HINTS = {
    "file": "check the file's id (upload_file() returns it); a deleted file is gone",
    KNOWLEDGE_SETTING: "check the knowledge base (`list_knowledge()` lists those you can see)",
}


def _missing(what: str, ref: str, setting: str) -> Diagnose:
    """Open WebUI's "could not find" (404, or 400 on some routes) as a not-found error naming
    the object, never as a wrong URL (which would also start a walk up the server's path)."""

    def diagnose(response: httpx.Response) -> OpenWebUIError | None:
        detail, fields = _response_fields(response)
        if response.status_code in (400, 404) and _NOT_FOUND.search(detail):
            return KnowledgeNotFoundError(
                f"Open WebUI has no {what} {ref!r} (or this key's user may not see it)",
                knowledge=ref,
                setting=setting,
                hint=_MISSING_HINTS.get(setting),
                **fields,
            )
        return None

    return diagnose


def _rejected_file(filename: str | None, file_id: str | None, also: Diagnose | None) -> Diagnose:
    """A 400/413 about a file's content (empty, type, size) as a processing failure."""

    def diagnose(response: httpx.Response) -> OpenWebUIError | None:
        found = also(response) if also is not None else None
        if found is not None:
            return found
        if response.status_code in (400, 413):
            detail, fields = _response_fields(response)
            return explain_processing_failure(filename, file_id, detail, **fields)
        return None

    return diagnose


# -- names as a person writes them ------------------------------------------------------------


def _folded(text: str) -> str:
    """Case, spacing and punctuation dropped: "team-handbook " and "Team Handbook" agree."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def match_knowledge(ref: str, bases: Sequence[KnowledgeBase]) -> KnowledgeBase | None:
    """The base `ref` names, or None. Tried in order: the id, the exact name, the name without
    case, spacing and punctuation differences. Two bases of that name raise KnowledgeError."""
    ref = ref.strip()
    for base in bases:
        if base.id == ref:
            return base
    for key in (lambda text: text, lambda text: " ".join(text.casefold().split()), _folded):
        wanted = key(ref)
        found = [base for base in bases if key(base.name) == wanted]
        if len(found) == 1:
            return found[0]
        if found:
            raise _ambiguous(ref, found)
    return None


def _ambiguous(ref: str, found: Sequence[KnowledgeBase]) -> KnowledgeError:
    return KnowledgeError(
        f"{len(found)} knowledge bases are named {ref!r}: " + ", ".join(base.id for base in found),
        setting=KNOWLEDGE_SETTING,
        hint="pass the id of the one you mean",
    )


def existing_knowledge(name: str, bases: Sequence[KnowledgeBase]) -> KnowledgeBase | None:
    """The one base named exactly `name`, or None; several of that name raise KnowledgeError."""
    found = [base for base in bases if base.name == name]
    if len(found) > 1:
        raise _ambiguous(name, found)
    return found[0] if found else None


def suggest_knowledge(ref: str, bases: Sequence[KnowledgeBase], limit: int = 5) -> list[str]:
    """The names closest to `ref`, best first (the model list's fuzzy matching)."""
    by_id = {base.id: base.name for base in bases}
    entries = [ModelInfo(id=b.id, name=b.name, backend="knowledge") for b in bases]
    names = [by_id[found] for found in suggest(ref, entries, limit=limit * 2)]
    return list(dict.fromkeys(names))[:limit]


def _not_found(ref: str, bases: Sequence[KnowledgeBase], setting: str) -> KnowledgeNotFoundError:
    if not bases:
        return KnowledgeNotFoundError(
            f"Open WebUI has no knowledge base {ref!r}: this key's user sees none",
            knowledge=ref,
            setting=setting,
            hint="create one (`create_knowledge(...)`), or ask its owner to share it with you",
        )
    return KnowledgeNotFoundError(
        f"Open WebUI has no knowledge base {ref!r}",
        knowledge=ref,
        setting=setting,
        suggestions=suggest_knowledge(ref, bases),
    )


class _NeedList(Exception):
    """A reference cannot be decided from the cached list (none yet, or a name it lacks)."""


def _resolve_ref(
    ref: KnowledgeRef, bases: Sequence[KnowledgeBase] | None, *, fresh: bool, setting: str
) -> KnowledgeBase:
    if isinstance(ref, KnowledgeBase):
        return ref
    if not isinstance(ref, str) or not ref.strip():
        raise ConfigurationError(
            f"A knowledge base is named by its id or name, not {ref!r}",
            setting=setting,
            hint="pass an id, a name, or a KnowledgeBase from list_knowledge()",
        )
    if bases is None:
        raise _NeedList
    found = match_knowledge(ref, bases)
    if found is not None:
        return found
    if not fresh:
        raise _NeedList
    raise _not_found(ref.strip(), bases, setting)


def _file_item(ref: Any, bases: Sequence[KnowledgeBase] | None, *, fresh: bool) -> dict[str, Any]:
    if isinstance(ref, UploadedFile):
        return {"type": "file", "id": ref.id}
    if isinstance(ref, KnowledgeBase):
        return {"type": "collection", "id": ref.id}
    if isinstance(ref, Mapping):
        if not isinstance(ref.get("type"), str) or not ref["type"]:
            # The server skips an item without a type in silence: the answer has no sources.
            raise ConfigurationError(
                f"A files item needs a 'type' ('file', 'collection', ...): {dict(ref)!r}",
                setting=FILES_SETTING,
                hint='pass {"type": "file", "id": ...} or {"type": "collection", "id": ...}',
            )
        return dict(ref)  # Open WebUI's own item: sent as given (its types keep growing)
    if isinstance(ref, str) and ref.strip():
        text = ref.strip()
        if bases is None:
            raise _NeedList
        found = match_knowledge(text, bases)
        if found is not None:
            return {"type": "collection", "id": found.id}
        if _UUID.fullmatch(text):
            return {"type": "file", "id": text}  # not a knowledge base: a file's id
        if not fresh:
            raise _NeedList
        raise _not_found(text, bases, FILES_SETTING)
    raise ConfigurationError(
        f"files= takes file ids, knowledge base ids or names, and Open WebUI items, not {ref!r}",
        setting=FILES_SETTING,
        hint="pass e.g. files=['Team Handbook', '<file id>', {'type': 'file', 'id': ...}]",
    )


def file_items(
    files: FilesArg, bases: Sequence[KnowledgeBase] | None = None, *, fresh: bool = True
) -> list[dict[str, Any]]:
    """A chat's `files=` argument as Open WebUI's `files` items.

    `files` is one reference or a list of them:
    - a mapping is an Open WebUI item (`{"type": "file"|"collection"|..., "id": ...}`, perhaps
      with `"context": "full"`) and is sent as given;
    - an `UploadedFile` is `{"type": "file"}`, a `KnowledgeBase` `{"type": "collection"}`;
    - a string is a knowledge base's id or name (as `match_knowledge` reads it), else, when it
      is a UUID, a file's id; anything else raises KnowledgeNotFoundError with suggestions.

    `bases` is the knowledge list known so far (None: not fetched). Only strings need it; with
    `fresh=False` a string it cannot decide raises `_NeedList` so the caller fetches it once.
    """
    if files is None:
        return []
    refs: Sequence[Any] = (
        [files] if isinstance(files, (str, Mapping, UploadedFile, KnowledgeBase)) else files
    )
    if not isinstance(refs, Sequence):
        raise ConfigurationError(
            f"files= takes a list, not {type(files).__name__}",
            setting=FILES_SETTING,
            hint="pass files=[...] (file ids, knowledge base names or ids, or Open WebUI items)",
        )
    return [_file_item(ref, bases, fresh=fresh) for ref in refs]


# -- the knowledge list, cached per connection ------------------------------------------------


class _KnowledgeCache:
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


_caches: weakref.WeakKeyDictionary[Connection, _KnowledgeCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache(connection: Connection) -> _KnowledgeCache:
    with _caches_lock:
        cache = _caches.get(connection)
        if cache is None:
            cache = _caches[connection] = _KnowledgeCache()
        return cache


# -- waiting for processing: the plan, without I/O --------------------------------------------


class _Wait:
    """When to ask again for a file's status, and when to switch to the server's stream."""

    def __init__(self, file: UploadedFile, timeout: float) -> None:
        if timeout <= 0:
            raise ConfigurationError(
                f"The processing timeout must be positive, not {timeout!r}", setting="timeout"
            )
        self.file = file
        self.timeout = timeout
        self.started = time.monotonic()
        self.streamable = True  # False once the server answered the stream request with JSON

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return self.timeout - self.elapsed()

    def stream_now(self) -> bool:
        return self.streamable and self.elapsed() >= STREAM_AFTER

    def pause(self) -> float:
        """Seconds to sleep before the next check; raises once the timeout has passed."""
        elapsed, remaining = self.elapsed(), self.remaining()
        if remaining <= 0:
            raise self.timed_out()
        return min(remaining, POLL_CAP, max(POLL_FIRST, POLL_SHARE * elapsed))

    def timed_out(self) -> KnowledgeError:
        name = repr(self.file.filename) if self.file.filename else f"file {self.file.id}"
        return KnowledgeError(
            f"Open WebUI was still processing {name} after {self.timeout:g} s",
            setting="timeout",
            hint="wait longer (timeout=...), or ask the admin whether processing is stuck; "
            "the file stays on the server (delete_file() removes it)",
        )

    def outcome(self, status: str, error: str | None) -> UploadedFile | None:
        """The finished record, None to keep waiting; raises for a failed processing."""
        if status == "completed":
            return replace(self.file, status=status, error=None)
        if status == "failed":
            raise explain_processing_failure(self.file.filename, self.file.id, error or "")
        if status == "not_found":
            raise KnowledgeNotFoundError(
                f"Open WebUI has no file {self.file.id!r}", knowledge=self.file.id, setting="file"
            )
        return None


def _status_of(payload: Any) -> tuple[str, str | None]:
    data = _mapping(payload)
    return _str(data.get("status")) or "pending", _str(data.get("error"))


class _StatusEvents:
    """The status stream's `data: {"status": ...}` events; a JSON body (a release that ignores
    `?stream=true`) reads as one event, and marks the stream as unsupported."""

    def __init__(self) -> None:
        self.partial = ""
        self.body: list[str] = []
        self.events = 0

    def feed(self, text: str) -> list[tuple[str, str | None]]:
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        found = []
        for line in (line.rstrip("\r") for line in lines):
            if line.startswith("data:"):
                self.events += 1
                with contextlib.suppress(ValueError):
                    found.append(_status_of(json.loads(line[5:])))
            elif not self.events:
                self.body.append(line)
        return found

    def finish(self) -> tuple[str, str | None] | None:
        """After the body ended: the status of a plain JSON answer, or None."""
        if self.events:
            return None
        try:
            return _status_of(json.loads("\n".join([*self.body, self.partial])))
        except ValueError:
            return None


def _status_path(file_id: str) -> str:
    return f"{FILES_PATH}{file_id}/process/status"


def _read_source(source: str | os.PathLike[str] | bytes, filename: str | None) -> tuple[bytes, str]:
    content, name = _read_content(source, filename)
    if not content:
        # Refused before sending: releases disagree on how they say it (0.12 names the empty
        # content, 0.6 only "Error uploading file"), and nothing can be extracted from nothing.
        raise KnowledgeError(
            f"{name!r} is empty: Open WebUI has nothing to extract from it",
            setting="file",
            hint="upload a file with text in it",
        )
    return content, name


def _read_content(
    source: str | os.PathLike[str] | bytes, filename: str | None
) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray)):
        if not filename:
            raise ConfigurationError(
                "Uploading bytes needs a filename (its extension tells the server how to read it)",
                setting="filename",
                hint="pass filename='notes.md'",
            )
        return bytes(source), filename
    path = Path(source)
    try:
        return path.read_bytes(), filename or path.name
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot read {str(path)!r}: {exc.strerror or exc}",
            setting="path",
            hint="pass the path of a readable file, or its content as bytes with filename=",
        ) from exc


# Up to this size a waited-for upload is processed inside the upload request: the file is
# usable when the answer arrives (no polling, no background queue), and processing a few MiB
# takes seconds, far below a reverse proxy's timeout. Larger files process in the background.
INLINE_PROCESSING_LIMIT = 4 * 1024 * 1024


def _processing(
    content: bytes, wait: bool, timeout: float
) -> tuple[dict[str, str] | None, float | None]:
    """Query and timeout for the upload: in-request processing for a small waited-for file."""
    if wait and len(content) <= INLINE_PROCESSING_LIMIT:
        return {"process_in_background": "false"}, timeout
    return None, None


def _upload_files(content: bytes, filename: str, content_type: str | None) -> dict[str, Any]:
    kind = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return {"file": (filename, content, kind)}


def _file_id(file: str | UploadedFile) -> str:
    if isinstance(file, UploadedFile):
        return file.id
    if isinstance(file, str) and file.strip():
        return file.strip()
    raise ConfigurationError(
        f"A file is named by its id, not {file!r}",
        setting="file",
        hint="pass the id from upload_file() (or the UploadedFile itself)",
    )


def _as_file(file: str | UploadedFile) -> UploadedFile:
    if isinstance(file, UploadedFile):
        return file
    return UploadedFile(id=_file_id(file), filename=None, status="pending")


def _search_refs(
    knowledges: KnowledgeRef | Sequence[KnowledgeRef], query: str, k: int
) -> list[KnowledgeRef]:
    """The bases to search, after checking the arguments (nothing is sent when one is wrong)."""
    refs = [knowledges] if isinstance(knowledges, (str, KnowledgeBase)) else list(knowledges)
    if not refs:
        raise ConfigurationError(
            "search_knowledge needs at least one knowledge base", setting=KNOWLEDGE_SETTING
        )
    if not isinstance(query, str) or not query.strip():
        raise ConfigurationError(f"The search query is empty ({query!r})", setting="query")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigurationError(f"k is the number of chunks to return, not {k!r}", setting="k")
    return refs


# -- the client methods -----------------------------------------------------------------------


class KnowledgeMethods:
    """Files and knowledge bases, for `OpenWebUIClient` (which provides the attributes)."""

    sender: Sender
    settings: Settings
    connection: Connection

    # -- knowledge list and names ------------------------------------------------------------
    def list_knowledge(self) -> list[KnowledgeBase]:
        """Every knowledge base this key's user may read (all pages), cached for name lookups."""
        bases: list[KnowledgeBase] = []
        page = 1
        while True:
            payload = self.sender.request_json(
                "GET", KNOWLEDGE_PATH + "/", params={"page": str(page)}
            )
            found, total = read_knowledge_list(payload, self.connection.url(KNOWLEDGE_PATH))
            bases += found
            if total is None or not found or len(bases) >= total:
                break
            page += 1
        _cache(self.connection).store(bases)
        return bases

    async def alist_knowledge(self) -> list[KnowledgeBase]:
        """The async twin of `list_knowledge`."""
        bases: list[KnowledgeBase] = []
        page = 1
        while True:
            payload = await self.sender.arequest_json(
                "GET", KNOWLEDGE_PATH + "/", params={"page": str(page)}
            )
            found, total = read_knowledge_list(payload, self.connection.url(KNOWLEDGE_PATH))
            bases += found
            if total is None or not found or len(bases) >= total:
                break
            page += 1
        _cache(self.connection).store(bases)
        return bases

    def resolve_knowledge(self, knowledge: KnowledgeRef) -> KnowledgeBase:
        """The knowledge base an id or name means; the list costs a request only when the cached
        one (if any) does not know the name. KnowledgeNotFoundError with suggestions otherwise."""
        try:
            return _resolve_ref(
                knowledge, _cache(self.connection).bases, fresh=False, setting=KNOWLEDGE_SETTING
            )
        except _NeedList:
            bases = self.list_knowledge()
        return _resolve_ref(knowledge, bases, fresh=True, setting=KNOWLEDGE_SETTING)

    async def aresolve_knowledge(self, knowledge: KnowledgeRef) -> KnowledgeBase:
        """The async twin of `resolve_knowledge`."""
        try:
            return _resolve_ref(
                knowledge, _cache(self.connection).bases, fresh=False, setting=KNOWLEDGE_SETTING
            )
        except _NeedList:
            bases = await self.alist_knowledge()
        return _resolve_ref(knowledge, bases, fresh=True, setting=KNOWLEDGE_SETTING)

    def resolve_files(self, files: FilesArg) -> list[dict[str, Any]]:
        """`files=` as Open WebUI's items (see `file_items`): raw items and records cost no
        request, strings at most one knowledge list request (then cached)."""
        try:
            return file_items(files, _cache(self.connection).bases, fresh=False)
        except _NeedList:
            return file_items(files, self.list_knowledge(), fresh=True)

    async def aresolve_files(self, files: FilesArg) -> list[dict[str, Any]]:
        """The async twin of `resolve_files`."""
        try:
            return file_items(files, _cache(self.connection).bases, fresh=False)
        except _NeedList:
            return file_items(files, await self.alist_knowledge(), fresh=True)

    def _prepare_files(self, body: dict[str, Any]) -> None:
        """A chat body's `files` as Open WebUI's items, in place (dropped when empty)."""
        if "files" in body:
            body["files"] = self.resolve_files(body["files"])
            if not body["files"]:
                del body["files"]

    async def _aprepare_files(self, body: dict[str, Any]) -> None:
        """The async twin of `_prepare_files`."""
        if "files" in body:
            body["files"] = await self.aresolve_files(body["files"])
            if not body["files"]:
                del body["files"]

    # -- files -------------------------------------------------------------------------------
    def upload_file(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        wait: bool = True,
        timeout: float = PROCESS_TIMEOUT,
    ) -> UploadedFile:
        """Upload a file (a path, or bytes with `filename`) and, unless `wait=False`, wait up to
        `timeout` seconds for the server to process it. KnowledgeError if processing fails."""
        content, name = _read_source(source, filename)
        params, request_timeout = _processing(content, wait, timeout)
        payload = self.sender.request_json(
            "POST",
            FILES_PATH,
            params=params,
            timeout=request_timeout,
            files=_upload_files(content, name, content_type),
            retry_statuses=UPLOAD_RETRY_STATUSES,
            diagnose=_rejected_file(name, None, None),
        )
        record = read_file_record(payload, self.connection.url(FILES_PATH))
        return self.wait_for_file(record, timeout=timeout) if wait else record

    async def aupload_file(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        wait: bool = True,
        timeout: float = PROCESS_TIMEOUT,
    ) -> UploadedFile:
        """The async twin of `upload_file`."""
        content, name = await asyncio.to_thread(_read_source, source, filename)
        params, request_timeout = _processing(content, wait, timeout)
        payload = await self.sender.arequest_json(
            "POST",
            FILES_PATH,
            params=params,
            timeout=request_timeout,
            files=_upload_files(content, name, content_type),
            retry_statuses=UPLOAD_RETRY_STATUSES,
            diagnose=_rejected_file(name, None, None),
        )
        record = read_file_record(payload, self.connection.url(FILES_PATH))
        return await self.await_file(record, timeout=timeout) if wait else record

    def wait_for_file(
        self, file: str | UploadedFile, *, timeout: float = PROCESS_TIMEOUT
    ) -> UploadedFile:
        """The file once processed (no request when the record says so already); KnowledgeError
        when its processing failed or did not finish within `timeout` seconds."""
        wait = _Wait(_as_file(file), timeout)
        done = wait.outcome(wait.file.status, wait.file.error)
        missing = _missing("file", wait.file.id, "file")
        while done is None:
            if wait.stream_now():
                done = self._stream_status(wait, missing)
                continue
            payload = self.sender.request_json(
                "GET",
                _status_path(wait.file.id),
                timeout=max(wait.remaining(), 0.1),
                diagnose=missing,
            )
            status, error = _status_of(payload)
            if status == "failed" and error is None:
                error = self._failure_reason(wait.file.id, missing)
            done = wait.outcome(status, error)
            if done is None:
                time.sleep(wait.pause())
        return done

    async def await_file(
        self, file: str | UploadedFile, *, timeout: float = PROCESS_TIMEOUT
    ) -> UploadedFile:
        """The async twin of `wait_for_file`."""
        wait = _Wait(_as_file(file), timeout)
        done = wait.outcome(wait.file.status, wait.file.error)
        missing = _missing("file", wait.file.id, "file")
        while done is None:
            if wait.stream_now():
                done = await self._astream_status(wait, missing)
                continue
            payload = await self.sender.arequest_json(
                "GET",
                _status_path(wait.file.id),
                timeout=max(wait.remaining(), 0.1),
                diagnose=missing,
            )
            status, error = _status_of(payload)
            if status == "failed" and error is None:
                error = await self._afailure_reason(wait.file.id, missing)
            done = wait.outcome(status, error)
            if done is None:
                await asyncio.sleep(wait.pause())
        return done

    def _failure_reason(self, file_id: str, missing: Diagnose) -> str | None:
        # The plain status leaves the reason out; the file record has it.
        payload = self.sender.request_json("GET", FILES_PATH + file_id, diagnose=missing)
        return read_file_record(payload).error

    async def _afailure_reason(self, file_id: str, missing: Diagnose) -> str | None:
        payload = await self.sender.arequest_json("GET", FILES_PATH + file_id, diagnose=missing)
        return read_file_record(payload).error

    def _stream_status(self, wait: _Wait, missing: Diagnose) -> UploadedFile | None:
        """Follow the server's status stream until the file is done or the time is up."""
        events = _StatusEvents()
        texts = self.sender.stream_text(
            _status_path(wait.file.id),
            params={"stream": "true"},
            timeout=max(min(wait.remaining(), self.settings.timeout), 0.1),
            diagnose=missing,
        )
        with contextlib.closing(texts):
            for text in texts:
                for status, error in events.feed(text):
                    done = wait.outcome(status, error)
                    if done is not None:
                        return done
                if wait.remaining() <= 0:
                    raise wait.timed_out()
        return self._stream_ended(wait, events)

    async def _astream_status(self, wait: _Wait, missing: Diagnose) -> UploadedFile | None:
        """The async twin of `_stream_status`."""
        events = _StatusEvents()
        texts = self.sender.astream_text(
            _status_path(wait.file.id),
            params={"stream": "true"},
            timeout=max(min(wait.remaining(), self.settings.timeout), 0.1),
            diagnose=missing,
        )
        async with contextlib.aclosing(texts):
            async for text in texts:
                for status, error in events.feed(text):
                    done = wait.outcome(status, error)
                    if done is not None:
                        return done
                if wait.remaining() <= 0:
                    raise wait.timed_out()
        return self._stream_ended(wait, events)

    @staticmethod
    def _stream_ended(wait: _Wait, events: _StatusEvents) -> UploadedFile | None:
        # A stream that ends undecided (or a release answering JSON) leaves the rest to polling.
        wait.streamable = False
        plain = events.finish()
        return wait.outcome(*plain) if plain is not None else None

    def delete_file(self, file: str | UploadedFile) -> None:
        """Delete a file (and its chunks, also from the knowledge bases holding it)."""
        file_id = _file_id(file)
        self.sender.request_json(
            "DELETE", FILES_PATH + file_id, diagnose=_missing("file", file_id, "file")
        )

    async def adelete_file(self, file: str | UploadedFile) -> None:
        """The async twin of `delete_file`."""
        file_id = _file_id(file)
        await self.sender.arequest_json(
            "DELETE", FILES_PATH + file_id, diagnose=_missing("file", file_id, "file")
        )

    # -- knowledge bases ---------------------------------------------------------------------
    def create_knowledge(
        self, name: str, *, description: str = "", exist_ok: bool = False
    ) -> KnowledgeBase:
        """Create a knowledge base (names need not be unique: the id identifies it). With
        `exist_ok`, the one base already named `name` is returned instead, if there is one."""
        if exist_ok and (found := existing_knowledge(name, self.list_knowledge())) is not None:
            return found
        payload = self.sender.request_json(
            "POST", KNOWLEDGE_PATH + "/create", {"name": name, "description": description}
        )
        base = read_knowledge(payload, self.connection.url(KNOWLEDGE_PATH + "/create"))
        _cache(self.connection).add(base)
        return base

    async def acreate_knowledge(
        self, name: str, *, description: str = "", exist_ok: bool = False
    ) -> KnowledgeBase:
        """The async twin of `create_knowledge`."""
        if (
            exist_ok
            and (found := existing_knowledge(name, await self.alist_knowledge())) is not None
        ):
            return found
        payload = await self.sender.arequest_json(
            "POST", KNOWLEDGE_PATH + "/create", {"name": name, "description": description}
        )
        base = read_knowledge(payload, self.connection.url(KNOWLEDGE_PATH + "/create"))
        _cache(self.connection).add(base)
        return base

    def add_file_to_knowledge(
        self,
        knowledge: KnowledgeRef,
        file: str | UploadedFile,
        *,
        timeout: float = PROCESS_TIMEOUT,
    ) -> KnowledgeBase:
        """Add a file to a knowledge base, once the file is processed (waited for up to
        `timeout` seconds); returns the base with its file ids."""
        base = self.resolve_knowledge(knowledge)
        ready = self.wait_for_file(file, timeout=timeout)
        path = f"{KNOWLEDGE_PATH}/{base.id}/file/add"
        payload = self.sender.request_json(
            "POST", path, {"file_id": ready.id}, diagnose=self._add_diagnosis(base, ready)
        )
        updated = read_knowledge(payload, self.connection.url(path))
        _cache(self.connection).add(updated)
        return updated

    async def aadd_file_to_knowledge(
        self,
        knowledge: KnowledgeRef,
        file: str | UploadedFile,
        *,
        timeout: float = PROCESS_TIMEOUT,
    ) -> KnowledgeBase:
        """The async twin of `add_file_to_knowledge`."""
        base = await self.aresolve_knowledge(knowledge)
        ready = await self.await_file(file, timeout=timeout)
        path = f"{KNOWLEDGE_PATH}/{base.id}/file/add"
        payload = await self.sender.arequest_json(
            "POST", path, {"file_id": ready.id}, diagnose=self._add_diagnosis(base, ready)
        )
        updated = read_knowledge(payload, self.connection.url(path))
        _cache(self.connection).add(updated)
        return updated

    @staticmethod
    def _add_diagnosis(base: KnowledgeBase, file: UploadedFile) -> Diagnose:
        # "Not found" here is the base (the file was just found processed); a 400 about the
        # content ("The content provided is empty") is the file's.
        return _rejected_file(
            file.filename, file.id, _missing("knowledge base", base.id, KNOWLEDGE_SETTING)
        )

    def delete_knowledge(self, knowledge: KnowledgeRef) -> None:
        """Delete a knowledge base (its files stay on the server)."""
        base = self.resolve_knowledge(knowledge)
        self.sender.request_json(
            "DELETE",
            f"{KNOWLEDGE_PATH}/{base.id}/delete",
            diagnose=_missing("knowledge base", base.id, KNOWLEDGE_SETTING),
        )
        _cache(self.connection).drop(base.id)

    async def adelete_knowledge(self, knowledge: KnowledgeRef) -> None:
        """The async twin of `delete_knowledge`."""
        base = await self.aresolve_knowledge(knowledge)
        await self.sender.arequest_json(
            "DELETE",
            f"{KNOWLEDGE_PATH}/{base.id}/delete",
            diagnose=_missing("knowledge base", base.id, KNOWLEDGE_SETTING),
        )
        _cache(self.connection).drop(base.id)

    # -- retrieval ---------------------------------------------------------------------------
    def search_knowledge(
        self, knowledges: KnowledgeRef | Sequence[KnowledgeRef], query: str, *, k: int = 4
    ) -> tuple[Citation, ...]:
        """The `k` chunks of these knowledge bases closest to `query`, best first, without a
        chat (Open WebUI's retrieval as the chat would run it)."""
        refs = _search_refs(knowledges, query, k)
        bases = [self.resolve_knowledge(ref) for ref in refs]
        payload = self.sender.request_json(
            "POST", QUERY_PATH, {"collection_names": [b.id for b in bases], "query": query, "k": k}
        )
        return citations_from_query(payload, bases, self.connection.url(QUERY_PATH))

    async def asearch_knowledge(
        self, knowledges: KnowledgeRef | Sequence[KnowledgeRef], query: str, *, k: int = 4
    ) -> tuple[Citation, ...]:
        """The async twin of `search_knowledge`."""
        refs = _search_refs(knowledges, query, k)
        bases = [await self.aresolve_knowledge(ref) for ref in refs]
        payload = await self.sender.arequest_json(
            "POST", QUERY_PATH, {"collection_names": [b.id for b in bases], "query": query, "k": k}
        )
        return citations_from_query(payload, bases, self.connection.url(QUERY_PATH))
