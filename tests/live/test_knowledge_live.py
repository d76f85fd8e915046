"""Files and knowledge bases against a real Open WebUI (`pytest --owui-mode=live`): no cassettes.

The recorded flows (tests/replay/test_core_knowledge.py) run live too in this mode; these add
what a recording cannot show: how soon after the server's own processing a file is usable,
the async twins end to end, and a knowledge base made by another client.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters._knowledge import _waiting
from openwebui_adapters._replies import read_chat_answer, read_stream_chunk
from openwebui_adapters.errors import KnowledgeError, KnowledgeNotFoundError

pytestmark = pytest.mark.live

TEXT = ("Invoices are due within thirty days of delivery. " * 40).encode()


def server_processing_time(owui_settings: Any, rounds: int) -> float:
    """The server's own time for upload + processing: an upload it processes before answering."""
    headers = {"Authorization": f"Bearer {owui_settings.api_key}"}
    times, ids = [], []
    with httpx.Client(base_url=owui_settings.server_url, headers=headers, timeout=60) as raw:
        for _ in range(rounds):
            started = time.monotonic()
            answer = raw.post(
                "/api/v1/files/",
                params={"process_in_background": "false"},
                files={"file": ("sync.txt", TEXT, "text/plain")},
            )
            times.append(time.monotonic() - started)
            answer.raise_for_status()
            ids.append(answer.json()["id"])
        for file_id in ids:
            raw.delete(f"/api/v1/files/{file_id}")
    return statistics.median(times)


def test_a_file_is_usable_soon_after_the_server_processed_it(owui_settings: Any) -> None:
    client = OpenWebUIClient()
    client.delete_file(client.upload_file(TEXT, filename="warm.txt"))  # first embedding warms up
    server = server_processing_time(owui_settings, 5)
    ours = []
    for _ in range(5):
        started = time.monotonic()
        uploaded = client.upload_file(TEXT, filename="timed.txt")
        ours.append(time.monotonic() - started)
        client.delete_file(uploaded)
    ratio = statistics.median(ours) / server
    print(f"upload->usable {statistics.median(ours):.3f} s, server {server:.3f} s: x{ratio:.2f}")
    # Background processing itself is slower than in-request processing on a busy machine;
    # the polling's own share stays small (pauses of a tenth of the time waited).
    assert statistics.median(ours) < 2.5 * server + 0.05


def test_async_twins_end_to_end(owui_settings: Any) -> None:
    async def run() -> None:
        client = OpenWebUIClient()
        uploaded = await client.aupload_file(
            b"Our office in Lyon opens at nine every weekday.", filename="lyon.txt"
        )
        base = await client.acreate_knowledge("Live Async Office")
        try:
            await client.aadd_file_to_knowledge("live async office", uploaded)
            found = await client.asearch_knowledge(base, "When does the Lyon office open?", k=1)
            assert found[0].file_id == uploaded.id
            payload = {
                "model": owui_settings.models["openai"],
                "messages": [{"role": "user", "content": "When does the Lyon office open?"}],
                "files": ["Live Async Office"],
            }
            answer = read_chat_answer(await client.achat(payload))
            assert answer.citations[0].source_id == base.id
            chunks = [chunk async for chunk in client.astream_chat(payload)]
            assert read_stream_chunk(chunks[0]).citations[0].file_id == uploaded.id
            with pytest.raises(KnowledgeNotFoundError) as caught:
                await client.aresolve_knowledge("Live Async Ofice")
            assert "Live Async Office" in caught.value.suggestions
        finally:
            await client.adelete_knowledge(base)
            await client.adelete_file(uploaded)
            await client.aclose()

    asyncio.run(run())


def test_a_base_made_elsewhere_after_listing_is_found_by_name(owui_settings: Any) -> None:
    client = OpenWebUIClient()
    client.list_knowledge()  # cached before the base exists
    headers = {"Authorization": f"Bearer {owui_settings.api_key}"}
    with httpx.Client(base_url=owui_settings.server_url, headers=headers, timeout=60) as raw:
        made = raw.post(
            "/api/v1/knowledge/create", json={"name": "Live Made Elsewhere", "description": ""}
        ).json()
    try:
        # A name the cached list lacks costs one fresh list, not an error.
        assert client.resolve_knowledge("live made elsewhere").id == made["id"]
    finally:
        client.delete_knowledge(made["id"])
    with pytest.raises(KnowledgeError):
        client.resolve_knowledge("Live Made Elsewhere")


def test_long_waits_follow_the_servers_status_stream(
    owui_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waiting, "STREAM_AFTER", 0.0)  # as if processing had taken long
    client = OpenWebUIClient()
    uploaded = client.upload_file(TEXT, filename="streamed.txt")
    client.delete_file(uploaded)
    assert uploaded.usable
    broken = client.upload_file(b"not a document", filename="broken.docx", wait=False)
    try:
        with pytest.raises(KnowledgeError, match="File is not a zip file"):
            client.wait_for_file(broken)  # the reason comes with the stream's event
    finally:
        client.delete_file(broken)
