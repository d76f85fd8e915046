"""A key the admin restricted to the chat route (`ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS`, with
`API_KEY_ALLOWED_ENDPOINTS=/api/chat/completions`), on the live stack (`nox -s live`).

The restriction is switched on through Open WebUI's admin config API with the admin's session
token that stack/run.py keeps in .stack/state.json (an API key cannot switch it off again: the
restriction refuses it that route), and switched back to what it was when the module ends.
Open WebUI 0.6 refuses such a key every other route, even /api/version; 0.12 all but its
public ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core import exceptions as lc
from litellm import exceptions as llm

from library_chats import LIBRARIES, chat, core_error, names
from openwebui_adapters import errors
from openwebui_adapters.doctor import Doctor, format_result
from stack_scripts import load_stack_script

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning"),
]

CONFIG_PATH = "/api/v1/auths/admin/config"
ALLOWED = "/api/chat/completions"
# What each library's users catch for the core's ModelNotFoundError.
NOT_FOUND = {"litellm": llm.NotFoundError, "litellm_async": llm.NotFoundError}


@pytest.fixture(scope="module")
def restricted(owui_target: Any) -> Iterator[Any]:
    """The session's server with API keys restricted to the chat route, for this module."""
    state = load_stack_script("run").read_state()
    if state is None or state.server_url != owui_target.server_url.rstrip("/"):
        pytest.skip(
            "the server under test is not the local stack (OPENWEBUI_SERVER_URL is set): "
            "its admin session is unknown, so its API key settings cannot be changed"
        )
    if not state.admin_token:
        pytest.skip(
            "the running stack was started before stack/run.py kept the admin's session token: "
            "restart it (python stack/run.py stop, then start)"
        )
    admin = httpx.Client(
        base_url=state.server_url, headers={"Authorization": f"Bearer {state.admin_token}"}
    )
    before = admin.get(CONFIG_PATH).raise_for_status().json()
    switched = {
        **before,
        "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": True,
        "API_KEYS_ALLOWED_ENDPOINTS": ALLOWED,
    }
    admin.post(CONFIG_PATH, json=switched).raise_for_status()
    try:
        models = httpx.get(
            f"{state.server_url}/api/models",
            headers={"Authorization": f"Bearer {owui_target.api_key}"},
        )
        assert models.status_code == 403, "the restriction did not take effect"
        yield owui_target
    finally:
        admin.post(CONFIG_PATH, json=before).raise_for_status()
        admin.close()


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_chat_with_the_exact_id_works(restricted: Any, library: str) -> None:
    model = restricted.models["ollama"]  # stub-llama:latest
    answer = chat(library, restricted.server_url, restricted.api_key, model, "exact id")
    assert answer


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_tagless_name_fails_saying_the_model_list_was_refused(
    restricted: Any, library: str
) -> None:
    """`stub-llama` for `stub-llama:latest` is resolved against the model list, which this key
    may not read: the error says so, and that names must then be exact ids."""
    tagless = restricted.models["ollama"].removesuffix(":latest")
    with pytest.raises(Exception) as caught:  # noqa: PT011  (the class is checked below)
        chat(library, restricted.server_url, restricted.api_key, tagless, "tagless", max_retries=0)
    error = caught.value
    core = core_error(error)
    if library in NOT_FOUND:
        assert type(error) is NOT_FOUND[library], repr(error)
    elif library == "langchain":
        assert isinstance(error, lc.ModelNotFoundError), repr(error)
    assert isinstance(core, errors.ModelNotFoundError), repr(core)
    assert (core.layer, core.model) == ("model", tagless)
    assert core.setting == ("model_id" if library == "smolagents" else "model")
    assert "this key may not read the model list (GET /api/models answered 403" in core.message
    assert "write the model's exact id" in core.hint
    assert "API_KEY_ALLOWED_ENDPOINTS" in core.hint
    assert names(library)["server_url"] not in core.hint  # the URL is not at fault


def test_the_doctor_passes_with_a_note_and_skips_nothing(restricted: Any) -> None:
    model = restricted.models["ollama"]
    results = list(Doctor(restricted.server_url, restricted.api_key, model=model).run())
    for result in results:
        print(format_result(result))  # shown when the test fails
    assert [(r.name, r.ok) for r in results if r.ok is not True] == []
    found = {result.name: result for result in results}
    assert found["api key"].detail == (
        "the server accepted the key for the chat route, but refused the model list"
    )
    assert "the admin restricts API keys to some endpoints" in f"{found['api key'].hint}"
    assert "give the model's exact id" in f"{found['api key'].hint}"
    assert found["models"].detail == "not listed: this key may not read the model list"
    assert found["model"].detail.startswith(f"{model!r} is sent as written")
    assert found["chat"].detail.startswith("answered ")
    assert found["stream"].detail.endswith("ended with [DONE]")


def test_the_doctor_with_a_tagless_name_fails_at_the_chat_with_the_same_reason(
    restricted: Any,
) -> None:
    tagless = restricted.models["ollama"].removesuffix(":latest")
    results = list(Doctor(restricted.server_url, restricted.api_key, model=tagless).run())
    failed = [result for result in results if result.ok is False]
    assert [result.name for result in failed] == ["chat"]
    assert "this key may not read the model list" in failed[0].detail
    assert failed[0].setting == "model"
