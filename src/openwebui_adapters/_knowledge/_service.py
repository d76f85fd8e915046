"""Files and knowledge bases as plans: upload and wait, knowledge bases, retrieval, `files=`.

Each method returns a plan (see `_plan`); the client runs it with its sync or async driver, so
every exchange is written once. The knowledge list is fetched once per connection and cached,
like the model list; raw items and records in `files=` cost no request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import httpx

from openwebui_adapters._plan import Blocking, Close, Plan, Read, Sleep
from openwebui_adapters._replies import Citation
from openwebui_adapters._sending import Diagnose, Sender, is_event_stream
from openwebui_adapters._sse import SSEDecoder

from ._failures import KNOWLEDGE_SETTING, missing, rejected_file
from ._names import NeedList, existing_knowledge, file_items, resolve_ref
from ._records import (
    FilesArg,
    KnowledgeBase,
    KnowledgeCache,
    KnowledgeRef,
    UploadedFile,
    citations_from_query,
    read_file_record,
    read_knowledge,
    read_knowledge_list,
)
from ._waiting import (
    FILES_PATH,
    PROCESS_TIMEOUT,
    Wait,
    as_file,
    file_id,
    processing,
    read_source,
    search_refs,
    status_of,
    status_path,
    upload_files,
)

__all__ = ["KNOWLEDGE_PATH", "QUERY_PATH", "UPLOAD_RETRY_STATUSES", "Knowledge"]

KNOWLEDGE_PATH = "/api/v1/knowledge"
QUERY_PATH = "/api/v1/retrieval/query/collection"
# An upload the server may have stored already is not sent twice: only "not now" is retried.
UPLOAD_RETRY_STATUSES = frozenset({429, 503})


class Knowledge:
    """The knowledge exchanges of one client, over its sender and its connection's cache."""

    def __init__(self, sender: Sender, cache: KnowledgeCache, read_timeout: float) -> None:
        self.sender = sender
        self.cache = cache
        self.read_timeout = read_timeout

    # -- knowledge list and names ----------------------------------------------------------
    def bases(self) -> Plan[list[KnowledgeBase]]:
        """Every knowledge base this key's user may read (all pages), cached for name lookups."""
        bases: list[KnowledgeBase] = []
        page = 1
        url = self.sender.connection.url(KNOWLEDGE_PATH)
        while True:
            payload = yield from self.sender.json(
                "GET", KNOWLEDGE_PATH + "/", params={"page": str(page)}
            )
            found, total = read_knowledge_list(payload, url)
            bases += found
            if total is None or not found or len(bases) >= total:
                break
            page += 1
        self.cache.store(bases)
        return bases

    def resolve(self, knowledge: KnowledgeRef) -> Plan[KnowledgeBase]:
        """The knowledge base an id or name means; the list costs a request only when the cached
        one (if any) does not know the name. KnowledgeNotFoundError with suggestions otherwise."""
        try:
            return resolve_ref(knowledge, self.cache.bases, fresh=False, setting=KNOWLEDGE_SETTING)
        except NeedList:
            bases = yield from self.bases()
        return resolve_ref(knowledge, bases, fresh=True, setting=KNOWLEDGE_SETTING)

    def resolve_files(self, files: FilesArg) -> Plan[list[dict[str, Any]]]:
        """`files=` as Open WebUI's items (see `file_items`): raw items and records cost no
        request, strings at most one knowledge list request (then cached)."""
        try:
            return file_items(files, self.cache.bases, fresh=False)
        except NeedList:
            bases = yield from self.bases()
        return file_items(files, bases, fresh=True)

    def prepare_files(self, body: dict[str, Any]) -> Plan[None]:
        """A chat body's `files` as Open WebUI's items, in place (dropped when empty)."""
        if "files" in body:
            body["files"] = yield from self.resolve_files(body["files"])
            if not body["files"]:
                del body["files"]

    # -- files -----------------------------------------------------------------------------
    def upload_file(
        self,
        source: Any,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        wait: bool = True,
        timeout: float = PROCESS_TIMEOUT,
    ) -> Plan[UploadedFile]:
        """Upload a file (a path, or bytes with `filename`) and, unless `wait=False`, wait up to
        `timeout` seconds for the server to process it. KnowledgeError if processing fails."""
        content, name = yield Blocking(partial(read_source, source, filename))
        params, request_timeout = processing(content, wait, timeout)
        payload = yield from self.sender.json(
            "POST",
            FILES_PATH,
            params=params,
            timeout=request_timeout,
            files=upload_files(content, name, content_type),
            retry_statuses=UPLOAD_RETRY_STATUSES,
            diagnose=rejected_file(name, None, None),
        )
        record = read_file_record(payload, self.sender.connection.url(FILES_PATH))
        return (yield from self.wait_for_file(record, timeout=timeout)) if wait else record

    def wait_for_file(
        self, file: str | UploadedFile, *, timeout: float = PROCESS_TIMEOUT
    ) -> Plan[UploadedFile]:
        """The file once processed (no request when the record says so already); KnowledgeError
        when its processing failed or did not finish within `timeout` seconds."""
        wait = Wait(as_file(file), timeout)
        done = wait.outcome(wait.file.status, wait.file.error)
        not_found = missing("file", wait.file.id, "file")
        while done is None:
            if wait.stream_now():
                done = yield from self._follow_status(wait, not_found)
                continue
            payload = yield from self.sender.json(
                "GET",
                status_path(wait.file.id),
                timeout=max(wait.remaining(), 0.1),
                diagnose=not_found,
            )
            status, error = status_of(payload)
            if status == "failed" and error is None:
                # The plain status leaves the reason out; the file record has it.
                record = yield from self.sender.json(
                    "GET", FILES_PATH + wait.file.id, diagnose=not_found
                )
                error = read_file_record(record).error
            done = wait.outcome(status, error)
            if done is None:
                yield Sleep(wait.pause())
        return done

    def _follow_status(self, wait: Wait, not_found: Diagnose) -> Plan[UploadedFile | None]:
        """Follow the server's status stream until the file is done or the time is up; None
        (and polling from then on) when the server answers without a stream or it ends."""
        response = yield from self.sender.open_events(
            status_path(wait.file.id),
            params={"stream": "true"},
            timeout=max(min(wait.remaining(), self.read_timeout), 0.1),
            diagnose=not_found,
        )
        wait.streamable = False  # whatever happens next, the rest is polling's
        if not is_event_stream(response):  # a release that answers JSON: one status
            return wait.outcome(*status_of(response.json()))
        decoder = SSEDecoder(str(response.request.url), chat=False)
        while True:
            try:
                text = yield Read(response)
            except httpx.RequestError:
                text = None  # a stream that breaks leaves the rest to polling
            if text is None:
                return None
            for event in decoder.feed_text(text):
                done = wait.outcome(*status_of(event))
                if done is not None:
                    yield Close(response)
                    return done
            if wait.remaining() <= 0:
                yield Close(response)
                raise wait.timed_out()

    def delete_file(self, file: str | UploadedFile) -> Plan[None]:
        """Delete a file (and its chunks, also from the knowledge bases holding it)."""
        ref = file_id(file)
        yield from self.sender.json(
            "DELETE", FILES_PATH + ref, diagnose=missing("file", ref, "file")
        )

    # -- knowledge bases -------------------------------------------------------------------
    def create(
        self, name: str, *, description: str = "", exist_ok: bool = False
    ) -> Plan[KnowledgeBase]:
        """Create a knowledge base; with `exist_ok`, the one of exactly that name if there is one
        (two of that name raise KnowledgeError). Names need not be unique: the id identifies."""
        if exist_ok:
            existing = existing_knowledge(name, (yield from self.bases()))
            if existing is not None:
                return existing
        path = KNOWLEDGE_PATH + "/create"
        payload = yield from self.sender.json(
            "POST", path, {"name": name, "description": description}
        )
        base = read_knowledge(payload, self.sender.connection.url(path))
        self.cache.add(base)
        return base

    def add_file(
        self, knowledge: KnowledgeRef, file: str | UploadedFile, *, timeout: float = PROCESS_TIMEOUT
    ) -> Plan[KnowledgeBase]:
        """Add a file to a knowledge base, once the file is processed (waited for up to
        `timeout` seconds); the base with its file ids."""
        base = yield from self.resolve(knowledge)
        ready = yield from self.wait_for_file(file, timeout=timeout)
        path = f"{KNOWLEDGE_PATH}/{base.id}/file/add"
        # "Not found" here is the base (the file was just found processed); a 400 about the
        # content ("The content provided is empty") is the file's.
        diagnose = rejected_file(
            ready.filename, ready.id, missing("knowledge base", base.id, KNOWLEDGE_SETTING)
        )
        payload = yield from self.sender.json(
            "POST", path, {"file_id": ready.id}, diagnose=diagnose
        )
        updated = read_knowledge(payload, self.sender.connection.url(path))
        self.cache.add(updated)
        return updated

    def delete(self, knowledge: KnowledgeRef) -> Plan[None]:
        """Delete a knowledge base (its files stay on the server)."""
        base = yield from self.resolve(knowledge)
        yield from self.sender.json(
            "DELETE",
            f"{KNOWLEDGE_PATH}/{base.id}/delete",
            diagnose=missing("knowledge base", base.id, KNOWLEDGE_SETTING),
        )
        self.cache.drop(base.id)

    # -- retrieval -------------------------------------------------------------------------
    def search(
        self, knowledge: KnowledgeRef | Sequence[KnowledgeRef], query: str, *, k: int = 4
    ) -> Plan[tuple[Citation, ...]]:
        """The `k` chunks of these knowledge bases closest to `query`, best first, without a
        chat (Open WebUI's retrieval as the chat would run it)."""
        bases = []
        for ref in search_refs(knowledge, query, k):
            bases.append((yield from self.resolve(ref)))
        body: Mapping[str, Any] = {
            "collection_names": [b.id for b in bases],
            "query": query,
            "k": k,
        }
        payload = yield from self.sender.json("POST", QUERY_PATH, body)
        return citations_from_query(payload, bases, self.sender.connection.url(QUERY_PATH))
