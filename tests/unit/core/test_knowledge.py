"""Files and knowledge bases over a scripted Open WebUI: waits, failures, names, `files=`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient, _plan, _sending
from openwebui_adapters._knowledge import _names, _waiting
from openwebui_adapters._knowledge._failures import explain_processing_failure
from openwebui_adapters._knowledge._names import file_items, match_knowledge
from openwebui_adapters._knowledge._records import KnowledgeBase, UploadedFile
from openwebui_adapters._replies import Citation
from openwebui_adapters.errors import (
    ConfigurationError,
    KnowledgeError,
    KnowledgeNotFoundError,
    OpenWebUIError,
)
from samples import sample_response

FILE_ID = "11111111-2222-3333-4444-555555555555"
OTHER_FILE = "99999999-8888-7777-6666-555555555555"
KB_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
KB = {"id": KB_ID, "name": "Team Handbook", "description": "agreed", "file_count": 2}
USER = [{"role": "user", "content": "When are invoices due?"}]
NOT_FOUND = {"detail": "We could not find what you're looking for :/"}
EMPTY = (
    "The content provided is empty. Please ensure that there is text or data present before "
    "proceeding."
)


def record(status: str | None = "pending", error: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {} if status is None else {"status": status}
    if error is not None:
        data["error"] = error
    meta = {"name": "notes.md", "content_type": "text/markdown", "size": 12}
    return {"id": FILE_ID, "filename": "notes.md", "data": data, "meta": meta, "status": True}


def sse(*events: dict[str, Any]) -> httpx.Response:
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events)
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


class Server:
    """A scripted Open WebUI for files and knowledge; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses: list[str] = ["completed"]  # what successive status polls answer
        self.reason = "No module named 'ftfy'"
        self.bases: list[dict[str, Any]] = [dict(KB)]
        self.page_size = 30
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        override = self.routes.get((request.method, path))
        if override is not None:
            return override(request)
        if (request.method, path) == ("POST", "/api/v1/files/"):
            return httpx.Response(200, json=record())
        if path.endswith("/process/status"):
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            if request.url.params.get("stream") == "true":
                event = {"status": status}
                if status == "failed":
                    event["error"] = self.reason
                return sse(event)
            return httpx.Response(200, json={"status": status})
        if (request.method, path) == ("GET", f"/api/v1/files/{FILE_ID}"):
            return httpx.Response(200, json=record("failed", self.reason))
        if (request.method, path) == ("GET", "/api/v1/knowledge/"):
            page = int(request.url.params.get("page", "1"))
            items = self.bases[(page - 1) * self.page_size : page * self.page_size]
            return httpx.Response(200, json={"items": items, "total": len(self.bases)})
        if (request.method, path) == ("POST", "/api/v1/knowledge/create"):
            body = json.loads(request.content)
            created = {"id": "new-kb", **body, "files": None}
            self.bases.append(created)
            return httpx.Response(200, json=created)
        if path.endswith("/file/add"):
            file_id = json.loads(request.content)["file_id"]
            return httpx.Response(200, json={**KB, "files": [{"id": file_id}]})
        if request.method == "DELETE":
            return httpx.Response(200, json=True)
        if path == "/api/v1/retrieval/query/collection":
            return httpx.Response(
                200,
                json={
                    "distances": [[0.8, 0.7]],
                    "documents": [["Invoices are due in 30 days.", "The zebra sleeps."]],
                    "metadatas": [
                        [
                            {"file_id": FILE_ID, "name": "invoices.md", "source": "invoices.md"},
                            {"file_id": OTHER_FILE, "name": "zebra.txt"},
                        ]
                    ],
                },
            )
        if path == "/api/chat/completions":
            stream = json.loads(request.content).get("stream")
            return sample_response("chat_sources_stream" if stream else "chat_sources_nostream")
        return httpx.Response(404, json={"detail": "Not Found"})


@pytest.fixture
def server() -> Server:
    return Server()


def make_client(server: Server, **options: Any) -> OpenWebUIClient:
    return OpenWebUIClient(
        "http://owui.test", "sk-test", transport=httpx.MockTransport(server), **options
    )


# -- upload and wait -----------------------------------------------------------------------------


def test_upload_sends_the_file_as_multipart_and_waits_until_processed(server: Server) -> None:
    server.statuses = ["pending", "processing", "completed"]
    started = time.monotonic()
    uploaded = make_client(server).upload_file(b"# Notes\nhello", filename="notes.md")
    assert time.monotonic() - started < 0.5  # a few ms pauses, never a fixed second
    assert uploaded == UploadedFile(
        id=FILE_ID, filename="notes.md", status="completed", size=12, content_type="text/markdown"
    )
    assert uploaded.usable
    upload = server.requests[0]
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'filename="notes.md"' in upload.content
    assert b"Content-Type: text/markdown" in upload.content
    assert b"# Notes\nhello" in upload.content
    assert (
        server.paths()
        == ["POST /api/v1/files/"] + [f"GET /api/v1/files/{FILE_ID}/process/status"] * 3
    )


