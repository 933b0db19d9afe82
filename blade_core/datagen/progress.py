"""The output and progress files of the LLM data generators (make-kit-data, augment-corpus).

Both append their records to OUT and one decision per item (kept, or dropped and why) to
`OUT.progress.jsonl`, flushed to disk, so a run can be interrupted anywhere: a re-run keeps what was
decided, retries what failed on LLM errors, and repeats no call (the answer cache,
`llm.accounting`). The progress file is also what marks OUT as theirs, so nothing else is replaced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel

from blade_core.data import write_jsonl
from blade_core.errors import BladeError, LLMError, OutputPathError
from blade_core.llm.answers import check_llm_answers
from blade_core.llm.resolve import mask_secrets
from blade_core.outputs import Inputs, check_not_an_input, check_writable

LLM_ERROR = "llm error"
_ERROR_CHARS = 300


class ResumeError(BladeError, RuntimeError):
    """A run that must not start as asked (an output already there, a disagreeing progress file)."""


class Outcome(BaseModel):
    """One processed question, as recorded in the progress file."""

    id: str
    kept: bool
    reason: str | None = None
    pairs: int = 0
    detail: str | None = None


def redact(text: str) -> str:
    """`text` with secrets masked (`mask_secrets`) and shortened, for the progress file."""
    return mask_secrets(text)[:_ERROR_CHARS]


def read_progress(path: Path) -> dict[str, Outcome]:
    """The latest outcome per id; a cut-off last line (an interrupted write) is ignored."""
    outcomes: dict[str, Outcome] = {}
    lines = path.read_bytes().splitlines(keepends=True)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            outcome = Outcome.model_validate_json(raw)
        except ValueError:
            if number == len(lines) and not raw.endswith(b"\n"):
                break
            raise ResumeError(
                f"{path}:{number}: not a progress record; delete the file and pass --overwrite"
            ) from None
        outcomes[outcome.id] = outcome
    return outcomes


def _trim_output(out: Path, lines: int) -> None:
    """Cut OUT back to the `lines` pairs the progress file accounts for.

    Pairs are appended before their progress records, so an interruption between the two leaves
    pairs the progress file does not know of; they are written again by the resumed run.
    """
    data = out.read_bytes() if out.exists() else b""
    complete = data.splitlines(keepends=True)
    complete = complete if not complete or complete[-1].endswith(b"\n") else complete[:-1]
    if len(complete) < lines:
        raise ResumeError(
            f"{out} holds {len(complete)} complete pairs but its progress file records {lines}; "
            "it was changed outside this command: pass --overwrite to start again"
        )
    if len(complete) > lines or len(data) != sum(map(len, complete)):
        kept = b"".join(complete[:lines])
        write_jsonl(out, (json.loads(line) for line in kept.splitlines()))


def prepare_output(out: Path, progress: Path, *, resume: bool, overwrite: bool, inputs: Inputs,
                   llm: BaseChatModel, cache: Path | None = None) -> dict[str, Outcome]:
    """Make OUT and its progress file consistent; return the outcomes a resumed run keeps.

    make-kit-data and augment-corpus share it: both append to OUT and record each decision in
    `progress`, which is also what marks OUT as theirs. OUT, its progress file and the LLM `cache`
    beside it must be none of `inputs`. `--overwrite` removes OUT only once `llm` has answered a
    test call: with the endpoint down, the earlier output is still there.
    """
    for path in (out, progress):
        check_not_an_input(path, "--out", inputs)
        if path.is_dir():
            raise OutputPathError(f"--out {out}: {path} is a folder; give a file name")
    if cache is not None:
        check_not_an_input(cache, "--cache-path", inputs)
    check_writable(out, "--out")
    if overwrite:
        if out.exists() or progress.exists():
            check_llm_answers(llm, before=f"--out {out}")
        out.unlink(missing_ok=True)
        progress.unlink(missing_ok=True)
        return {}
    if not out.exists() and not progress.exists():
        return {}
    if not resume:
        raise ResumeError(
            f"{out} already exists: pass --resume to continue it, or --overwrite to start again"
        )
    if not progress.exists():
        raise ResumeError(
            f"{out} exists but has no progress file ({progress.name}), so it was not written by "
            "this command, or which questions it holds is unknown: choose another --out, or pass "
            "--overwrite to replace it"
        )
    outcomes = read_progress(progress)
    _trim_output(out, sum(o.pairs for o in outcomes.values()))
    write_jsonl(progress, outcomes.values())  # drops a cut-off last line before appending
    return {i: o for i, o in outcomes.items() if o.reason != LLM_ERROR}


def stop_if_all_failed(outcomes: Sequence[Outcome]) -> None:
    """`LLMError` when every call of a chunk failed: the endpoint is down, and asking on would only
    record more failures. What was decided before is kept; a re-run retries the failed ones."""
    if outcomes and all(o.reason == LLM_ERROR for o in outcomes):
        raise LLMError(
            f"all {len(outcomes)} LLM calls of the last chunk failed (e.g. {outcomes[0].detail}); "
            "stopped rather than record more failures: fix the endpoint and run the same command "
            "again (progress is kept, and failed calls are retried)"
        )


def append_records(path: Path, records: Sequence[BaseModel]) -> None:
    with path.open("ab") as stream:
        for record in records:
            stream.write(record.model_dump_json().encode("utf-8") + b"\n")
        stream.flush()
        os.fsync(stream.fileno())
