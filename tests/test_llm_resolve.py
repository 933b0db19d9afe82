"""resolve_llm: specs to chat models, keys kept out of reprs and errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_openai import ChatOpenAI

from blade_core.data.records import MCQuestion
from blade_core.errors import OptionError
from blade_core.llm import OfflineChatModel, resolve_llm
from blade_core.llm.answer_prompt import answer_prompt, format_mcq
from blade_core.llm.resolve import PLACEHOLDER_API_KEY
from blade_core.serve import OpenAICompatibleServer
from tests.local_llm_support import PROXY_VARS

SECRET = "sk-test-0123456789abcdefSECRET"
_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_ENV, *PROXY_VARS):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(OfflineChatModel()) as running:
        yield running


def test_offline_and_passthrough() -> None:
    assert isinstance(resolve_llm("offline"), OfflineChatModel)
    assert isinstance(resolve_llm(" Offline "), OfflineChatModel)
    model = FakeListChatModel(responses=["B"])
    assert resolve_llm(model) is model


def test_openai_spec_uses_env_key_without_leaking_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    model = resolve_llm("openai:gpt-4o-mini")
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4o-mini"
    assert model.temperature == 0.0 and model.max_retries == 6
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == SECRET
    for text in (repr(model), str(model), repr(model.model_dump())):
        assert SECRET not in text
    assert resolve_llm("openai:gpt-4o-mini", max_retries=2, temperature=0.3).max_retries == 2


def test_openai_without_key_or_base_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        resolve_llm("openai:gpt-4o-mini")


def test_openai_base_url_answers_over_http(
    server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    model = resolve_llm("openai:offline", max_retries=0, timeout=30)
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == PLACEHOLDER_API_KEY
    question = MCQuestion(
        id="q",
        question="What color is a ripe zorblax fruit?",
        options={"A": "Red", "B": "Violet", "C": "Orange", "D": "Yellow"},
        answer="B",
    )
    knowledge = "Zorblax fruit turns violet when it ripens."
    prompt = answer_prompt().invoke({"knowledge": knowledge, "question": format_mcq(question)})
    before = server.requests_served
    assert model.invoke(prompt).content == "B"
    assert server.requests_served == before + 1


@pytest.mark.parametrize(
    "spec", ["", "gpt-4o", "openai:", ":gpt-4o", "offline:", "no_such_provider:model", 42]
)
def test_bad_specs_raise_value_error(spec: object) -> None:
    with pytest.raises(ValueError, match="Accepted"):
        resolve_llm(spec)  # type: ignore[arg-type]


def test_other_provider_goes_through_init_chat_model_or_says_what_to_install() -> None:
    try:
        model = resolve_llm("anthropic:claude-3-5-haiku-latest", api_key=SECRET)
    except OptionError as error:  # langchain or langchain-anthropic is not installed
        assert "install" in str(error) and "langchain" in str(error)
        assert SECRET not in str(error)
    else:
        assert SECRET not in repr(model)
