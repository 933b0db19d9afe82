"""The offline stand-in general model on a tiny invented domain (it cannot know any of it)."""

from __future__ import annotations

import copy
import pickle

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompt_values import PromptValue

from blade_core.data.records import MCQuestion
from blade_core.llm import UNKNOWN_REPLY, OfflineChatModel
from blade_core.llm.answer_prompt import answer_prompt, format_mcq, knowledge_or_placeholder, parse_answer
from blade_core.retrieval import load_minilm

COLOR = MCQuestion(
    id="color",
    question="What color is a ripe zorblax fruit?",
    options={"A": "Red", "B": "Violet", "C": "Orange", "D": "Yellow"},
    answer="B",
)
CROPS = MCQuestion(
    id="crops",
    question="Which crops do Keth farmers grow?",
    options={"A": "Zorblax", "B": "Stonewheat", "C": "Mirefruit", "D": "Glassberries"},
    answer="AC",
)
FINE = MCQuestion(
    id="fine",
    question="Under the Velmar Code, what is the penalty for selling spoiled fruit?",
    options={
        "A": "Exile",
        "B": "A fine of three silver marks",
        "C": "Loss of a hand",
        "D": "Ten days in prison",
    },
    answer="B",
)
FEVER = MCQuestion(
    id="fever",
    question="Which treatments are used for greyleaf fever?",
    options={
        "A": "An infusion of dried sunmoss",
        "B": "Mirefruit paste",
        "C": "Rest in a dark room",
        "D": "Cold baths",
    },
    answer="AC",
)
VELTAMOL = MCQuestion(
    id="veltamol",
    question="What are the most common side effects of Veltamol?",
    options={"A": "Dizziness", "B": "Hair loss", "C": "Dry mouth", "D": "Fever"},
    answer="AC",
)
CAPITAL = MCQuestion(
    id="capital",
    question="What is the capital of the Ulm Republic?",
    options={"A": "Morrow", "B": "Teverin", "C": "Saradon", "D": "Keth"},
    answer="C",
)

KNOWLEDGE = {
    "color": "Zorblax fruit turns violet when it ripens. It grows only in the Keth valleys. "
    "Farmers harvest it in the cold season.",
    "crops": "Keth farmers grow zorblax and mirefruit on their terraces. Glassberries are imported "
    "from the coast of Ulm. Stonewheat is banned in Keth.",
    "fine": "Under the Velmar Code, a trader who sells spoiled fruit must pay a fine of three "
    "silver marks. Repeat offenders lose their market license. Theft from a temple is punished by "
    "exile.",
    "fever": "Greyleaf fever is treated with an infusion of dried sunmoss. Patients with "
    "greyleaf fever should also rest in a dark room for five days. Bone rot is treated with "
    "mirefruit paste.",
    "veltamol": "Drug Veltamol is contraindicated in patients with kidney failure. Its most common "
    "side effects are dizziness and dry mouth. It should be taken with food.",
    "capital": "The capital of the Ulm Republic is Saradon. Its largest port is Teverin. The old "
    "capital, Morrow, was abandoned after the flood.",
}
CASES = [COLOR, CROPS, FINE, FEVER, VELTAMOL, CAPITAL]


@pytest.fixture(scope="module")
def model() -> OfflineChatModel:
    model = OfflineChatModel()
    load_minilm()  # the few-second load happens once, here
    return model


def prompt(question: MCQuestion, knowledge: str | None) -> PromptValue:
    return answer_prompt().invoke(
        {"knowledge": knowledge_or_placeholder(knowledge), "question": format_mcq(question)}
    )


def answer(model: OfflineChatModel, question: MCQuestion, knowledge: str | None) -> frozenset[str]:
    reply = model.invoke(prompt(question, knowledge))
    return parse_answer(str(reply.content), question.letters)


@pytest.mark.parametrize("question", CASES, ids=lambda q: q.id)
def test_right_knowledge_gives_right_answer(model: OfflineChatModel, question: MCQuestion) -> None:
    assert answer(model, question, KNOWLEDGE[question.id]) == frozenset(question.answer)


def test_reply_is_letters_only_in_the_asked_format(model: OfflineChatModel) -> None:
    assert model.invoke(prompt(COLOR, KNOWLEDGE["color"])).content == "B"
    assert model.invoke(prompt(CROPS, KNOWLEDGE["crops"])).content == "A, C"


