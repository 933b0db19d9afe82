"""Turn a user's choice of general LLM ("offline", "openai:gpt-4o-mini", ...) into a chat model.

BLADE treats the general LLM as a black box behind LangChain's `BaseChatModel`, so every stage
(BPO, evaluation, the integrations) takes either a model object or one of these short specs:

* a `BaseChatModel` instance: used as is;
* ``"offline"``: the MiniLM stand-in (`OfflineChatModel`), for machines without an API;
* ``"gemma-270m"`` (the packaged Gemma 3 270M) or ``"hf:PATH"`` (any local causal LM): a real LM
  that answers by option log-likelihood (`LikelihoodChatModel`), offline too;
* ``"openai:MODEL"``: `ChatOpenAI`, honouring OPENAI_API_KEY and OPENAI_BASE_URL, so any
  OpenAI-compatible server (vLLM, Ollama, llama.cpp, `blade_core.serve`) works;
* ``"PROVIDER:MODEL"``: LangChain's `init_chat_model` (needs the `langchain` package and the
  provider's integration package, e.g. ``langchain-anthropic``).

API keys are never put into messages or logs here; ChatOpenAI keeps them as `SecretStr`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from langchain_core._api import LangChainDeprecationWarning
from langchain_core.language_models.chat_models import BaseChatModel
from pydantic import SecretStr

from blade_core.client_options import MAX_RETRIES
from blade_core.errors import OptionError
from blade_core.llm.offline import OfflineChatModel
from blade_core.model.packaged import is_packaged

ACCEPTED_FORMS = (
    "a LangChain BaseChatModel instance, 'offline', 'gemma-270m', 'hf:MODEL_DIR', 'openai:MODEL' (OpenAI or any "
    "OpenAI-compatible server via OPENAI_BASE_URL), or 'PROVIDER:MODEL' for LangChain's "
    "init_chat_model (e.g. 'anthropic:claude-3-5-haiku-latest', 'ollama:llama3.1')"
)
PLACEHOLDER_API_KEY = "EMPTY"
"""Sent to a custom OPENAI_BASE_URL when no key is set: local servers (vLLM, Ollama) ignore it,
but the OpenAI client refuses to be built without one."""
_SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET")


def mask_secrets(text: str) -> str:
    """`text` with the values of secret-looking environment variables (`*_API_KEY`, ...) masked.

    LLM errors are written to reports, answer files and progress files, and some APIs and proxies
    echo what the client sent, its key among it, in their error messages.
    """
    for name, value in os.environ.items():
        if name.upper().endswith(_SECRET_SUFFIXES) and len(value) >= 8:
            text = text.replace(value, "***")
    return text


def _bad_spec(spec: object, why: str) -> OptionError:
    return OptionError(f"cannot resolve LLM spec {spec!r}: {why}. Accepted: {ACCEPTED_FORMS}")


def _openai(model: str, **kwargs: Any) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    base_url = kwargs.pop("base_url", None) or os.environ.get("OPENAI_BASE_URL") or os.environ.get(
        "OPENAI_API_BASE"
    )
    api_key = kwargs.pop("api_key", None) or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        if not base_url:
            raise OptionError(
                "resolving 'openai:...' needs OPENAI_API_KEY, or OPENAI_BASE_URL pointing at an "
                "OpenAI-compatible server (then a placeholder key is sent)"
            )
        api_key = PLACEHOLDER_API_KEY
    kwargs.setdefault("temperature", 0.0)
    kwargs.setdefault("max_retries", MAX_RETRIES)
    return ChatOpenAI(model=model, api_key=api_key if isinstance(api_key, SecretStr) else SecretStr(api_key), base_url=base_url, **kwargs)


def _init_chat_model(provider: str, model: str, spec: str, **kwargs: Any) -> BaseChatModel:
    quiet = False
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        try:  # the same helper, kept by langchain-classic (a langchain-community dependency)
            from langchain_classic.chat_models import init_chat_model

            quiet = True  # it warns that `langchain` now maintains it; nothing for users to do
        except ImportError:
            raise _bad_spec(spec, "other providers go through LangChain's init_chat_model: "
                            f"`pip install langchain` plus the provider's package (e.g. langchain-{provider})"
                            ) from None
    kwargs.setdefault("temperature", 0.0)
    try:
        with warnings.catch_warnings():
            if quiet:
                warnings.simplefilter("ignore", LangChainDeprecationWarning)
            model_obj = init_chat_model(model, model_provider=provider, **kwargs)
    except ImportError as error:  # the provider's integration package is not installed
        raise _bad_spec(spec, f"{error}; install the provider's package") from None
    except ValueError as error:
        if "Unsupported" in str(error) or "infer model provider" in str(error):
            raise _bad_spec(spec, f"unknown provider {provider!r}") from None
        raise _bad_spec(spec, " ".join(str(error).split())) from None
    if not isinstance(model_obj, BaseChatModel):  # pragma: no cover - configurable models
        raise _bad_spec(spec, "init_chat_model did not return a chat model")
    return model_obj


def resolve_llm(spec: str | BaseChatModel, **kwargs: Any) -> BaseChatModel:
    """The chat model `spec` names (see the module docstring); `kwargs` go to its constructor.

    For ``openai:`` specs, `temperature` defaults to 0 and `max_retries` to 6 so transient API
    errors (429, 5xx, timeouts) are retried by the SDK with backoff; `api_key` / `base_url` kwargs
    override the environment. ``"offline"`` ignores kwargs it has no field for (`max_retries`,
    `timeout`), so one call site can pass the same kwargs whatever the spec.
    """
    if isinstance(spec, BaseChatModel):
        return spec
    if not isinstance(spec, str):
        raise _bad_spec(spec, f"expected a string or BaseChatModel, got {type(spec).__name__}")
    text = spec.strip()
    if text.lower() == "offline":
        return OfflineChatModel(**kwargs)
    if is_packaged(text) or text.lower().startswith("hf:"):
        from blade_core.llm.likelihood import LikelihoodChatModel

        return LikelihoodChatModel(model_path=text[3:] if text.lower().startswith("hf:") else text)
    provider, sep, model = text.partition(":")
    provider, model = provider.strip().lower(), model.strip()
    if not sep or not provider or not model:
        raise _bad_spec(spec, "expected 'offline' or 'provider:model'")
    if provider == "openai":
        return _openai(model, **kwargs)
    return _init_chat_model(provider, model, spec, **kwargs)


def runs_here(model: BaseChatModel) -> bool:
    """Whether `model` answers in this process (the offline stand-in, a local likelihood judge),
    so that no endpoint can be down."""
    return model._llm_type in ("blade-offline", "blade-likelihood")