def test_upload_without_wait_returns_the_pending_record(server: Server) -> None:
    uploaded = make_client(server).upload_file(b"x", filename="notes.md", wait=False)
    assert (uploaded.status, uploaded.usable) == ("pending", False)
    assert server.paths() == ["POST /api/v1/files/"]


def test_upload_reads_a_path_and_names_the_file_after_it(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text("quarterly numbers")
    make_client(server).upload_file(path, wait=False)
    assert b'filename="report.txt"' in server.requests[0].content
    assert b"quarterly numbers" in server.requests[0].content


def test_bytes_without_a_filename_are_refused_before_sending(server: Server) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_client(server).upload_file(b"x")
    assert caught.value.setting == "filename"
    assert server.requests == []


def test_a_missing_path_names_it(server: Server, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"missing\.txt"):
        make_client(server).upload_file(tmp_path / "missing.txt")
    assert server.requests == []


def test_failed_processing_quotes_the_reason_and_names_the_admin(server: Server) -> None:
    server.statuses = ["pending", "failed"]
    with pytest.raises(KnowledgeError) as caught:
        make_client(server).upload_file(b"x", filename="notes.md")
    error = caught.value
    assert error.layer == "knowledge"
    assert "No module named 'ftfy'" in error.message
    assert "'notes.md'" in error.message
    assert "admin must install it (pip install ftfy)" in error.hint
    assert error.setting is None  # nothing the user can set
    # The plain status has no reason: the file record is read once for it.
    assert server.paths()[-1] == f"GET /api/v1/files/{FILE_ID}"


def test_an_empty_file_refused_at_upload_is_the_users_to_fix(server: Server) -> None:
    server.routes["POST", "/api/v1/files/"] = lambda _: httpx.Response(400, json={"detail": EMPTY})
    with pytest.raises(KnowledgeError) as caught:
        make_client(server).upload_file(b" \n", filename="blank.txt")  # no text in it
    assert caught.value.status_code == 400
    assert caught.value.setting == "file"
    assert "no text Open WebUI can extract" in caught.value.hint
    assert len(server.requests) == 1  # a refused upload is not retried


def test_an_upload_is_not_resent_after_a_server_error(server: Server) -> None:
    server.routes["POST", "/api/v1/files/"] = lambda _: httpx.Response(500, json={"detail": "x"})
    with pytest.raises(OpenWebUIError):
        make_client(server, max_retries=3).upload_file(b"x", filename="a.txt")
    assert len(server.requests) == 1  # the server may have stored it: no duplicate upload


def test_processing_that_outlasts_the_timeout_says_so(server: Server) -> None:
    server.statuses = ["pending"]
    with pytest.raises(KnowledgeError) as caught:
        make_client(server).upload_file(b"x", filename="notes.md", timeout=0.05)
    assert caught.value.setting == "timeout"
    assert "still processing 'notes.md' after 0.05 s" in caught.value.message


def test_a_processed_record_costs_no_request(server: Server) -> None:
    done = UploadedFile(id=FILE_ID, filename="a.txt", status="completed")
    assert make_client(server).wait_for_file(done) is not None
    assert server.requests == []


def test_an_unknown_file_is_not_found_without_walking_the_url(server: Server) -> None:
    server.routes["GET", f"/api/v1/files/{FILE_ID}/process/status"] = lambda _: httpx.Response(
        404, json=NOT_FOUND
    )
    with pytest.raises(KnowledgeNotFoundError) as caught:
        make_client(server).wait_for_file(FILE_ID)
    assert caught.value.setting == "file"
    assert server.paths() == [f"GET /api/v1/files/{FILE_ID}/process/status"]  # no /api/version


def test_long_waits_follow_the_servers_status_stream(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)
    stream = sse({"status": "pending"}, {"status": "processing"}, {"status": "completed"})
    server.routes["GET", f"/api/v1/files/{FILE_ID}/process/status"] = lambda _: stream
    done = make_client(server).wait_for_file(FILE_ID)
    assert done.status == "completed"
    assert len(server.requests) == 1
    assert server.requests[0].url.params["stream"] == "true"


def test_an_unknown_file_is_not_found_by_its_status_stream_with_no_poll_after(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)
    server.routes["GET", f"/api/v1/files/{FILE_ID}/process/status"] = lambda _: httpx.Response(
        404, json=NOT_FOUND
    )
    with pytest.raises(KnowledgeNotFoundError):
        make_client(server).wait_for_file(FILE_ID)
    assert [r.url.params.get("stream") for r in server.requests] == ["true"]


def test_a_failure_on_the_stream_carries_its_reason(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)
    server.statuses = ["failed"]
    server.reason = "The content provided is empty."
    with pytest.raises(KnowledgeError, match="content provided is empty") as caught:
        make_client(server).wait_for_file(FILE_ID)
    assert caught.value.setting == "file"
    assert len(server.requests) == 1  # the event holds the reason: no record fetched


def test_a_release_without_the_stream_falls_back_to_polling(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)
    answers = [httpx.Response(200, json={"status": "pending"})] * 2 + [
        httpx.Response(200, json={"status": "completed"})
    ]
    server.routes["GET", f"/api/v1/files/{FILE_ID}/process/status"] = lambda _: answers.pop(0)
    assert make_client(server).wait_for_file(FILE_ID).usable
    streamed = [r.url.params.get("stream") for r in server.requests]
    assert streamed == ["true", None, None]  # asked once, then plain polls


@pytest.mark.parametrize(
    ("elapsed", "timeout", "pause"),
    [(0.0, 60, 0.005), (0.02, 60, 0.005), (0.5, 60, 0.05), (4.0, 60, 0.4), (30.0, 60, 1.0)],
)
def test_pauses_grow_with_the_time_waited(
    monkeypatch: pytest.MonkeyPatch, elapsed: float, timeout: float, pause: float
) -> None:
    wait = _waiting.Wait(UploadedFile(id=FILE_ID, filename=None, status="pending"), timeout)
    monkeypatch.setattr(_waiting.time, "monotonic", lambda: wait.started + elapsed)
    assert wait.pause() == pytest.approx(pause)


def test_the_last_pause_ends_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    wait = _waiting.Wait(UploadedFile(id=FILE_ID, filename=None, status="pending"), 5.0)
    monkeypatch.setattr(_waiting.time, "monotonic", lambda: wait.started + 4.95)
    assert wait.pause() == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("reason", "setting", "hint"),
    [
        ("No module named 'pypdf'", None, "pip install pypdf"),
        ("No module named 'docx2txt.x'", None, "pip install docx2txt"),
        (EMPTY, "file", "no text"),
        ("File type exe is not allowed", "file", "upload a type the server extracts"),
        ("File is not a zip file", "file", "damaged"),
        ("Error generating embeddings: Connection refused", None, "embedding engine"),
        ("something odd", None, "server's reason is quoted"),
    ],
)
def test_each_failure_says_who_can_fix_it(reason: str, setting: str | None, hint: str) -> None:
    error = explain_processing_failure("a.pdf", FILE_ID, reason)
    assert reason in error.message
    assert error.setting == setting
    assert hint in error.hint


