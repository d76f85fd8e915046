"""The seeds' LiteLLM example, rewritten for the `openwebui/` provider.

    export OPENWEBUI_SERVER_URL=https://chat.example.com   # the address you open in the browser
    export OPENWEBUI_API_KEY=sk-...                        # Settings > Account > API keys
    export OPENWEBUI_MODEL=llama3.2                        # optional; the seeds' model by default
    python examples/litellm_seed_example.py

The seeds' version borrowed another provider's prefix, because LiteLLM needs one, and built the
route by hand (a bare name fails with "LLM Provider NOT provided", `ollama_chat/` with "Method Not
Allowed")::

    completion(
        model="featherless_ai/qwen2.5-coder:32b-instruct-fp16",
        api_key=os.environ["API_KEY"],
        api_base="https://<server>/ollama/v1/",
        messages=[...],
    )

Here the prefix is `openwebui/`, the model is the name as the server lists it, and the server URL
and key are the two settings from the environment; a wrong one is reported by layer and setting.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

from litellm import completion
from openai import OpenAIError

import openwebui_adapters.litellm  # noqa: F401  (registers the `openwebui/` provider)

MODEL_ID = os.environ.get("OPENWEBUI_MODEL", "qwen2.5-coder:32b-instruct-fp16")
# `nox -s demo` runs this against a local server whose model is a scripted stand-in (it echoes,
# calls the tools it is offered, fills schemas with samples): its answers are labelled there.
SCRIPTED = "[scripted local model] " if os.environ.get("OPENWEBUI_DEMO_SCRIPTED") else ""


def main() -> None:
    print("Shows: the seeds' featherless_ai/ + /ollama/v1/ recipe, rewritten to openwebui/")
    response = completion(
        model=f"openwebui/{MODEL_ID}",
        messages=[
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "Why is the sky blue? Answer in one sentence."},
        ],
    )
    print(f"{SCRIPTED}{response.choices[0].message.content}")


if __name__ == "__main__":
    try:
        main()
    except OpenAIError as error:  # every LiteLLM error class; ours name the setting to fix
        print(f"failed: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
