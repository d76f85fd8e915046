"""Knowledge, against a real Open WebUI (`python benchmarks/run.py --knowledge`; not offline).

Starts its own stack (`stack/run.py start` with OPENWEBUI_STACK_STATE_DIR, default
/tmp/openwebui-bench-stack; stopped again at the end, also on failure) unless `--knowledge-url`
and `OPENWEBUI_API_KEY` name a running one. For each repetition, interleaved, a fresh small text
file (unique content, so no deduplication) goes through:

- **server**: `POST /api/v1/files/` then `GET /api/v1/files/{id}/process/status` every 25 ms
  until `completed`: the server's own processing time (to within 25 ms and one request);
- **seed loop**: the same upload, then the seed's loop (the docs' example): a status request,
  `time.sleep(2)` while not completed;
- **ours**: `OpenWebUIClient.upload_file(path)` until it returns a usable file (checked after
  the clock stops: the status must be `completed`).
  Skipped, with a message, when the client has no `upload_file`.

The ratio `ours / server` is the target (<= 1.1x); `seed / server` shows what the loop costs.
Then one knowledge collection holding one of the files (`create_knowledge` and
`add_file_to_knowledge` when the client has them, else plain HTTP calls), and a core `chat` with
`files` naming it (a `KnowledgeBase`, its name, an Open WebUI item): the requests the core sends
for each chat are counted (httpx's `send` wrapped), after a warm-up chat.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from report import Part, check_row, interval, target_row
from stats import ratio_interval

NAME = "knowledge"
ROOT = Path(__file__).resolve().parent.parent
TIGHT_POLL = 0.025
SEED_POLL = 2.0
TIMEOUT = 300.0
MODEL = "stub-gpt"
# A name needs the knowledge list, fetched once per connection and then cached (by design):
# the target is judged on the other ways and on a name's later uses; this one is reported.
FIRST_NAME = "its name, the first time on this connection"


def _stack(command: str, state_dir: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENWEBUI_STACK_STATE_DIR": state_dir}
    return subprocess.run(
        [sys.executable, str(ROOT / "stack" / "run.py"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def start_stack(state_dir: str) -> tuple[str, str]:
    done = _stack("start", state_dir)
    if done.returncode != 0:
        raise RuntimeError(f"stack start failed: {done.stderr.strip()[-800:]}")
    env = _stack("env", state_dir)
    values = {}
    for word in shlex.split(env.stdout.strip().removeprefix("export ")):
        key, _, value = word.partition("=")
        values[key] = value
    return values["OPENWEBUI_SERVER_URL"], values["OPENWEBUI_API_KEY"]


def _file(directory: Path) -> Path:
    path = directory / f"bench-{uuid.uuid4().hex}.txt"
    words = " ".join(f"word{i}-{uuid.uuid4().hex[:6]}" for i in range(300))
    path.write_text(f"Benchmark document {path.stem}.\n\n{words}\n")
    return path


def _upload(http: Any, url: str, path: Path) -> str:
    with path.open("rb") as handle:
        response = http.post(
            f"{url}/api/v1/files/",
            files={"file": (path.name, handle, "text/plain")},
            headers={"Accept": "application/json"},
        )
    response.raise_for_status()
    return str(response.json()["id"])


def _status(http: Any, url: str, file_id: str) -> str:
    response = http.get(f"{url}/api/v1/files/{file_id}/process/status")
    response.raise_for_status()
    return str(response.json().get("status"))


def _wait(http: Any, url: str, file_id: str, interval: float) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status = _status(http, url, file_id)
        if status == "completed":
            return
        if status == "failed":
            raise RuntimeError(f"processing of {file_id} failed")
        time.sleep(interval)
    raise TimeoutError(f"{file_id} not processed within {TIMEOUT:.0f} s")


def _file_id(result: Any) -> str:
    for attr in ("id", "file_id"):
        if isinstance(getattr(result, attr, None), str):
            return str(getattr(result, attr))
    if isinstance(result, dict) and "id" in result:
        return str(result["id"])
    raise TypeError(f"upload_file returned {type(result).__name__}: no id found")


class RequestCounter:
    """Counts every request httpx sends in this process while active."""

    def __init__(self) -> None:
        import httpx

        self.count = 0
        self._httpx = httpx
        self._saved = (httpx.Client.send, httpx.AsyncClient.send)

    def __enter__(self) -> RequestCounter:
        sync_send, async_send = self._saved
        counter = self

        def send(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return sync_send(client, request, *args, **kwargs)

        async def asend(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return await async_send(client, request, *args, **kwargs)

        self._httpx.Client.send = send  # type: ignore[method-assign,assignment]
        self._httpx.AsyncClient.send = asend  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpx.Client.send, self._httpx.AsyncClient.send = self._saved  # type: ignore[method-assign]


def measure(url: str, key: str, reps: int, log: Any) -> dict[str, Any]:
    import httpx

    from openwebui_adapters import OpenWebUIClient

    client = OpenWebUIClient(url, key)
    upload_file = getattr(client, "upload_file", None)
    skipped = {}
    if upload_file is None:
        skipped["ours"] = (
            "OpenWebUIClient.upload_file does not exist yet (src/openwebui_adapters/knowledge.py "
            "is being written): only the server and the seed loop were measured"
        )
        log(f"knowledge: {skipped['ours']}")
    samples: dict[str, list[float]] = {"server": [], "seed": [], "ours": []}
    clock = time.perf_counter
    headers = {"Authorization": f"Bearer {key}"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        httpx.Client(headers=headers, timeout=60.0, trust_env=False) as http,
    ):
        directory = Path(tmp)
        # Warm-up: the first upload loads the server's extraction and embedding code.
        _wait(http, url, _upload(http, url, _file(directory)), TIGHT_POLL)
        ways = ["server", "seed"] + (["ours"] if upload_file else [])
        usable_at_return = []
        for rep in range(reps):
            for way in ways[rep % len(ways) :] + ways[: rep % len(ways)]:
                path = _file(directory)
                start = clock()
                if way == "ours":
                    assert upload_file is not None
                    file_id = _file_id(upload_file(path))
                    samples[way].append(clock() - start)
                    usable_at_return.append(_status(http, url, file_id) == "completed")
                else:
                    file_id = _upload(http, url, path)
                    _wait(http, url, file_id, TIGHT_POLL if way == "server" else SEED_POLL)
                    samples[way].append(clock() - start)
        result: dict[str, Any] = {"samples": samples, "skipped": skipped}
        if upload_file:
            result["usable_at_return"] = usable_at_return
        # A chat with a collection: the requests the core sends for it, for each way of naming
        # the collection the client takes (the typed API when it exists, else a raw item).
        file_id = _upload(http, url, _file(directory))
        _wait(http, url, file_id, TIGHT_POLL)
        name = f"bench-{uuid.uuid4().hex[:8]}"
        refs: dict[str, Any]
        if hasattr(client, "create_knowledge") and hasattr(client, "add_file_to_knowledge"):
            base = client.create_knowledge(name, description="benchmark")
            client.add_file_to_knowledge(base, file_id)
            refs = {
                "a KnowledgeBase": base,
                FIRST_NAME: name,
                "its name, again": name,
                "an Open WebUI item": {"type": "collection", "id": base.id},
            }
        else:
            made = http.post(
                f"{url}/api/v1/knowledge/create", json={"name": name, "description": "benchmark"}
            )
            made.raise_for_status()
            knowledge_id = made.json()["id"]
            http.post(
                f"{url}/api/v1/knowledge/{knowledge_id}/file/add", json={"file_id": file_id}
            ).raise_for_status()
            refs = {"an Open WebUI item": {"type": "collection", "id": knowledge_id}}
        question = [{"role": "user", "content": "What does the document say?"}]
        counts = {}
        client.chat({"model": MODEL, "messages": question})  # warm-up: model resolution, pool
        for label, ref in refs.items():
            with RequestCounter() as counter:
                client.chat({"model": MODEL, "messages": question, "files": ref})
            counts[label] = counter.count
        result["collection_chat_requests"] = counts
    client.close()
    return result


def bench_knowledge(reps: int, log: Any, url: str | None, state_dir: str) -> dict[str, Any]:
    key = os.environ.get("OPENWEBUI_API_KEY", "")
    started = False
    try:
        if url is None:
            log(f"knowledge: starting a stack (OPENWEBUI_STACK_STATE_DIR={state_dir})")
            url, key = start_stack(state_dir)
            started = True
            log(f"knowledge: stack at {url}")
        result = measure(url, key, reps, log)
    finally:
        if started:
            done = _stack("stop", state_dir)
            log(f"knowledge: stack stopped (exit {done.returncode})")
    result["config"] = {"reps": reps, "tight_poll_s": TIGHT_POLL, "seed_poll_s": SEED_POLL}
    return result


def render(results: dict[str, Any]) -> Part:
    data = results.get("knowledge")
    if not data:
        return Part()
    samples = data["samples"]
    lines = [
        "## Knowledge (real Open WebUI)",
        "",
        f"Measured {data.get('when', '(date not recorded)')} by `python benchmarks/run.py "
        "--knowledge` (online, separate from the offline run). "
        f"{data['config']['reps']} uploads per way, interleaved; seconds from the upload to a "
        "usable (processed) file. *server*: the upload and a status poll every "
        f"{data['config']['tight_poll_s'] * 1000:.0f} ms (the server's own processing time); "
        f"*seed loop*: the docs' loop, `time.sleep({data['config']['seed_poll_s']:.0f})` between "
        "polls; *ours*: `OpenWebUIClient.upload_file`.",
        "",
        "| way | median s | min s | max s |",
        "| --- | --- | --- | --- |",
    ]
    for way, values in samples.items():
        if values:
            lines.append(
                f"| {way} | {statistics.median(values):.3f} | {min(values):.3f} | "
                f"{max(values):.3f} |"
            )
    for why in data.get("skipped", {}).values():
        lines += ["", f"Skipped: {why}."]
    targets = []
    server = samples["server"]
    if samples["seed"]:
        lines += ["", f"Seed loop / server: {interval(ratio_interval(samples['seed'], server))}."]
    upload = "knowledge: upload_file to a usable file / server's processing"
    if samples["ours"]:
        targets.append(target_row(upload, ratio_interval(samples["ours"], server), 1.1))
        usable = data.get("usable_at_return", [])
        lines += ["", f"Usable when `upload_file` returned: {sum(usable)} of {len(usable)}."]
    else:
        targets.append(check_row(upload, "n/a (no upload_file yet)", "<= 1.1x", None))
    counts = data.get("collection_chat_requests")
    if isinstance(counts, int):  # results saved before the typed API was measured
        counts = {"an Open WebUI item": counts}
    if counts:
        lines += ["", "Requests the core sent for one chat with a collection, named by:", ""]
        lines += [f"- {label}: {count}" for label, count in counts.items()]
        steady = {k: v for k, v in counts.items() if k != FIRST_NAME}
        worst = max(steady.values())
        first = f"; a name's first use: {counts[FIRST_NAME]}" if FIRST_NAME in counts else ""
        targets.append(
            check_row(
                f"knowledge: requests for a chat with a collection (most over "
                f"{len(steady)} ways of naming it{first})",
                worst,
                1,
                worst == 1,
            )
        )
    lines.append("")
    return Part(lines, targets)