# -- knowledge bases and names -------------------------------------------------------------------


def test_list_reads_every_page(server: Server) -> None:
    server.bases = [{"id": f"kb-{i}", "name": f"Base {i}", "description": ""} for i in range(31)]
    bases = make_client(server).list_knowledge()
    assert [b.id for b in bases] == [f"kb-{i}" for i in range(31)]
    assert [r.url.params["page"] for r in server.requests] == ["1", "2"]


def test_list_accepts_the_bare_list_of_older_releases(server: Server) -> None:
    legacy = [{"id": KB_ID, "name": "Team Handbook", "data": {"file_ids": [FILE_ID]}}]
    server.routes["GET", "/api/v1/knowledge/"] = lambda _: httpx.Response(200, json=legacy)
    (base,) = make_client(server).list_knowledge()
    assert (base.file_ids, base.file_count) == ((FILE_ID,), 1)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "written", [KB_ID, "Team Handbook", "team handbook", "  TEAM   Handbook ", "team-handbook"]
)
def test_a_base_is_found_by_id_or_name_as_written(server: Server, written: str) -> None:
    client = make_client(server)
    assert client.resolve_knowledge(written).id == KB_ID
    assert client.resolve_knowledge(written).id == KB_ID
    assert server.paths() == ["GET /api/v1/knowledge/"]  # fetched once, then cached


def test_an_unknown_name_suggests_close_ones_after_one_fresh_list(server: Server) -> None:
    client = make_client(server)
    client.list_knowledge()
    with pytest.raises(KnowledgeNotFoundError) as caught:
        client.resolve_knowledge("Team Handbok")
    error = caught.value
    assert error.suggestions == ["Team Handbook"]
    assert error.setting == "knowledge"
    assert "did you mean 'Team Handbook'?" in str(error)
    assert server.paths() == ["GET /api/v1/knowledge/"] * 2  # the cached list, then a fresh one


def test_a_user_without_bases_is_told_so(server: Server) -> None:
    server.bases = []
    with pytest.raises(KnowledgeNotFoundError, match="sees none"):
        make_client(server).resolve_knowledge("Team Handbook")


