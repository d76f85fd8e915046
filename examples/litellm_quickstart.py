"""LiteLLM on an Open WebUI server: a plain answer, a stream and a tool call.

    export OPENWEBUI_SERVER_URL=https://chat.example.com   # the address you open in the browser
    export OPENWEBUI_API_KEY=sk-...                        # Settings > Account > API keys
    export OPENWEBUI_MODEL=llama3.1:8b                     # optional; default "llama3.2"
    python examples/litellm_quickstart.py

(`python stack/run.py start` then `eval "$(python stack/run.py env)"` gives a local server.)

`import openwebui_adapters.litellm` registers the `openwebui/` provider; after that the model is
`openwebui/<name as the server lists it>` and the server URL and key come from the environment
(or `api_base=` / `api_key=`). Exits non-zero, with the layer and setting to fix, on failure.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm
import openai

import openwebui_adapters.litellm  # noqa: F401  (registers the `openwebui/` provider)

MODEL = f"openwebui/{os.environ.get('OPENWEBUI_MODEL', 'llama3.2')}"
# `nox -s demo` runs this against a local server whose model is a scripted stand-in (it echoes,
# calls the tools it is offered, fills schemas with samples): its answers are labelled there.
SCRIPTED = "[scripted local model] " if os.environ.get("OPENWEBUI_DEMO_SCRIPTED") else ""
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "the city's name"}},
            "required": ["city"],
        },
    },
}


def main() -> None:
    print("Shows: LiteLLM's `openwebui/` provider: a plain answer, a stream, a tool call")
    litellm.suppress_debug_info = True  # our errors already say what to fix

    answer = litellm.completion(
        model=MODEL, messages=[{"role": "user", "content": "Say hello in five words."}]
    )
    print(f"[{answer.model}] {SCRIPTED}{answer.choices[0].message.content}")
    print(f"usage: {answer.usage.prompt_tokens} in, {answer.usage.completion_tokens} out")

    print(f"stream: {SCRIPTED}", end="", flush=True)
    for chunk in litellm.completion(
        model=MODEL, messages=[{"role": "user", "content": "Count from one to five."}], stream=True
    ):
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    print()

    reply = litellm.completion(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the weather in 'Lyon'?"}],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
    )
    calls = reply.choices[0].message.tool_calls or []
    if not calls:
        raise SystemExit(f"expected a tool call, got: {reply.choices[0].message.content!r}")
    for call in calls:
        print(f"tool call: {SCRIPTED}{call.function.name}({json.loads(call.function.arguments)})")


if __name__ == "__main__":
    try:
        main()
    except openai.OpenAIError as error:  # the base of every LiteLLM error class
        print(f"failed: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
