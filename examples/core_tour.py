"""What the package does for you, shown on your server: the route, the model id and the diagnosis.

    export OPENWEBUI_SERVER_URL=https://chat.example.com   # the address you open in the browser
    export OPENWEBUI_API_KEY=sk-...                        # Settings > Account > API keys
    export OPENWEBUI_MODEL=llama3.1:8b                     # optional; default "llama3.2"
    python examples/core_tour.py

(`python stack/run.py start` then `eval "$(python stack/run.py env)"` gives a local server.)

Five things a person gets wrong and what the package makes of them: a URL pasted with an API
path, a model written as a person writes it, a misspelled model, a wrong key, and then the
doctor's walk through every layer. Uses the core only (httpx), no framework.
"""

from __future__ import annotations

import os
import sys

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters.doctor import Doctor, format_result
from openwebui_adapters.errors import AuthenticationError, ModelNotFoundError, OpenWebUIError

SERVER = os.environ.get("OPENWEBUI_SERVER_URL", "")
MODEL = os.environ.get("OPENWEBUI_MODEL", "llama3.2")
# `nox -s demo` runs this against a local server whose model is a scripted stand-in (it echoes,
# calls the tools it is offered, fills schemas with samples): its answers are labelled there.
SCRIPTED = "[scripted local model] " if os.environ.get("OPENWEBUI_DEMO_SCRIPTED") else ""
# The local demo stack has a workspace model whose display name differs from its id.
DISPLAY_NAME = os.environ.get("OPENWEBUI_DEMO_DISPLAY_NAME")


def ask(client: OpenWebUIClient, model: str, text: str) -> dict[str, object]:
    return client.chat({"model": model, "messages": [{"role": "user", "content": text}]})


def answer_of(result: dict[str, object]) -> str:
    choices = result.get("choices")
    assert isinstance(choices, list)
    return str(choices[0]["message"].get("content") or "")


def fail(why: str) -> int:
    print(f"   unexpected: {why}")
    return 1


def main() -> int:
    print("Shows: what the core does with a pasted URL, a model name as people write it, a typo,")
    print(
        "       a wrong key, and the doctor's walk through every layer (no framework, httpx only)"
    )
    print("1. A URL pasted with an API path is reduced to the server")
    pasted = SERVER.rstrip("/") + "/ollama/v1"
    client = OpenWebUIClient(pasted)
    print(f"   given {pasted!r} -> calls go to {client.settings.server_url}/api/chat/completions")
    print(f"   answer: {SCRIPTED}{answer_of(ask(client, MODEL, 'Hello from a pasted URL'))!r}")

    print("2. A model written as a person writes it finds its id")
    for written in [MODEL.upper(), *([DISPLAY_NAME] if DISPLAY_NAME else [])]:
        answer = answer_of(ask(client, written, "Which model am I talking to?"))
        sent = client.resolve_model(written)
        print(f"   {written!r} -> sent as {sent!r}; answer: {SCRIPTED}{answer!r}")

    print("3. A misspelled model is answered with the closest ids")
    typo = MODEL[:-1] if len(MODEL) > 3 else MODEL + "x"
    try:
        ask(client, typo, "anyone?")
    except ModelNotFoundError as error:
        print(f"   {typo!r}: {error.message}; suggestions: {error.suggestions}")
    else:
        return fail(f"{typo!r} was accepted")

    print("4. A wrong key names the setting to change")
    try:
        ask(OpenWebUIClient(pasted, "sk-this-key-is-wrong", max_retries=0), MODEL, "let me in")
    except AuthenticationError as error:
        print(f"   layer {error.layer!r}, setting {error.setting!r}: {error.hint}")
    else:
        return fail("a wrong key was accepted")

    print("5. The doctor walks every layer")
    passed = True
    for check in Doctor(model=MODEL).run():
        print("   " + format_result(check))
        passed = passed and check.ok is True
    return 0 if passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OpenWebUIError as error:
        sys.exit(f"{type(error).__name__}: {error}")