def test_two_bases_of_one_name_need_the_id() -> None:
    bases = [KnowledgeBase(id="a", name="Docs"), KnowledgeBase(id="b", name="docs")]
    assert match_knowledge("Docs", bases) == bases[0]  # the exact name decides
    with pytest.raises(KnowledgeError, match="2 knowledge bases are named 'DOCS': a, b"):
        match_knowledge("DOCS", bases)


def test_a_created_base_is_known_without_listing_again(server: Server) -> None:
    client = make_client(server)
    client.list_knowledge()
    created = client.create_knowledge("Release Notes", description="what shipped")
    assert (created.id, created.name, created.description) == (
        "new-kb",
        "Release Notes",
        "what shipped",
    )
    assert json.loads(server.requests[-1].content) == {
        "name": "Release Notes",
        "description": "what shipped",
    }
    assert client.resolve_knowledge("release notes").id == "new-kb"
    assert len(server.requests) == 2


def test_exist_ok_returns_the_base_of_that_name_instead_of_a_second_one(server: Server) -> None:
    client = make_client(server)
    assert client.create_knowledge("Team Handbook", exist_ok=True).id == KB_ID
    assert server.paths() == ["GET /api/v1/knowledge/"]  # a fresh list, no create
    created = client.create_knowledge("team handbook", exist_ok=True)  # the exact name only
    assert created.id == "new-kb"
    assert server.paths()[-1] == "POST /api/v1/knowledge/create"


def test_exist_ok_with_two_bases_of_that_name_needs_the_id(server: Server) -> None:
    server.bases.append({**KB, "id": "kb-2"})
    with pytest.raises(
        KnowledgeError, match=f"2 knowledge bases are named 'Team Handbook': {KB_ID}, kb-2"
    ):
        make_client(server).create_knowledge("Team Handbook", exist_ok=True)
    assert "POST /api/v1/knowledge/create" not in server.paths()


def test_async_exist_ok_agrees_with_the_sync_method(server: Server) -> None:
    async def run() -> tuple[str, str]:
        client = make_client(server)
        found = await client.acreate_knowledge("Team Handbook", exist_ok=True)
        created = await client.acreate_knowledge("Other", exist_ok=True)
        return found.id, created.id

    assert asyncio.run(run()) == (KB_ID, "new-kb")
    assert server.paths().count("POST /api/v1/knowledge/create") == 1


def test_a_deleted_base_is_forgotten(server: Server) -> None:
    client = make_client(server)
    client.delete_knowledge("Team Handbook")
    assert server.paths() == ["GET /api/v1/knowledge/", f"DELETE /api/v1/knowledge/{KB_ID}/delete"]
    server.bases = []
    with pytest.raises(KnowledgeNotFoundError):
        client.resolve_knowledge(KB_ID)


def test_adding_a_file_waits_for_its_processing_first(server: Server) -> None:
    server.statuses = ["pending", "completed"]
    base = make_client(server).add_file_to_knowledge("team handbook", FILE_ID)
    assert base.file_ids == (FILE_ID,)
    assert server.paths() == [
        "GET /api/v1/knowledge/",
        f"GET /api/v1/files/{FILE_ID}/process/status",
        f"GET /api/v1/files/{FILE_ID}/process/status",
        f"POST /api/v1/knowledge/{KB_ID}/file/add",
    ]
    assert json.loads(server.requests[-1].content) == {"file_id": FILE_ID}


def test_adding_an_empty_file_is_a_clear_knowledge_error(server: Server) -> None:
    path = f"/api/v1/knowledge/{KB_ID}/file/add"
    server.routes["POST", path] = lambda _: httpx.Response(400, json={"detail": EMPTY})
    done = UploadedFile(id=FILE_ID, filename="blank.pdf", status="completed")
    with pytest.raises(KnowledgeError) as caught:
        make_client(server).add_file_to_knowledge(KnowledgeBase(id=KB_ID, name="x"), done)
    assert "'blank.pdf'" in caught.value.message
    assert "no text Open WebUI can extract" in caught.value.hint
    assert server.paths() == [f"POST {path}"]  # a record and a base cost no lookups


def test_adding_to_a_vanished_base_is_not_found(server: Server) -> None:
    path = f"/api/v1/knowledge/{KB_ID}/file/add"
    server.routes["POST", path] = lambda _: httpx.Response(400, json=NOT_FOUND)
    done = UploadedFile(id=FILE_ID, filename="a.txt", status="completed")
    with pytest.raises(KnowledgeNotFoundError) as caught:
        make_client(server).add_file_to_knowledge(KnowledgeBase(id=KB_ID, name="x"), done)
    assert caught.value.setting == "knowledge"


def test_deleting_a_file_sends_its_id(server: Server) -> None:
    make_client(server).delete_file(UploadedFile(id=FILE_ID, filename=None, status="completed"))
    assert server.paths() == [f"DELETE /api/v1/files/{FILE_ID}"]


# -- search --------------------------------------------------------------------------------------


