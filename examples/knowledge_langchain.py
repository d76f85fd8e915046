"""Ask a LangChain chat model about a document you upload, and search it without a chat.

    export OPENWEBUI_SERVER_URL=https://chat.example.com   # the address you open in the browser
    export OPENWEBUI_API_KEY=sk-...                        # Settings > Account > API keys
    export OPENWEBUI_MODEL=llama3.1:8b                     # optional; default "llama3.2"
    python examples/knowledge_langchain.py

Uploads a short text file into a new knowledge base, asks `ChatOpenWebUI(files=[...])` about it
(the answer's `response_metadata["sources"]`, streamed too), then runs the same knowledge base as
an `OpenWebUIRetriever`, and deletes what it created.
"""

from __future__ import annotations

import os

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters.langchain import ChatOpenWebUI, OpenWebUIRetriever

MODEL = os.environ.get("OPENWEBUI_MODEL", "llama3.2")
# `nox -s demo` runs this against a local server whose model is a scripted stand-in (it echoes,
# calls the tools it is offered, fills schemas with samples): its answers are labelled there.
SCRIPTED = "[scripted local model] " if os.environ.get("OPENWEBUI_DEMO_SCRIPTED") else ""
DOCUMENT = b"Invoices are due within thirty days of delivery; late invoices cost 2% a month.\n"


def main() -> None:
    print("Shows: ChatOpenWebUI answering from an uploaded document, and OpenWebUIRetriever")
    client = OpenWebUIClient()
    file = client.upload_file(DOCUMENT, filename="invoices.txt")
    base = client.create_knowledge("Finance handbook (LangChain demo)")
    try:
        client.add_file_to_knowledge(base, file)
        chat = ChatOpenWebUI(model=MODEL, files=[base.name], temperature=0)

        answer = chat.invoke("When are invoices due?")
        print(f"answer: {SCRIPTED}{answer.text!r}")
        for source in answer.response_metadata.get("sources", []):
            print(f"  source: {source['file_name']} (distance {source['distance']:.3f})")

        streamed = None
        for chunk in chat.stream("When are invoices due?"):
            streamed = chunk if streamed is None else streamed + chunk
        assert streamed is not None
        print(f"streamed sources: {len(streamed.response_metadata.get('sources', []))}")

        retriever = OpenWebUIRetriever(knowledge=base.name, k=2)
        for doc in retriever.invoke("invoice due date"):
            print(f"retrieved from {doc.metadata['file_name']}: {doc.page_content.strip()!r}")
    finally:
        client.delete_knowledge(base)
        client.delete_file(file)


if __name__ == "__main__":
    main()
