"""Waiting for a file's processing, as a plan without I/O: when to ask again, when to follow
the server's status stream, and what its answers mean. And the upload's own decisions."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

from openwebui_adapters._shapes import mapping, text
from openwebui_adapters.errors import ConfigurationError, KnowledgeError, KnowledgeNotFoundError

from ._failures import KNOWLEDGE_SETTING, explain_processing_failure
from ._records import KnowledgeBase, KnowledgeRef, UploadedFile

__all__ = [
    "FILES_PATH",
    "INLINE_PROCESSING_LIMIT",
    "POLL_CAP",
    "POLL_FIRST",
    "POLL_SHARE",
    "PROCESS_TIMEOUT",
    "STREAM_AFTER",
    "UploadOptions",
    "Wait",
    "as_file",
    "file_id",
    "processing",
    "read_source",
    "search_refs",
    "status_of",
    "status_path",
    "upload_files",
]

FILES_PATH = "/api/v1/files/"
PROCESS_TIMEOUT = 300.0  # s: a long PDF takes minutes on a busy server
POLL_FIRST = 0.005  # s: a short text is processed in tens of milliseconds
POLL_SHARE = 0.1  # each pause is at most this share of the time waited so far
POLL_CAP = 1.0  # s
# From here on the server's status stream (one check per second) is as prompt as polling.
STREAM_AFTER = 10.0


class UploadOptions(TypedDict, total=False):
    """How a file is uploaded: `filename` (needed for bytes; its extension tells the server how
    to read it), `content_type`, `wait` for processing (default True), `timeout` for it (300 s)."""

    filename: str | None
    content_type: str | None
    wait: bool
    timeout: float


class Wait:
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

    def outcome(self, status: str | None, error: str | None) -> UploadedFile | None:
        """The finished record, None to keep waiting (no status yet, or one still running);
        raises for a failed processing."""
        if status == "completed":
            return replace(self.file, status=status, error=None)
        if status == "failed":
            raise explain_processing_failure(self.file.filename, self.file.id, error or "")
        if status == "not_found":
            raise KnowledgeNotFoundError(
                f"Open WebUI has no file {self.file.id!r}", knowledge=self.file.id, setting="file"
            )
        return None


def status_of(payload: Any) -> tuple[str | None, str | None]:
    """(status, error) from a status answer or event, None for what it leaves out."""
    data = mapping(payload)
    return text(data.get("status")), text(data.get("error"))


def status_path(ref: str) -> str:
    """Where a file's processing status is asked (`?stream=true`: as events)."""
    return f"{FILES_PATH}{ref}/process/status"


def read_source(source: str | os.PathLike[str] | bytes, filename: str | None) -> tuple[bytes, str]:
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
            f"Cannot read {str(path)!r}: {exc.strerror}",  # the OS's words; the path is named
            setting="path",
            hint="pass the path of a readable file, or its content as bytes with filename=",
        ) from exc


# Up to this size a waited-for upload is processed inside the upload request: the file is
# usable when the answer arrives (no polling, no background queue), and processing a few MiB
# takes seconds, far below a reverse proxy's timeout. Larger files process in the background.
INLINE_PROCESSING_LIMIT = 4 * 1024 * 1024


def processing(
    content: bytes, wait: bool, timeout: float
) -> tuple[dict[str, str] | None, float | None]:
    """Query and timeout for the upload: in-request processing for a small waited-for file."""
    if wait and len(content) <= INLINE_PROCESSING_LIMIT:
        return {"process_in_background": "false"}, timeout
    return None, None


def upload_files(content: bytes, filename: str, content_type: str | None) -> dict[str, Any]:
    """The multipart file; without a content type httpx names one from the filename
    (application/octet-stream when it cannot)."""
    return {"file": (filename, content, content_type)}


def file_id(file: str | UploadedFile) -> str:
    if isinstance(file, UploadedFile):
        return file.id
    if isinstance(file, str) and file.strip():
        return file.strip()
    raise ConfigurationError(
        f"A file is named by its id, not {file!r}",
        setting="file",
        hint="pass the id from upload_file() (or the UploadedFile itself)",
    )


def as_file(file: str | UploadedFile) -> UploadedFile:
    if isinstance(file, UploadedFile):
        return file
    return UploadedFile(id=file_id(file), filename=None, status="pending")


def search_refs(
    knowledge: KnowledgeRef | Sequence[KnowledgeRef], query: str, k: int
) -> list[KnowledgeRef]:
    """The bases to search, after checking the arguments (nothing is sent when one is wrong)."""
    refs = [knowledge] if isinstance(knowledge, (str, KnowledgeBase)) else list(knowledge)
    if not refs:
        raise ConfigurationError(
            "search_knowledge needs at least one knowledge base", setting=KNOWLEDGE_SETTING
        )
    if not isinstance(query, str) or not query.strip():
        raise ConfigurationError(f"The search query is empty ({query!r})", setting="query")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigurationError(f"k is the number of chunks to return, not {k!r}", setting="k")
    return refs