def test_search_returns_citations_best_first(server: Server) -> None:
    found = make_client(server).search_knowledge("Team Handbook", "invoices due", k=2)
    assert json.loads(server.requests[-1].content) == {
        "collection_names": [KB_ID],
        "query": "invoices due",
        "k": 2,
    }
    assert found[0] == Citation(
        document="Invoices are due in 30 days.",
        source_type="collection",
        source_id=KB_ID,
        source_name="Team Handbook",
        file_id=FILE_ID,
        file_name="invoices.md",
        distance=0.8,
        metadata={"file_id": FILE_ID, "name": "invoices.md", "source": "invoices.md"},
    )
    assert [c.file_name for c in found] == ["invoices.md", "zebra.txt"]


def test_search_over_several_bases_names_none_of_them(server: Server) -> None:
    bases = [KnowledgeBase(id="a", name="A"), KnowledgeBase(id="b", name="B")]
    found = make_client(server).search_knowledge(bases, "invoices")
    assert json.loads(server.requests[-1].content)["collection_names"] == ["a", "b"]
    assert {(c.source_type, c.source_id) for c in found} == {("collection", None)}


@pytest.mark.parametrize(
    ("bases", "query", "k", "setting"),
    [([], "q", 4, "knowledge"), ("x", " ", 4, "query"), ("x", "q", 0, "k")],
)
def test_search_checks_its_arguments_before_sending(
    server: Server, bases: Any, query: str, k: int, setting: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_client(server).search_knowledge(bases, query, k=k)
    assert caught.value.setting == setting
    assert server.requests == []


# -- files= --------------------------------------------------------------------------------------

BASES = [KnowledgeBase(id=KB_ID, name="Team Handbook")]


def test_raw_items_and_records_pass_without_the_list() -> None:
    raw = {"type": "file", "id": FILE_ID, "context": "full"}
    items = file_items(
        [raw, UploadedFile(id=OTHER_FILE, filename=None, status="completed"), BASES[0]],
        None,
        fresh=False,
    )
    assert items == [
        raw,
        {"type": "file", "id": OTHER_FILE},
        {"type": "collection", "id": KB_ID},
    ]


def test_strings_are_bases_by_name_or_id_else_file_ids() -> None:
    items = file_items(["team handbook", KB_ID, FILE_ID], BASES)
    assert items == [
        {"type": "collection", "id": KB_ID},
        {"type": "collection", "id": KB_ID},
        {"type": "file", "id": FILE_ID},
    ]
    assert file_items("Team Handbook", BASES) == [{"type": "collection", "id": KB_ID}]
    assert file_items(None, None) == []


def test_a_string_without_the_list_asks_for_it() -> None:
    with pytest.raises(_names.NeedList):
        file_items(["Team Handbook"], None, fresh=False)
    with pytest.raises(_names.NeedList):
        file_items(["Team Handbok"], BASES, fresh=False)  # perhaps new: worth one fresh list


def test_an_unknown_name_in_files_suggests_and_names_the_setting() -> None:
    with pytest.raises(KnowledgeNotFoundError) as caught:
        file_items(["Team Handbok"], BASES)
    assert (caught.value.setting, caught.value.suggestions) == ("files", ["Team Handbook"])


@pytest.mark.parametrize("bad", [[42], [""], [None], 3.5])
def test_unusable_files_are_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        file_items(bad, BASES)
    assert caught.value.setting == "files"


def chat_bodies(server: Server) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in server.requests if r.url.path == "/api/chat/completions"]


def test_chat_with_raw_items_costs_one_request(server: Server) -> None:
    raw = [{"type": "collection", "id": KB_ID}]
    answer = make_client(server).chat({"model": "stub-gpt", "messages": USER, "files": raw})
    assert answer["sources"][0]["source"]["type"] == "file"
    assert server.paths() == ["POST /api/chat/completions"]
    assert chat_bodies(server)[0]["files"] == raw


def test_chat_by_knowledge_name_lists_once_per_connection(server: Server) -> None:
    client = make_client(server)
    payload = {"model": "stub-gpt", "messages": USER, "files": ["Team Handbook", FILE_ID]}
    client.chat(payload)
    client.chat(payload)
    assert server.paths() == ["GET /api/v1/knowledge/"] + ["POST /api/chat/completions"] * 2
    assert chat_bodies(server)[1]["files"] == [
        {"type": "collection", "id": KB_ID},
        {"type": "file", "id": FILE_ID},
    ]
    assert payload["files"] == ["Team Handbook", FILE_ID]  # the caller's payload is left as is


def test_a_stream_with_files_yields_the_sources_event_first(server: Server) -> None:
    chunks = list(
        make_client(server).stream_chat(
            {"model": "stub-gpt", "messages": USER, "files": [{"type": "file", "id": FILE_ID}]}
        )
    )
    assert "sources" in chunks[0]
    assert chat_bodies(server)[0]["files"] == [{"type": "file", "id": FILE_ID}]


