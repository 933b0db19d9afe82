"""`blade serve` and `EndpointWriter`: knowledge written through a local completions server over real
HTTP is the knowledge `DomainLM` writes in-process; concurrent requests share generate calls; a
full queue, a bad request and a server that is down are reported, never turned into knowledge."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.load import dumps, loads
from langchain_openai import ChatOpenAI

from blade_core.errors import KnowledgeEndpointError, OptionError
from blade_core.llm.offline import OfflineChatModel
from blade_core.model.config import BladeConfig
from blade_core.model.export import export_model
from blade_core.serve import OpenAICompatibleServer
from blade_core.serve.completions import KnowledgeServer
from blade_core.writers.domain_lm import DomainLM
from blade_core.writers.endpoint import EndpointWriter
from langchain_blade import BladeKnowledgeRetriever, BladeKnowledgeRunnable
from llamaindex_blade import BladeKnowledgeRetriever as LlamaIndexRetriever
from tests.local_llm_support import bypass_proxies

QUESTIONS = ["What is Zorvanil indicated for?", "Which house makes Quelmora?\nA. House Tessaly\nB. Orrin Brothers",
             "Who must not take Brantovex?", "What is the maximum daily dose of Mevlocaine?"]
SETTINGS = {"max_new_tokens": 24, "entity_gate": False}


@pytest.fixture(autouse=True)
def _local(monkeypatch: pytest.MonkeyPatch) -> None:
    bypass_proxies(monkeypatch)


@pytest.fixture(scope="module")
def lm(soft_prompted_lm_dir: Path) -> DomainLM:
    return DomainLM.from_pretrained(soft_prompted_lm_dir)


@pytest.fixture(scope="module")
def server(soft_prompted_lm_dir: Path) -> Iterator[KnowledgeServer]:
    """The BLADE model directory itself, exported in memory, as `blade serve` serves it."""
    with KnowledgeServer.from_directory(soft_prompted_lm_dir, batch_wait=0.05) as running:
        yield running


def test_endpoint_writes_what_domain_lm_writes(lm: DomainLM, server: KnowledgeServer) -> None:
    writer = EndpointWriter.connect(server.base_url)
    assert writer.config.names == lm.config.names and writer.context_length == lm.context_length
    for settings in (SETTINGS, {**SETTINGS, "option_knowledge": False}):
        local = lm.generate_knowledge(QUESTIONS, **settings)
        assert any(local) and writer.generate_knowledge(QUESTIONS, batch_size=3, **settings) == local
    # every sentence's confidence comes back through logprobs, so the guards decide alike
    remote = writer.write_knowledge(QUESTIONS, **SETTINGS)
    for there, here in zip(remote, lm.write_knowledge(QUESTIONS, **SETTINGS)):
        assert [s.text for v in there.views for s in v.sentences] == [s.text for v in here.views for s in v.sentences]
        assert [s.confidence for v in there.views for s in v.sentences] == pytest.approx(
            [s.confidence for v in here.views for s in v.sentences], rel=1e-4)
    # a threshold between two sentences' confidences, not on one: the two sides agree to ~1e-7 only
    values = sorted({round(s.confidence, 4) for w in remote for v in w.views for s in v.sentences})
    middle = (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2
    guarded = {**SETTINGS, "min_confidence": middle}
    withheld = writer.generate_knowledge(QUESTIONS, **guarded)
    assert withheld == lm.generate_knowledge(QUESTIONS, **guarded) != writer.generate_knowledge(QUESTIONS, **SETTINGS)
    assert "".join(writer.stream_knowledge(QUESTIONS[1], **SETTINGS)) == lm.generate_knowledge(QUESTIONS[1:2], **SETTINGS)[0]


def test_the_entity_gate_decides_alike_without_logprobs(soft_prompted_lm_dir: Path, tmp_path: Path) -> None:
    """The gate reads sentences, not confidences: with min_confidence 0 no logprobs are asked for,
    and the sentences must still reach it (they once did not, and every text came back empty)."""
    model = tmp_path / "named"
    shutil.copytree(soft_prompted_lm_dir, model)
    config = BladeConfig.load(model)
    assert config is not None
    config.names = ["Zorvanil", "Quelmora", "Brantovex", "Mevlocaine", "House Tessaly"]
    config.save(model)
    gated = {"max_new_tokens": 24, "entity_gate": True, "min_confidence": 0.0}
    local = DomainLM.from_pretrained(model).generate_knowledge(QUESTIONS, **gated)
    with KnowledgeServer.from_directory(model) as served:
        assert any(local) and EndpointWriter.connect(served.base_url).generate_knowledge(
            QUESTIONS, **gated) == local


def test_a_vllm_style_server_of_the_export_directory(lm: DomainLM, soft_prompted_lm_dir: Path,
                                                    tmp_path: Path) -> None:
    """An engine serving `blade export`'s directory describes no BLADE prompt: the client reads it
    from the export's files, and writes the same knowledge."""
    export_model(soft_prompted_lm_dir, tmp_path / "export")
    with KnowledgeServer.from_directory(tmp_path / "export", model_name="domain") as served:
        client = openai.OpenAI(base_url=served.base_url, api_key="none")
        assert [m.id for m in client.models.list()] == ["domain"]
        writer = EndpointWriter.connect(served.base_url, "domain", export=tmp_path / "export")
        assert writer.generate_knowledge(QUESTIONS, **SETTINGS) == lm.generate_knowledge(QUESTIONS, **SETTINGS)
        with pytest.raises(OptionError, match="not a `blade export` directory"):
            EndpointWriter.connect(served.base_url, "domain", export=soft_prompted_lm_dir)


