"""Chinese domains end to end (the paper's JEC-QA setting): text handling, names, augmentation,
retrieval, the offline judge and the packaged Chinese sample domain, each on that domain's files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from blade_core.data import load_corpus, load_instructions, load_mcq
from blade_core.knowledge.gate import anchors, names_all
from blade_core.knowledge.names import domain_names, names_in
from blade_core.knowledge.options import option_pairs
from blade_core.sample_domain import load_sample_domain
from blade_core.text import (
    corpus_sentences,
    is_cjk,
    lexical_tokens,
    mentions,
    recurring_terms,
    split_passages,
    text_units,
)
from blade_core.training.augmentation import entity_documents
from blade_core.training.stand_alone import stand_alone
from scripts.domain_shapes import generate

ZH = load_sample_domain(language="zh")


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return [s for doc in load_corpus(ZH.corpus) for s in corpus_sentences(doc.text)]


@pytest.fixture(scope="module")
def regulations() -> list[str]:
    """The invented regulations the test questions name as options (reverse questions)."""
    return sorted({o for q in load_mcq(ZH.test) for o in q.options.values() if o.endswith("条例")})


def test_the_packaged_domain_is_chinese_in_the_jecqa_layout() -> None:
    first = (ZH.test.read_text(encoding="utf-8").splitlines())[0]
    assert '"statement"' in first and '"option_list"' in first and ZH.general is None
    questions = load_mcq(ZH.test)
    assert len(questions) == 90 and all(q.knowledge for q in questions)
    assert sum(len(q.answer) > 1 for q in questions) >= 10  # multi-answer, as JEC-QA has
    assert is_cjk(questions[0].question) and len(load_instructions(ZH.kit)) > 500
    assert ZH.readme.is_file()


def test_generation_is_deterministic(tmp_path: Path) -> None:
    generate("zh_statutes", tmp_path, seed=0, entities=60)
    for name in ("corpus", "train", "dev", "test", "kit"):
        assert (tmp_path / f"{name}.jsonl").read_bytes() == (ZH.root / f"{name}.jsonl").read_bytes(), name


def test_sentences_passages_and_tokens_read_chinese() -> None:
    text = "违反潮港渔税条例的，最高罚金为四十贯。潮港渔税条例由巡守署负责执行！它禁止夜间捕鱼？"
    assert corpus_sentences(text) == ["违反潮港渔税条例的，最高罚金为四十贯。", "潮港渔税条例由巡守署负责执行！",
                                      "它禁止夜间捕鱼？"]
    assert text_units("四十贯 and more") == 5
    document = "。".join(["潮港渔税条例由巡守署负责执行"] * 40) + "。"  # 600 characters, no spaces
    passages = split_passages(document, 120)
    assert len(passages) == 5 and "".join(passages) == document and " " not in passages[0]
    assert lexical_tokens("四十贯 Act 12") == ["四十", "十贯", "act", "12"]
    assert mentions("它禁止夜间捕鱼", "夜间捕鱼") and not mentions("Vellum", "Vell")


def test_the_regulations_are_found_as_names_without_a_dictionary(sentences: list[str],
                                                                 regulations: list[str]) -> None:
    names = domain_names(sentences)
    assert set(regulations) <= set(names)
    assert "潮港" in recurring_terms(sentences) and "违反潮港渔税条例" not in names  # a name, not its company
    # a name is not also its parts, and one name that only overlaps another is still found
    assert names_in("潮港渔税条例将夜间捕鱼定为罪行。", names) >= {"潮港渔税条例", "夜间捕鱼"}
    assert "潮港" not in names_in("潮港渔税条例将夜间捕鱼定为罪行。", names)


def test_the_gate_keeps_the_gold_knowledge_and_withholds_other_regulations(sentences: list[str]) -> None:
    names = domain_names(sentences)
    for question in load_mcq(ZH.test):
        views = anchors(question.question, list(question.options.values()), names)
        assert views is None or names_all(question.knowledge or "", views[0], names), question.id
    asked = anchors("潮港渔税条例规定的最高罚金是多少？", ["四十贯", "九十贯"], names)
    assert asked is not None and not names_all("潮港引航条例规定的最高刑期为五年。", asked[0], names)


def test_entity_documents_gather_each_regulations_facts(sentences: list[str], regulations: list[str]) -> None:
    documents = entity_documents(stand_alone(load_corpus(ZH.corpus)), copies=1)
    by_name = {d.source.split(":", 1)[1].split("#")[0]: d.text for d in documents}
    assert set(regulations) <= set(by_name)
    text = by_name[regulations[0]]
    assert " " not in text and text.count(regulations[0]) >= 4  # its fine, term, authority, offences


def test_option_pairs_find_chinese_options() -> None:
    question = "哪一部条例由巡守署负责执行？\nA. 潮港渔税条例\nB. 盐仓引航条例"
    knowledge = "潮港渔税条例由巡守署负责执行。盐仓引航条例由港务司负责执行。"
    assert option_pairs(question, knowledge) == [
        ("哪一部条例由巡守署负责执行？\nA. 潮港渔税条例", "潮港渔税条例由巡守署负责执行。"),
        ("哪一部条例由巡守署负责执行？\nA. 盐仓引航条例", "盐仓引航条例由港务司负责执行。"),
    ]


def test_bm25_is_chosen_for_a_chinese_corpus_and_finds_the_facts(caplog: pytest.LogCaptureFixture) -> None:
    from blade_core.retrieval import PassageIndex

    index = PassageIndex.from_corpus([ZH.corpus], 120)
    assert index.retriever == "bm25"
    questions = load_mcq(ZH.test)
    found = index.search([q.with_options_text() for q in questions], 3)
    hits = sum(any((q.knowledge or "").rstrip("。") in p for p in passages) for q, passages in zip(questions, found))
    assert hits >= 0.6 * len(questions)
    with caplog.at_level(logging.WARNING):
        assert PassageIndex(["潮港渔税条例由巡守署负责执行。", "盐仓引航条例由港务司负责执行。"], "minilm").vectors is not None
    assert "MiniLM is an English model" in caplog.text


def test_the_offline_judge_reads_chinese_knowledge() -> None:
    """With the gold knowledge it answers nearly all; with none it is near chance."""
    from blade_core.llm import OfflineChatModel
    from blade_core.llm.scoring import ask_with_knowledge

    questions = load_mcq(ZH.test)
    judge = OfflineChatModel()
    gold = ask_with_knowledge(judge, questions, [q.knowledge for q in questions])
    none = ask_with_knowledge(judge, questions, [None for _ in questions])
    assert sum(a.correct for a in gold) >= 0.9 * len(questions)
    assert sum(a.correct for a in none) <= 0.5 * len(questions)


@pytest.mark.parametrize("written", [
    "A．走私牛脂 B．夜间捕鱼 C．伪造印章",
    "A．走私牛脂B．夜间捕鱼C．伪造印章",
    "（A）走私牛脂（B）夜间捕鱼（C）伪造印章",
    "A、走私牛脂  B、夜间捕鱼  C、伪造印章",
])
def test_options_printed_on_one_line_are_read(written: str) -> None:
    from blade_core.knowledge.options import split_options

    assert split_options(f"下列哪些行为被禁止？\n{written}") == ("下列哪些行为被禁止？", ["走私牛脂", "夜间捕鱼", "伪造印章"])


def test_running_text_naming_letters_is_not_split_into_options() -> None:
    from blade_core.text import expand_inline_options

    assert expand_inline_options("Use plan A. Then B. is fine.") == "Use plan A. Then B. is fine."
    assert expand_inline_options("Grades: B. good, A. best") == "Grades: B. good, A. best"


def test_question_forms_are_learned_from_chinese_kit_pairs() -> None:
    """Chinese answers share an opening in characters, not words: "违反{}的，最高罚金为..."."""
    from blade_core.training.question_forms import with_question_forms

    pairs, line = with_question_forms(stand_alone(load_corpus(ZH.corpus)), load_instructions(ZH.kit))
    assert "{}规定的最高罚金是多少？ -> 违反{}的，最高罚金为" in line
    added = pairs[len(load_instructions(ZH.kit)):]
    assert len(added) >= 50
    assert all(pair.output in ZH.corpus.read_text(encoding="utf-8") for pair in added)  # the corpus's own sentences


def test_fact_recall_cuts_chinese_facts_in_characters() -> None:
    from blade_core.training.fact_recall import _split, facts_to_check

    assert _split("违反潮港渔税条例的，最高罚金为四十贯。", ["潮港渔税条例"]) == (
        "违反潮港渔税条例", list("的，最高罚金为四十贯。"))
    facts, source = facts_to_check([ZH.corpus], ZH.test)
    assert source == "test facts" and len(facts) == 60


def test_the_scratch_tokenizer_keeps_chinese_characters_apart() -> None:
    """BPE on a small Chinese corpus would fuse whole phrases ("最高罚金为四十贯") into one token;
    each character stays its own piece, while English words still merge."""
    from blade_core.training.model_builder import train_tokenizer

    texts = [d.text for d in load_corpus(ZH.corpus)] + ["the highest fine under the act"] * 20
    tokenizer = train_tokenizer(texts, 4096, 1024)
    sentence = "违反潮港渔税条例的，最高罚金为四十贯。"
    pieces = [tokenizer.decode([i]) for i in tokenizer(sentence)["input_ids"]]
    assert pieces == list(sentence)
    assert len(tokenizer("the highest fine")["input_ids"]) <= 3