def test_empty_files_are_not_sent(server: Server) -> None:
    make_client(server).chat({"model": "stub-gpt", "messages": USER, "files": []})
    assert "files" not in chat_bodies(server)[0]


def test_a_wrong_name_in_files_sends_no_chat(server: Server) -> None:
    with pytest.raises(KnowledgeNotFoundError):
        make_client(server).chat({"model": "stub-gpt", "messages": USER, "files": ["Nope"]})
    assert "POST /api/chat/completions" not in server.paths()


# -- async twins ---------------------------------------------------------------------------------


def knowledge_tour_sync(server: Server) -> tuple[Any, ...]:
    """The same calls as `knowledge_tour_async`, through the sync methods."""
    client = make_client(server)
    uploaded = client.upload_file(b"x", filename="notes.md")
    base = client.add_file_to_knowledge("team handbook", uploaded)
    found = client.search_knowledge(base, "invoices", k=2)
    answer = client.chat({"model": "stub-gpt", "messages": USER, "files": [base]})
    chunks = list(
        client.stream_chat({"model": "stub-gpt", "messages": USER, "files": ["Team Handbook"]})
    )
    created = client.create_knowledge("Other")
    client.delete_knowledge(created)
    client.delete_file(uploaded)
    listed = client.list_knowledge()
    return uploaded, base, found, answer, chunks, listed


def test_async_twins_agree_with_the_sync_methods(server: Server) -> None:
    server.statuses = ["pending", "completed"]
    synced = knowledge_tour_sync(server)
    sync_paths = server.paths()
    server.requests.clear()
    server.statuses = ["pending", "completed"]
    server.bases = [dict(KB)]

    async def run() -> tuple[Any, ...]:
        client = make_client(server)
        uploaded = await client.aupload_file(b"x", filename="notes.md")
        base = await client.aadd_file_to_knowledge("team handbook", uploaded)
        found = await client.asearch_knowledge(base, "invoices", k=2)
        answer = await client.achat({"model": "stub-gpt", "messages": USER, "files": [base]})
        chunks = [
            chunk
            async for chunk in client.astream_chat(
                {"model": "stub-gpt", "messages": USER, "files": ["Team Handbook"]}
            )
        ]
        created = await client.acreate_knowledge("Other")
        await client.adelete_knowledge(created)
        await client.adelete_file(uploaded)
        listed = await client.alist_knowledge()
        return uploaded, base, found, answer, chunks, listed

    awaited = asyncio.run(run())
    uploaded, base, found, answer, chunks, listed = awaited
    assert server.paths() == sync_paths  # the same requests, in the same order
    assert awaited[:3] == synced[:3]  # the same records
    assert answer["sources"] == synced[3]["sources"]
    assert [c.get("sources") for c in chunks] == [c.get("sources") for c in synced[4]]
    assert [b.id for b in listed] == [b.id for b in synced[5]]
    assert uploaded.status == "completed"
    assert base.file_ids == (FILE_ID,)
    assert [c.file_name for c in found] == ["invoices.md", "zebra.txt"]
    assert "sources" in answer
    assert "sources" in chunks[0]
    assert [b.id for b in listed] == [KB_ID, "new-kb"]
    assert server.paths().count("GET /api/v1/knowledge/") == 2  # once to resolve, once listed


def test_async_failed_processing_and_stream(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.statuses = ["failed"]

    async def polled() -> None:
        await make_client(server).aupload_file(b"x", filename="notes.md")

    with pytest.raises(KnowledgeError, match="ftfy"):
        asyncio.run(polled())
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)
    server.statuses = ["processing", "completed"]

    async def streamed() -> UploadedFile:
        client = make_client(server)
        await client.await_file(FILE_ID)  # a processing event, the stream ends, polled after
        return await client.await_file(FILE_ID)

    assert asyncio.run(streamed()).usable