def test_concurrent_requests_share_generate_calls(lm: DomainLM, server: KnowledgeServer) -> None:
    writer = EndpointWriter.connect(server.base_url)
    plain = {**SETTINGS, "option_knowledge": False}
    before = server.batcher.generate_calls
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda q: writer.generate_knowledge([q], **plain)[0], QUESTIONS * 2))
    calls = server.batcher.generate_calls - before
    assert answers == lm.generate_knowledge(QUESTIONS * 2, **plain)
    assert calls < len(answers), f"{len(answers)} single-question requests took {calls} generate calls"


def test_completions_api_stop_and_stream(server: KnowledgeServer) -> None:
    """The OpenAI completions semantics a plain client relies on: the text ends before a stop
    string, streamed text adds up to the whole, logprobs line up with the text."""
    client = openai.OpenAI(base_url=server.base_url, api_key="none")
    prompt = server.prompt_file["prompt"].format(question=QUESTIONS[0])
    whole = client.completions.create(model=server.model_name, prompt=prompt, max_tokens=24, temperature=0,
                                      logprobs=1, extra_body={"add_special_tokens": False}).choices[0]
    assert whole.text and whole.logprobs is not None and "".join(whole.logprobs.tokens or []) == whole.text
    stop = whole.text.strip().split()[2]
    cut = client.completions.create(model=server.model_name, prompt=prompt, max_tokens=24, temperature=0,
                                    stop=[stop], extra_body={"add_special_tokens": False}).choices[0]
    assert cut.finish_reason == "stop" and cut.text == whole.text[: whole.text.index(stop)]

    def streamed(**stop: Any) -> list[str]:
        return [c.choices[0].text for c in client.completions.create(
            model=server.model_name, prompt=prompt, max_tokens=24, temperature=0, stream=True,
            extra_body={"add_special_tokens": False}, **stop) if c.choices]

    pieces = streamed()
    assert len([p for p in pieces if p]) > 2 and "".join(pieces) == whole.text
    assert "".join(streamed(stop=[stop])) == cut.text


