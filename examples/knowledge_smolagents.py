"""A smolagents agent that answers from a knowledge base on the Open WebUI server.

    export OPENWEBUI_SERVER_URL=https://chat.example.com   # the address you open in the browser
    export OPENWEBUI_API_KEY=sk-...                        # Settings > Account > API keys
    export OPENWEBUI_MODEL=llama3.1:8b                     # optional; default "llama3.2"
    python examples/knowledge_smolagents.py

Uploads a short text file into a new knowledge base, asks `OpenWebUIModel(files=[...])` about it
(the sources are in `ChatMessage.raw["sources"]` and `model.last_citations`), gives a
`ToolCallingAgent` the knowledge base as an `OpenWebUIKnowledgeTool`, and deletes what it created.
"""

from __future__ import annotations

import os

from smolagents import ToolCallingAgent

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters.smolagents import OpenWebUIKnowledgeTool, OpenWebUIModel

MODEL = os.environ.get("OPENWEBUI_MODEL", "llama3.2")
# `nox -s demo` runs this against a local server whose model is a scripted stand-in (it echoes,
# calls the tools it is offered, fills schemas with samples): its answers are labelled there.
SCRIPTED = "[scripted local model] " if os.environ.get("OPENWEBUI_DEMO_SCRIPTED") else ""
DOCUMENT = b"The staff canteen opens at 11:30 and serves soup on Thursdays.\n"


def main() -> None:
    print("Shows: OpenWebUIModel answering from a knowledge base, and OpenWebUIKnowledgeTool")
    client = OpenWebUIClient()
    file = client.upload_file(DOCUMENT, filename="canteen.txt")
    base = client.create_knowledge("Office handbook (smolagents demo)")
    try:
        client.add_file_to_knowledge(base, file)

        model = OpenWebUIModel(MODEL, files=[base.name])
        message = model.generate([{"role": "user", "content": "When does the canteen open?"}])
        print(f"answer: {SCRIPTED}{message.content!r}")
        for citation in model.last_citations:
            print(f"  source: {citation.file_name} (distance {citation.distance})")

        search = OpenWebUIKnowledgeTool(base.name, k=2)
        print(f"tool result: {search('canteen opening hours')!r}")
        agent = ToolCallingAgent(tools=[search], model=OpenWebUIModel(MODEL), max_steps=3)
        print(f"agent: {SCRIPTED}{agent.run('Search the handbook: when does the canteen open?')!r}")
    finally:
        client.delete_knowledge(base)
        client.delete_file(file)


if __name__ == "__main__":
    main()