def test_answer_follows_the_knowledge(model: OfflineChatModel) -> None:
    orange = "Zorblax fruit turns bright orange when it ripens. It grows only in the Keth valleys."
    assert answer(model, COLOR, orange) == {"C"}
    other_crops = (
        "Keth farmers grow stonewheat and glassberries on their terraces. Zorblax is imported "
        "from Ulm. Mirefruit is banned in Keth."
    )
    assert answer(model, CROPS, other_crops) == {"B", "D"}


def test_no_knowledge_still_answers(model: OfflineChatModel) -> None:
    for question in CASES:
        got = answer(model, question, None)
        expected_size = 2 if question.multi else 1
        assert len(got) == expected_size and got <= set(question.letters)


def test_deterministic(model: OfflineChatModel) -> None:
    replies = {model.invoke(prompt(FEVER, KNOWLEDGE["fever"])).content for _ in range(3)}
    replies.add(OfflineChatModel().invoke(prompt(FEVER, KNOWLEDGE["fever"])).content)
    replies.add(copy.deepcopy(model).invoke(prompt(FEVER, KNOWLEDGE["fever"])).content)
    replies.add(pickle.loads(pickle.dumps(model)).invoke(prompt(FEVER, KNOWLEDGE["fever"])).content)
    assert replies == {"A, C"}


def test_stream_matches_invoke(model: OfflineChatModel) -> None:
    for question in (COLOR, CROPS):
        value = prompt(question, KNOWLEDGE[question.id])
        chunks = list(model.stream(value))
        assert len(chunks) > 1
        assert "".join(str(c.content) for c in chunks) == model.invoke(value).content


def test_usage_metadata(model: OfflineChatModel) -> None:
    reply = model.invoke(prompt(COLOR, KNOWLEDGE["color"]))
    assert isinstance(reply, AIMessage) and reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] == 1
    assert reply.usage_metadata["input_tokens"] > 20


async def test_async_paths(model: OfflineChatModel) -> None:
    value = prompt(CROPS, KNOWLEDGE["crops"])
    assert (await model.ainvoke(value)).content == "A, C"
    chunks = [chunk async for chunk in model.astream(value)]
    assert "".join(str(c.content) for c in chunks) == "A, C"


def test_other_prompt_gets_most_relevant_supplied_sentence(model: OfflineChatModel) -> None:
    context = (
        "<context>Zorblax fruit turns violet when it ripens. It grows only in the Keth valleys. "
        "Stonewheat is banned in Keth.</context>"
    )
    reply = model.invoke(
        [
            SystemMessage("Answer from the context."),
            HumanMessage(f"{context}\nQuestion: What is banned in Keth?"),
        ]
    )
    assert reply.content == "Stonewheat is banned in Keth."
    chat = [
        HumanMessage("Mirefruit grows in the marshes of Ulm. Zorblax grows in the Keth valleys."),
        AIMessage("Noted."),
        HumanMessage("Where does mirefruit grow?"),
    ]
    assert model.invoke(chat).content == "Mirefruit grows in the marshes of Ulm."


def test_other_prompt_without_material_says_it_does_not_know(model: OfflineChatModel) -> None:
    assert model.invoke("What color is a ripe zorblax?").content == UNKNOWN_REPLY


def test_concurrent_calls_agree_with_serial_ones() -> None:
    fresh = OfflineChatModel()  # empty cache: the threads really encode at the same time
    prompts = [prompt(q, KNOWLEDGE[q.id]) for q in CASES] * 2
    parallel = fresh.batch(prompts, config={"max_concurrency": 8})
    assert [r.content for r in parallel] == [fresh.invoke(p).content for p in prompts]


def test_minilm_embeddings_are_normalized_and_offline(model: OfflineChatModel) -> None:
    import math
    import os

    from blade_core.retrieval import MiniLMEmbeddings, minilm_path

    assert (minilm_path() / "modules.json").exists()
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    embeddings = MiniLMEmbeddings()
    docs = embeddings.embed_documents(["Zorblax is violet.", "Stonewheat is banned in Keth."])
    assert len(docs) == 2 and len(docs[0]) == 384
    assert all(math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-4) for vector in docs)
    query = embeddings.embed_query("Zorblax is violet.")
    assert max(abs(a - b) for a, b in zip(query, docs[0], strict=True)) < 1e-4
