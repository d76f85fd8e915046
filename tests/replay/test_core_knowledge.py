"""Files and knowledge bases against a real Open WebUI 0.12.4, replayed from cassettes/core_knowledge/.

Each test makes what it needs and deletes it again, so recordings never depend on each other.
Re-record with `pytest --owui-mode=record tests/replay/test_core_knowledge.py` (the stack's
upstream embeds hashed word counts, so a query finds the chunk sharing its words).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from openwebui_adapters import KnowledgeBase, OpenWebUIClient, UploadedFile
from openwebui_adapters._replies import read_chat_answer, read_stream_chunk
from openwebui_adapters.errors import KnowledgeError, KnowledgeNotFoundError

pytestmark = pytest.mark.vcr

ZEBRA = "The zebra named Ziggy sleeps in the savanna under acacia trees.\n"
INVOICES = "# Invoices\n\nInvoices are due within thirty days of delivery.\n"
HANDBOOK = "Replay Handbook"


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` (Helvetica), with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture
def client(owui_settings: Any) -> Iterator[OpenWebUIClient]:
    """A client from the environment, as users create it."""
    client = OpenWebUIClient(max_retries=0)
    yield client
    client.close()


@pytest.fixture
def handbook(client: OpenWebUIClient) -> Iterator[tuple[KnowledgeBase, UploadedFile, UploadedFile]]:
    """A knowledge base holding two short documents, deleted afterwards."""
    zebra = client.upload_file(ZEBRA.encode(), filename="zebra.txt")
    invoices = client.upload_file(INVOICES.encode(), filename="invoices.md")
    base = client.create_knowledge(HANDBOOK, description="What the team agreed on.")
    client.add_file_to_knowledge(base, zebra)
    base = client.add_file_to_knowledge(base, invoices)
    yield base, zebra, invoices
    client.delete_knowledge(base)
    client.delete_file(zebra)
    client.delete_file(invoices)


FILES = {
    "txt": ("notes.txt", b"Plain notes about the quarterly review."),
    "md": ("notes.md", b"# Review\n\nMarkdown notes about the quarterly review."),
    "pdf": ("notes.pdf", tiny_pdf("PDF notes about the quarterly review.")),
}


@pytest.mark.parametrize("kind", FILES)
def test_upload_waits_until_the_file_is_usable(client: OpenWebUIClient, kind: str) -> None:
    filename, content = FILES[kind]
    uploaded = client.upload_file(content, filename=filename)
    try:
        assert uploaded.usable
        assert (uploaded.filename, uploaded.size, uploaded.error) == (filename, len(content), None)
    finally:
        client.delete_file(uploaded)


def test_a_damaged_file_fails_processing_with_the_servers_reason(client: OpenWebUIClient) -> None:
    pending = client.upload_file(b"not really a document", filename="broken.docx", wait=False)
    try:
        with pytest.raises(KnowledgeError) as caught:
            client.wait_for_file(pending)
        assert caught.value.layer == "knowledge"
        assert "'broken.docx'" in caught.value.message
        assert "File is not a zip file" in caught.value.message
        assert "damaged" in caught.value.hint
    finally:
        client.delete_file(pending)


def test_an_empty_file_is_refused_as_the_users_to_fix(client: OpenWebUIClient) -> None:
    # Refused before sending (no cassette: nothing is sent), on every release alike.
    with pytest.raises(KnowledgeError, match="is empty") as caught:
        client.upload_file(b"", filename="empty.txt")
    assert caught.value.setting == "file"


def test_create_add_list_and_delete_a_knowledge_base(client: OpenWebUIClient) -> None:
    uploaded = client.upload_file(ZEBRA.encode(), filename="zebra.txt")
    base = client.create_knowledge("Replay Lifecycle", description="made by a test")
    assert (base.name, base.description, base.file_ids) == (
        "Replay Lifecycle",
        "made by a test",
        (),
    )
    added = client.add_file_to_knowledge("replay lifecycle", uploaded)
    assert added.file_ids == (uploaded.id,)
    listed = {b.id: b for b in client.list_knowledge()}
    assert listed[base.id].name == "Replay Lifecycle"
    # 0.12 counts a base's files in the list; 0.6 lists none (unknown, not zero).
    assert listed[base.id].file_count in (1, None)
    client.delete_knowledge("Replay Lifecycle")
    assert base.id not in {b.id for b in client.list_knowledge()}
    client.delete_file(uploaded)
    with pytest.raises(KnowledgeNotFoundError):
        client.delete_file(uploaded)


def test_search_finds_the_chunk_sharing_the_querys_words(
    client: OpenWebUIClient, handbook: tuple[KnowledgeBase, UploadedFile, UploadedFile]
) -> None:
    base, _, invoices = handbook
    found = client.search_knowledge("replay handbook", "When are invoices due?", k=2)
    assert next(c.file_id for c in found) == invoices.id
    assert "thirty days" in found[0].document
    assert (found[0].source_type, found[0].source_id, found[0].source_name) == (
        "collection",
        base.id,
        HANDBOOK,
    )
    assert found[0].distance is not None
    assert found[1].distance is not None
    assert found[0].distance > found[1].distance  # Chroma reports similarity: higher is closer


@pytest.mark.parametrize("stream", [False, True], ids=["nostream", "stream"])
def test_chat_with_a_file_returns_its_sources(
    client: OpenWebUIClient, owui_settings: Any, stream: bool
) -> None:
    uploaded = client.upload_file(ZEBRA.encode(), filename="zebra.txt")
    payload = {
        "model": owui_settings.models["openai"],
        "messages": [{"role": "user", "content": "Where does the zebra sleep?"}],
        "files": [uploaded],
    }
    try:
        if stream:
            chunks = list(client.stream_chat(payload))
            first = read_stream_chunk(chunks[0])
            citations, text = first.citations, "".join(read_stream_chunk(c).content for c in chunks)
            assert first.is_empty  # the sources event comes before any text
        else:
            answer = read_chat_answer(client.chat(payload))
            citations, text = answer.citations, answer.content
    finally:
        client.delete_file(uploaded)
    assert [(c.source_type, c.source_id, c.file_name) for c in citations] == [
        ("file", uploaded.id, "zebra.txt")
    ]
    assert citations[0].document == ZEBRA.strip()
    assert ZEBRA.strip() in text  # the stub echoes the prompt Open WebUI built from the chunk


@pytest.mark.parametrize("stream", [False, True], ids=["nostream", "stream"])
def test_chat_with_a_collection_by_name_returns_its_sources(
    client: OpenWebUIClient,
    owui_settings: Any,
    handbook: tuple[KnowledgeBase, UploadedFile, UploadedFile],
    stream: bool,
) -> None:
    base, _, invoices = handbook
    payload = {
        "model": owui_settings.models["openai"],
        "messages": [{"role": "user", "content": "When are invoices due?"}],
        "files": ["replay handbook"],
    }
    if stream:
        chunks = list(client.stream_chat(payload))
        citations = read_stream_chunk(chunks[0]).citations
    else:
        citations = read_chat_answer(client.chat(payload)).citations
    assert {(c.source_type, c.source_id) for c in citations} == {("collection", base.id)}
    assert citations[0].file_id == invoices.id  # the closest chunk comes first


def test_a_wrong_knowledge_name_suggests_the_close_one(
    client: OpenWebUIClient,
    owui_settings: Any,
    handbook: tuple[KnowledgeBase, UploadedFile, UploadedFile],
) -> None:
    with pytest.raises(KnowledgeNotFoundError) as caught:
        client.chat(
            {
                "model": owui_settings.models["openai"],
                "messages": [{"role": "user", "content": "hi"}],
                "files": ["Replay Handbok"],
            }
        )
    assert caught.value.suggestions == [HANDBOOK]
    assert caught.value.setting == "files"
    with pytest.raises(KnowledgeNotFoundError, match="did you mean 'Replay Handbook'"):
        client.search_knowledge("Replay Handbok", "invoices")