def test_request_mistakes_are_answered_400_naming_the_field(server: KnowledgeServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        unknown = http.post("/completions", json={"prompt": "x", "frequency_penalty": 1})
        too_long = http.post("/completions", json={"prompt": [1] * server.lm.context_length, "max_tokens": 8})
        other_model = http.post("/completions", json={"prompt": "x", "model": "gpt-4"})
        bad_id = http.post("/completions", json={"prompt": [10**9]})
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "frequency_penalty"
    assert too_long.status_code == 400 and "exceed the model's context" in too_long.json()["error"]["message"]
    assert other_model.status_code == 404 and server.model_name in other_model.json()["error"]["message"]
    assert bad_id.status_code == 400 and "vocabulary" in bad_id.json()["error"]["message"]


def test_a_full_queue_is_answered_503_with_retry_after(soft_prompted_lm_dir: Path) -> None:
    with KnowledgeServer.from_directory(soft_prompted_lm_dir, max_batch=1, batch_wait=0, max_queue=1) as served:
        release, generating = threading.Event(), threading.Event()
        complete = served.lm.complete

        def held(*args: Any, **kwargs: Any) -> Any:  # the model busy until the test lets it go
            generating.set()
            release.wait(30)
            return complete(*args, **kwargs)

        served.lm.complete = held  # type: ignore[method-assign]
        body = {"prompt": "Zorvanil", "max_tokens": 4}
        with httpx.Client(base_url=served.base_url, timeout=60) as http, ThreadPoolExecutor(2) as pool:
            first = pool.submit(http.post, "/completions", json=body)
            assert generating.wait(30)
            queued = pool.submit(http.post, "/completions", json=body)
            while served.batcher._queue.qsize() < 1:
                threading.Event().wait(0.01)
            refused = http.post("/completions", json=body)
            release.set()
            assert first.result().status_code == queued.result().status_code == 200
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"


def test_a_server_that_is_down_is_an_error_not_empty_knowledge(soft_prompted_lm_dir: Path) -> None:
    served = KnowledgeServer.from_directory(soft_prompted_lm_dir).start()
    writer = EndpointWriter.connect(served.base_url, max_retries=1, timeout=5)
    chain = BladeKnowledgeRunnable(model=writer, output="str")
    served.stop()
    with pytest.raises(KnowledgeEndpointError, match="failed"):
        writer.generate_knowledge(QUESTIONS[:1])
    with pytest.raises(KnowledgeEndpointError):
        chain.invoke(QUESTIONS[0])
    with pytest.raises(KnowledgeEndpointError, match="did not list its models"):
        EndpointWriter.connect(writer.base_url, max_retries=0, timeout=5)


def test_langchain_chain_from_endpoint_answers_as_in_process(lm: DomainLM, server: KnowledgeServer) -> None:
    with OpenAICompatibleServer(OfflineChatModel()) as llm_server:
        chat = ChatOpenAI(base_url=llm_server.base_url, api_key="x", model="offline", max_retries=0, timeout=60)
        remote = BladeKnowledgeRunnable.from_endpoint(server.base_url, max_retries=1, timeout=60, **SETTINGS)
        assert isinstance(remote.lm, EndpointWriter) and remote.lm._client.max_retries == 1  # connection options reach the client
        local = BladeKnowledgeRunnable(model=lm, **SETTINGS)
        answers = [m.content for m in (remote | chat).batch(QUESTIONS)]
        assert answers == [m.content for m in (local | chat).batch(QUESTIONS)]
        knowledge = [p.knowledge for p in remote.batch(QUESTIONS)]
        assert any(knowledge) and knowledge == lm.generate_knowledge(QUESTIONS, **SETTINGS)
    streamed = "".join(BladeKnowledgeRunnable.from_endpoint(server.base_url, output="str", **SETTINGS)
                       .stream(QUESTIONS[1]))
    assert streamed == knowledge[1]
    again = loads(dumps(remote), allowed_objects=[BladeKnowledgeRunnable], valid_namespaces=["langchain_blade"])
    assert isinstance(again.lm, EndpointWriter) and again.invoke(QUESTIONS[0]).knowledge == knowledge[0]
    documents = BladeKnowledgeRetriever.from_endpoint(server.base_url, **SETTINGS).invoke(QUESTIONS[0])
    assert [d.page_content for d in documents] == knowledge[:1]


def test_llamaindex_retriever_from_an_endpoint_reference(lm: DomainLM, server: KnowledgeServer) -> None:
    reference = EndpointWriter.connect(server.base_url).name_or_path
    assert reference is not None and reference.startswith(server.base_url + "#model=")
    nodes = LlamaIndexRetriever(reference, generation=SETTINGS).retrieve(QUESTIONS[0])
    assert [n.node.get_content() for n in nodes] == lm.generate_knowledge(QUESTIONS[:1], **SETTINGS)
    assert nodes[0].node.metadata["model"] == reference


@pytest.mark.slow
def test_blade_serve_as_a_user_runs_it(lm: DomainLM, soft_prompted_lm_dir: Path) -> None:
    command = [sys.executable, "-m", "blade_core.cli", "serve", "--model", str(soft_prompted_lm_dir), "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}) as served:
        assert served.stdout is not None
        url = served.stdout.readline().split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        writer = EndpointWriter.connect(url, soft_prompted_lm_dir.name)
        assert writer.generate_knowledge(QUESTIONS, **SETTINGS) == lm.generate_knowledge(QUESTIONS, **SETTINGS)
        served.send_signal(signal.SIGTERM)
        assert served.wait(timeout=30) == 0
