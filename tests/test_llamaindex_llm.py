"""BladeLLM (the domain LM as a LlamaIndex LLM), GeneralLLM and MiniLMEmbedding."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.indices.query.query_transform import HyDEQueryTransform
from llama_index.core.prompts.default_prompts import DEFAULT_HYDE_PROMPT

from blade_core.llm.offline import UNKNOWN_REPLY
from blade_core.writers.domain_lm import DomainLM
from llamaindex_blade import BladeLLM, GeneralLLM, MiniLMEmbedding
from tests.llamaindex_support import QUESTION, spy_generation_threads


@pytest.fixture(scope="module")
def lm(tiny_lm_dir: Path) -> DomainLM:
    return DomainLM.from_pretrained(tiny_lm_dir)


@pytest.fixture(scope="module")
def knowledge(lm: DomainLM) -> str:
    text = lm.generate_knowledge([QUESTION])[0]
    assert len(text.split()) > 1, "the stream tests need more than one piece of text"
    return text


def test_metadata_describes_the_model(lm: DomainLM) -> None:
    meta = BladeLLM(lm).metadata
    assert meta.context_window == lm.context_length
    assert meta.num_output == lm.config.generation.max_new_tokens
    assert meta.model_name == lm.name_or_path and not meta.is_chat_model
    assert BladeLLM(lm, max_new_tokens=7).metadata.num_output == 7


def test_complete_writes_the_knowledge(lm: DomainLM, knowledge: str) -> None:
    llm = BladeLLM(lm)
    assert llm.complete(QUESTION).text == knowledge
    short = llm.complete(QUESTION, max_new_tokens=3).text
    assert 0 < len(short.split()) <= 3 < len(knowledge.split())


def test_stream_complete_streams_what_complete_returns(lm: DomainLM, knowledge: str) -> None:
    responses = list(BladeLLM(lm).stream_complete(QUESTION))
    deltas = [r.delta for r in responses]
    assert len(deltas) > 1
    assert "".join(deltas) == knowledge == responses[-1].text


async def test_acomplete_runs_off_the_loop(
    lm: DomainLM, knowledge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = spy_generation_threads(lm, monkeypatch)
    assert (await BladeLLM(lm).acomplete(QUESTION)).text == knowledge
    assert threads and threading.get_ident() not in threads


async def test_astream_complete_streams_what_complete_returns(knowledge: str, lm: DomainLM) -> None:
    deltas = [r.delta async for r in await BladeLLM(lm).astream_complete(QUESTION)]
    assert len(deltas) > 1
    assert "".join(deltas) == knowledge


def test_works_where_llamaindex_takes_an_llm(lm: DomainLM) -> None:
    llm = BladeLLM(lm, max_new_tokens=24)
    bundle = HyDEQueryTransform(llm=llm, include_original=False).run(QUESTION)
    hyde_prompt = DEFAULT_HYDE_PROMPT.format(context_str=QUESTION)
    assert bundle.custom_embedding_strs == lm.generate_knowledge([hyde_prompt], max_new_tokens=24)


def test_accepts_a_model_directory(tiny_lm_dir: Path, knowledge: str) -> None:
    assert BladeLLM(tiny_lm_dir).complete(QUESTION).text == knowledge


async def test_bad_prompts_are_refused(lm: DomainLM) -> None:
    llm = BladeLLM(lm)
    with pytest.raises(ValueError, match="empty"):
        llm.complete("")
    with pytest.raises(ValueError, match="empty"):
        llm.stream_complete("  ")
    with pytest.raises(ValueError, match="empty"):
        await llm.acomplete("")
    with pytest.raises(ValueError, match="empty"):
        await llm.astream_complete("\n")
    with pytest.raises(ValueError, match="max_tokens"):
        llm.complete(QUESTION, max_tokens=5)


async def test_general_llm_passes_roles_and_context() -> None:
    llm = GeneralLLM.from_spec("offline")
    assert llm.metadata.is_chat_model and llm.metadata.model_name == "blade-offline"
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content="Quelmora treats copper lung. Sky is blue."),
        ChatMessage(role=MessageRole.USER, content="What does Quelmora treat?"),
    ]
    assert llm.chat(messages).message.content == "Quelmora treats copper lung."
    assert (await llm.achat(messages)).message.content == "Quelmora treats copper lung."
    assert llm.complete("What does Quelmora treat?").text == UNKNOWN_REPLY
    with pytest.raises(ValueError, match="role"):
        llm.chat([ChatMessage(role=MessageRole.TOOL, content="{}")])


def test_minilm_embedding_is_unit_length_and_symmetric() -> None:
    embedding = MiniLMEmbedding()
    query = np.array(embedding.get_query_embedding(QUESTION))
    texts = np.array(embedding.get_text_embedding_batch([QUESTION, "Skies are blue."]))
    assert query.shape == (384,) and np.isclose(np.linalg.norm(query), 1.0, atol=1e-5)
    assert np.allclose(query, texts[0], atol=1e-5) and texts[1] @ query < 0.9


def test_round_trips_through_to_dict_by_model_path(tiny_lm_dir: Path, lm: DomainLM, knowledge: str) -> None:
    llm = BladeLLM(lm, max_new_tokens=lm.config.generation.max_new_tokens)
    data = llm.to_dict()
    assert data["model_path"] == str(tiny_lm_dir) and data["class_name"] == "BladeLLM"
    revived = BladeLLM.from_dict(data)
    assert revived.complete(QUESTION).text == knowledge
    assert BladeLLM.from_json(llm.to_json()).model_path == str(tiny_lm_dir)
    with pytest.raises(ValueError, match="give the domain LM"):
        BladeLLM()


def test_general_llm_reports_the_context_window_it_is_given() -> None:
    from blade_core.llm import OfflineChatModel

    assert GeneralLLM(OfflineChatModel(), context_window=128_000).metadata.context_window == 128_000
    with pytest.raises(ValueError):
        GeneralLLM(OfflineChatModel(), context_window=0)
