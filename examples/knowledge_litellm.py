"""Ask a model through LiteLLM about a document you upload, and see where the answer came from.

    export OPENWEBUI_SERVER_URL=https://chat.example.com   # the address you open in the browser
    export OPENWEBUI_API_KEY=sk-...                        # Settings > Account > API keys
    export OPENWEBUI_MODEL=llama3.1:8b                     # optional; default "llama3.2"
    python examples/knowledge_litellm.py

Uploads a short text file, puts it in a new knowledge base, asks about it with
`files=[<knowledge base name>]` (streamed and not), prints the answer and its sources
(`message.provider_specific_fields["sources"]`), then deletes what it created.
"""

from __future__ import annotations

import os

import litellm

import openwebui_adapters.litellm  # noqa: F401  # registers the openwebui/ provider
from openwebui_adapters import OpenWebUIClient

MODEL = os.environ.get("OPENWEBUI_MODEL", "llama3.2")
# `nox -s demo` runs this against a local server whose model is a scripted stand-in (it echoes,
# calls the tools it is offered, fills schemas with samples): its answers are labelled there.
SCRIPTED = "[scripted local model] " if os.environ.get("OPENWEBUI_DEMO_SCRIPTED") else ""
DOCUMENT = b"Ziggy the zebra sleeps under the acacia trees at the north end of the savanna.\n"
QUESTION = [{"role": "user", "content": "Where does Ziggy the zebra sleep?"}]


def main() -> None:
    print("Shows: LiteLLM answering from an uploaded document (files=[base]), with its sources")
    client = OpenWebUIClient()  # the same settings LiteLLM will use: the environment
    file = client.upload_file(DOCUMENT, filename="ziggy.txt")  # waits until it is processed
    base = client.create_knowledge("Zoo handbook (LiteLLM demo)")
    try:
        client.add_file_to_knowledge(base, file)
        print(f"uploaded {file.filename} ({file.id}) into {base.name!r}")

        response = litellm.completion(
            model=f"openwebui/{MODEL}", messages=QUESTION, files=[base.name]
        )
        message = response.choices[0].message
        print(f"answer: {SCRIPTED}{message.content!r}")
        for source in (message.provider_specific_fields or {}).get("sources", []):
            print(f"  source: {source['file_name']} (distance {source['distance']:.3f})")

        chunks = list(
            litellm.completion(
                model=f"openwebui/{MODEL}", messages=QUESTION, files=[base.name], stream=True
            )
        )
        # stream_chunk_builder looks up a provider for the bare model id and prints LiteLLM's
        # "Provider List" banner when it finds none (harmless; any custom provider's ids do).
        litellm.suppress_debug_info = True
        streamed = litellm.stream_chunk_builder(chunks).choices[0].message
        sources = (streamed.provider_specific_fields or {}).get("sources", [])
        print(f"streamed: {len(chunks)} chunks, {len(sources)} source(s)")
    finally:
        client.delete_knowledge(base)
        client.delete_file(file)


if __name__ == "__main__":
    main()
