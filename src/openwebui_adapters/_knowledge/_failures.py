"""Who can fix a file the server could not process, and reading the server's "not found"
for a file or knowledge base: each a diagnosis the request plans try before the generic one."""

from __future__ import annotations

import re
from typing import Any

import httpx

from openwebui_adapters._diagnosis import server_detail
from openwebui_adapters._sending import Diagnose
from openwebui_adapters.errors import KnowledgeError, KnowledgeNotFoundError, OpenWebUIError

__all__ = ["KNOWLEDGE_SETTING", "explain_processing_failure", "missing", "rejected_file"]

KNOWLEDGE_SETTING = "knowledge"
# Open WebUI's ERROR_MESSAGES.NOT_FOUND, its answer for an id it does not have.
_NOT_FOUND = re.compile(r"could not find what you're looking for", re.IGNORECASE)
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


def missing(what: str, ref: str, setting: str) -> Diagnose:
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


def rejected_file(filename: str | None, file_id: str | None, also: Diagnose | None) -> Diagnose:
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