def test_upload_cassettes_match_whatever_the_multipart_boundary() -> None:
    from vcr.request import Request

    import vcr_support

    def upload(boundary: str, content: bytes = b"hello") -> Request:
        body = f'--{boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\n'.encode()
        return Request(
            "POST",
            "http://openwebui.test/api/v1/files/",
            body + content + f"\r\n--{boundary}--\r\n".encode(),
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    vcr_support.json_body_matcher(upload("abc123"), upload("f00d42"))
    with pytest.raises(AssertionError):
        vcr_support.json_body_matcher(upload("abc123"), upload("f00d42", b"other"))


def test_a_files_item_without_a_type_is_refused_not_silently_ignored_by_the_server() -> None:
    with pytest.raises(ConfigurationError, match="needs a 'type'") as caught:
        file_items([{"id": FILE_ID}], BASES)
    assert caught.value.setting == "files"


def test_an_empty_file_is_refused_before_anything_is_sent(server: Server) -> None:
    with pytest.raises(KnowledgeError, match=r"'empty\.txt' is empty") as caught:
        make_client(server).upload_file(b"", filename="empty.txt")
    assert caught.value.setting == "file"
    assert server.requests == []


def test_a_small_waited_for_upload_is_processed_inside_the_upload_request(server: Server) -> None:
    server.statuses = ["completed"]
    make_client(server).upload_file(b"hello", filename="notes.md", timeout=42)
    upload = server.requests[0]
    assert upload.url.params["process_in_background"] == "false"
    assert upload.extensions["timeout"]["read"] == 42  # processing happens while we wait


def test_an_upload_not_waited_for_or_large_is_processed_in_the_background(server: Server) -> None:
    client = make_client(server)
    client.upload_file(b"hello", filename="notes.md", wait=False)
    server.statuses = ["completed"]
    big = b"x" * (_waiting.INLINE_PROCESSING_LIMIT + 1)
    client.upload_file(big, filename="big.txt")
    uploads = [r for r in server.requests if r.method == "POST"]
    assert [r.url.params.get("process_in_background") for r in uploads] == [None, None]


# -- what the mutation pass found unasserted: each test below fails when one branch is removed ---


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sending, "backoff_delay", lambda attempt, retry_after=None: 0.0)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.usefixtures("no_backoff")
def test_an_upload_the_server_refused_for_now_is_sent_again(server: Server, status: int) -> None:
    answers = [httpx.Response(status, json={"detail": "later"}), httpx.Response(200, json=record())]
    server.routes["POST", "/api/v1/files/"] = lambda _: answers.pop(0)
    make_client(server).upload_file(b"x", filename="a.txt", wait=False)
    assert server.paths() == ["POST /api/v1/files/"] * 2


def test_the_list_stops_at_a_page_without_bases_whatever_the_total_says(server: Server) -> None:
    def listed(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        assert page < 5, "still asking for pages"
        return httpx.Response(200, json={"items": [KB] if page == 1 else [], "total": 40})

    server.routes["GET", "/api/v1/knowledge/"] = listed
    assert [b.id for b in make_client(server).list_knowledge()] == [KB_ID]
    assert [r.url.params["page"] for r in server.requests] == ["1", "2"]


def test_each_status_poll_may_take_the_time_left_but_never_less_than_a_tenth(
    server: Server,
) -> None:
    server.statuses = ["pending", "completed"]
    make_client(server).wait_for_file(FILE_ID, timeout=42)
    first, second = (r.extensions["timeout"]["read"] for r in server.requests)
    assert 41 < first <= 42
    assert 41 < second <= 42
    server.requests.clear()

    def pending(request: httpx.Request) -> httpx.Response:
        assert len(server.requests) < 50, "polling without a pause"
        return httpx.Response(200, json={"status": "pending"})

    server.routes["GET", f"/api/v1/files/{FILE_ID}/process/status"] = pending
    with pytest.raises(KnowledgeError):
        make_client(server).wait_for_file(FILE_ID, timeout=0.05)
    assert {r.extensions["timeout"]["read"] for r in server.requests} == {0.1}


def test_a_failed_status_that_carries_its_reason_costs_no_record_request(server: Server) -> None:
    failed = httpx.Response(200, json={"status": "failed", "error": "No module named 'ftfy'"})
    server.routes["GET", f"/api/v1/files/{FILE_ID}/process/status"] = lambda _: failed
    with pytest.raises(KnowledgeError, match="ftfy"):
        make_client(server).wait_for_file(FILE_ID)
    assert server.paths() == [f"GET /api/v1/files/{FILE_ID}/process/status"]


def test_polls_pause_while_the_file_is_pending_and_not_once_it_is_done(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(_plan.time, "sleep", pauses.append)
    server.statuses = ["pending", "processing", "completed"]
    assert make_client(server).wait_for_file(FILE_ID).usable
    assert len(pauses) == 2


@pytest.mark.parametrize(
    ("timeout", "read_timeout", "low", "high"),
    [(42.0, 600.0, 41.0, 42.0), (42.0, 5.0, 5.0, 5.0), (0.05, 600.0, 0.1, 0.1)],
)
def test_the_status_stream_is_asked_for_the_time_left_within_the_clients_read_timeout(
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    timeout: float,
    read_timeout: float,
    low: float,
    high: float,
) -> None:
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)
    make_client(server, timeout=read_timeout).wait_for_file(FILE_ID, timeout=timeout)
    assert server.requests[0].url.params["stream"] == "true"
    assert low <= server.requests[0].extensions["timeout"]["read"] <= high


class Events(httpx.SyncByteStream):
    """A status stream: `events` one by one, `pause` seconds apart; then a break, if given."""

    def __init__(self, events: list[str], pause: float = 0.0, broken: bool = False) -> None:
        self.events, self.pause, self.broken = events, pause, broken

    def __iter__(self) -> Iterator[bytes]:
        for status in self.events:
            yield f'data: {{"status": "{status}"}}\n\n'.encode()
            time.sleep(self.pause)
        if self.broken:
            raise httpx.ReadError("Connection reset by peer")


def test_a_status_stream_that_breaks_leaves_the_rest_to_polling(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)
    answers = [
        httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=Events(["pending"], broken=True),
        ),
        httpx.Response(200, json={"status": "completed"}),
    ]
    server.routes["GET", f"/api/v1/files/{FILE_ID}/process/status"] = lambda _: answers.pop(0)
    assert make_client(server).wait_for_file(FILE_ID).usable
    assert [r.url.params.get("stream") for r in server.requests] == ["true", None]


