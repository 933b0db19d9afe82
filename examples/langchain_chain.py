"""BLADE in a LangChain chain: the domain LM writes knowledge, a general chat model answers with it.

    python examples/langchain_chain.py [MODEL_DIR] [--question "..."]

MODEL_DIR is a BLADE model directory (e.g. the output of KIT or BPO). Without one, a tiny
from-scratch model is built on the packaged sample corpus in a temporary folder; it is UNTRAINED,
so its "knowledge" is noise and only the plumbing is shown. The general model is ChatOpenAI when
OPENAI_API_KEY is set (OPENAI_MODEL picks the model, default gpt-4o-mini), else the offline stand-in.
Runs offline; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from blade_core.data.corpus import load_corpus
from blade_core.data.mcq import load_mcq
from blade_core.llm import resolve_llm
from blade_core.llm.answer_prompt import format_mcq, parse_answer
from blade_core.sample_domain import load_sample_domain
from blade_core.training.model_builder import init_model
from langchain_blade import BladeKnowledgeRunnable


def general_model_spec() -> str:
    if os.environ.get("OPENAI_API_KEY"):
        return f"openai:{os.environ.get('OPENAI_MODEL', 'gpt-4o-mini')}"
    return "offline"


def run(model_dir: Path, question: str | None) -> None:
    domain = load_sample_domain()
    mcq = load_mcq(domain.dev)[0]
    text = question or format_mcq(mcq)
    spec = general_model_spec()
    llm = resolve_llm(spec)
    print(f"general model: {spec}\nquestion:\n{text}\n")

    # 1. The one-liner: knowledge -> answer-with-knowledge prompt -> chat model.
    blade = BladeKnowledgeRunnable.from_pretrained(model_dir, max_new_tokens=64)
    chain = blade | llm | StrOutputParser()

    # 2. The knowledge as it is written (str mode streams it), for auditing.
    print("knowledge: ", end="", flush=True)
    for piece in blade.model_copy(update={"output": "str"}).stream(text):
        print(piece, end="", flush=True)
    print("\n")

    answer = "".join(chain.stream(text))
    print(f"answer: {answer}")
    if question is None:
        print(f"read as: {sorted(parse_answer(answer, tuple(mcq.options)))}  gold: {sorted(mcq.answer)}")

    # 3. A custom prompt over dict mode, keeping the knowledge next to the answer.
    notes = ChatPromptTemplate.from_messages([
        ("system", "Answer with the letters of the correct options only."),
        ("human", "Reference notes:\n<knowledge>\n{knowledge}\n</knowledge>\n\n"
                  "<question>\n{question}\n</question>"),
    ])
    with_knowledge = RunnablePassthrough.assign(
        answer=blade.model_copy(update={"output": "dict"}) | notes | llm | StrOutputParser()
    )
    print(f"\ndict mode in RunnablePassthrough.assign: {with_knowledge.invoke({'question': text})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("model_dir", nargs="?", type=Path, help="a BLADE model directory")
    parser.add_argument("--question", help="a question (default: the first sample dev question)")
    args = parser.parse_args()
    if args.model_dir is not None:
        run(args.model_dir, args.question)
        return
    with tempfile.TemporaryDirectory(prefix="blade-example-") as tmp:
        model_dir = init_model(load_corpus(load_sample_domain().corpus), Path(tmp) / "model")
        print(f"NOTE: no model directory given; built an UNTRAINED tiny model in {model_dir}.\n"
              "Its knowledge is noise: train one (DP, KIT, BPO) and pass its directory.\n")
        run(model_dir, args.question)


if __name__ == "__main__":
    main()
