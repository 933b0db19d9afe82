"""Outputs: blade replaces only what it wrote, and what it writes has the user's umask permissions."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.errors import OutputPathError
from blade_core.model.config import BladeConfig
from blade_core.outputs import MANIFEST, WORK_MARKER, prepare_file, prepare_model_directory
from blade_core.writers.domain_lm import DomainLM


@pytest.fixture()
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_saving_never_replaces_a_folder_blade_did_not_write(tiny_lm: DomainLM, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputPathError, match="blade did not write; it is never replaced"):
        tiny_lm.save_pretrained(mine)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    with pytest.raises(OutputPathError, match="is a file"):
        tiny_lm.save_pretrained(mine / "thesis.tex")
    assert (mine / "thesis.tex").read_text() == "years of work"

    empty = tmp_path / "empty"
    empty.mkdir()
    tiny_lm.save_pretrained(empty)  # an empty folder holds nothing to lose
    tiny_lm.save_pretrained(empty)  # and a model directory blade wrote may be saved over
    assert (empty / "blade.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary folder was left"


def test_model_directories_and_reports_get_the_umask_permissions(
    tiny_lm: DomainLM, tmp_path: Path, umask_022: None
) -> None:
    tiny_lm.save_pretrained(tmp_path / "model")
    assert mode(tmp_path / "model") == 0o755  # not mkdtemp's 0700: a serving user can read it
    assert {mode(p) for p in (tmp_path / "model").rglob("*") if p.is_file()} == {0o644}

    questions = tmp_path / "q.jsonl"
    questions.write_text((Path(__file__).parents[1] / "blade_core/sample_domain/data/dev.jsonl")
                         .read_text().splitlines(keepends=True)[0])
    result = CliRunner().invoke(app, ["eval", "--test", str(questions), "--llm", "offline", "--modes", "none",
                                      "--out", str(tmp_path / "report.json"), "--no-progress"])
    assert result.exit_code == 0, result.output
    written = [tmp_path / name for name in ("report.json", "report.questions.jsonl", "report.png")]
    assert [mode(p) for p in written] == [0o644] * 3  # not mkstemp's 0600


def test_output_rules(tmp_path: Path) -> None:
    corpus = tmp_path / "data"
    corpus.mkdir()
    (corpus / "a.txt").write_text("text")
    inputs = {"--corpus": [corpus]}
    for out, says in ((corpus, "is the input"), (corpus / "model", "is inside the input"),
                      (tmp_path, "holds the input")):
        with pytest.raises(OutputPathError, match=says):
            prepare_model_directory(out, inputs=inputs, overwrite=True)
    hub_id = {"--model": ["Qwen/Qwen2.5-0.5B"]}  # no such path here: nothing to protect
    prepare_model_directory(tmp_path / "Qwen", inputs=hub_id, overwrite=False)

    marked = tmp_path / "work"
    marked.mkdir()
    (marked / WORK_MARKER).write_text('{"written_by": "blade"}')  # what make_work_directory writes
    with pytest.raises(OutputPathError, match="pass --overwrite"):
        prepare_model_directory(marked, inputs={}, overwrite=False)
    prepare_model_directory(marked, inputs={}, overwrite=True)

    report = tmp_path / "report.json"
    report.write_text("{}")
    with pytest.raises(OutputPathError, match="already exists; pass --overwrite"):
        prepare_file(report, inputs={}, overwrite=False)
    prepare_file(report, inputs={}, overwrite=True)
    with pytest.raises(OutputPathError, match="is inside the input"):
        prepare_file(corpus / "new.jsonl", inputs=inputs, overwrite=True)


def test_quickstart_overwrite_removes_only_its_own_folder(tmp_path: Path) -> None:
    from blade_core.pipeline.run import prepare_out

    out = tmp_path / "qs"
    prepare_out(out, "offline", None, overwrite=False)
    (out / "dp").mkdir()
    BladeConfig().save(out / "dp")  # a stage blade wrote
    (out / "report.md").write_text("the earlier report")
    (out / "notes.md").write_text("my notes on the run")  # the user's
    (out / "plots").mkdir()
    (out / "plots" / "mine.png").write_bytes(b"png")
    assert json.loads((out / WORK_MARKER).read_text())["written_by"] == "blade"
    prepare_out(out, "offline", None, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [WORK_MARKER, "notes.md", "plots"]  # the earlier run is gone
    assert (out / "notes.md").read_text() == "my notes on the run" and (out / "plots" / "mine.png").exists()

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("keep")
    with pytest.raises(OutputPathError, match="blade did not write it"):
        prepare_out(theirs, "offline", None, overwrite=True)
    assert (theirs / "keep.txt").read_text() == "keep"


def test_a_file_named_blade_json_is_not_enough_to_be_blades(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "blade.json").write_text('{"theme": "dark"}')
    (project / "main.py").write_text("print('mine')")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": f"Zorvanil {i} treats marsh fever."}) + "\n" for i in range(20)))
    result = CliRunner().invoke(app, ["init-model", "--corpus", str(corpus), "--out", str(project), "--overwrite"])
    assert result.exit_code == 2 and "is a folder blade did not write" in result.stderr
    assert sorted(p.name for p in project.iterdir()) == ["blade.json", "main.py", "src"]


def test_overwrite_replaces_what_blade_wrote_and_keeps_what_the_user_added(tiny_lm: DomainLM, tmp_path: Path) -> None:
    model = tmp_path / "model"
    tiny_lm.save_pretrained(model)
    (model / "my-eval-notes.md").write_text("what I found")
    manifest = json.loads((model / MANIFEST).read_text())["files"]
    assert "blade.json" in manifest and "my-eval-notes.md" not in manifest
    tiny_lm.config.provenance.dev_score = 0.5
    tiny_lm.save_pretrained(model)  # what --overwrite does once the checks have passed
    assert (model / "my-eval-notes.md").read_text() == "what I found"
    assert DomainLM.from_pretrained(model).config.provenance.dev_score == 0.5


def test_train_overwrite_with_the_endpoint_down_removes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blade_core.errors import LLMError
    from blade_core.pipeline.run import prepare_out
    from tests.local_llm_support import bypass_proxies

    out = tmp_path / "run"
    prepare_out(out, "offline", None, overwrite=False)
    (out / "dp").mkdir()
    BladeConfig().save(out / "dp")
    (out / "notes.md").write_text("mine")
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    bypass_proxies(monkeypatch)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with pytest.raises(LLMError, match=rf"did not answer a test call .*--out {out} is kept"):
        prepare_out(out, "openai:gpt-x", None, overwrite=True)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