def test_a_status_stream_still_pending_at_the_deadline_ends_the_wait(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)
    endless = Events(["processing"] * 40, pause=0.05)  # the server keeps saying "processing"
    server.routes["GET", f"/api/v1/files/{FILE_ID}/process/status"] = lambda _: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=endless
    )
    started = time.monotonic()
    with pytest.raises(KnowledgeError, match="still processing"):
        make_client(server).wait_for_file(FILE_ID, timeout=0.2)
    assert time.monotonic() - started < 1.0  # not the whole stream
    assert len(server.requests) == 1


def test_a_timeout_that_is_not_positive_is_refused_before_asking(server: Server) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_client(server).wait_for_file(FILE_ID, timeout=0)
    assert caught.value.setting == "timeout"
    assert server.requests == []


def test_a_file_known_by_its_id_only_is_named_by_it_when_the_wait_ends(server: Server) -> None:
    server.statuses = ["pending"]
    with pytest.raises(KnowledgeError) as caught:
        make_client(server).wait_for_file(FILE_ID, timeout=0.05)
    assert f"still processing file {FILE_ID} after" in caught.value.message


def test_a_failure_without_any_reason_says_none_was_given(server: Server) -> None:
    server.statuses = ["failed"]
    server.routes["GET", f"/api/v1/files/{FILE_ID}"] = lambda _: httpx.Response(
        200, json=record("failed")
    )
    with pytest.raises(KnowledgeError, match="no reason given"):
        make_client(server).wait_for_file(FILE_ID)


def test_a_status_that_says_not_found_is_a_file_not_found(server: Server) -> None:
    server.statuses = ["not_found"]
    with pytest.raises(KnowledgeNotFoundError) as caught:
        make_client(server).wait_for_file(FILE_ID, timeout=1.0)
    assert caught.value.setting == "file"
    assert FILE_ID in caught.value.message


def test_a_bytearray_uploads_as_bytes(server: Server) -> None:
    make_client(server).upload_file(bytearray(b"hello"), filename="notes.md", wait=False)
    assert b"hello" in server.requests[0].content


def test_a_path_uploaded_under_a_name_given_is_sent_under_that_name(
    server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "report.txt"
    path.write_text("quarterly numbers")
    make_client(server).upload_file(path, filename="q3.md", wait=False)
    assert b'filename="q3.md"' in server.requests[0].content


def test_a_path_that_cannot_be_read_says_why(server: Server, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    with pytest.raises(ConfigurationError) as caught:
        make_client(server).upload_file(missing)
    assert caught.value.message == f"Cannot read {str(missing)!r}: No such file or directory"


@pytest.mark.parametrize(
    ("filename", "content_type", "sent"),
    [
        ("notes.md", "text/x-custom", "text/x-custom"),
        ("data.unknownext", None, "application/octet-stream"),
    ],
)
def test_an_upload_carries_the_content_type_given_else_one_for_its_name(
    server: Server, filename: str, content_type: str | None, sent: str
) -> None:
    make_client(server).upload_file(b"x", filename=filename, content_type=content_type, wait=False)
    assert f"Content-Type: {sent}".encode() in server.requests[0].content


def test_a_file_id_is_used_without_the_spaces_pasted_around_it(server: Server) -> None:
    make_client(server).delete_file(f"  {FILE_ID}\n")
    assert server.paths() == [f"DELETE /api/v1/files/{FILE_ID}"]


@pytest.mark.parametrize("file", ["   ", 42, None])
def test_a_file_that_is_not_an_id_is_refused_before_sending(server: Server, file: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_client(server).delete_file(file)
    assert caught.value.setting == "file"
    assert server.requests == []


@pytest.mark.parametrize(
    ("query", "k", "setting"), [(None, 4, "query"), ("q", True, "k"), ("q", "4", "k")]
)
def test_search_refuses_a_query_or_k_of_the_wrong_type_before_sending(
    server: Server, query: Any, k: Any, setting: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_client(server).search_knowledge("Team Handbook", query, k=k)
    assert caught.value.setting == setting
    assert server.requests == []
