"""BLADE in a LlamaIndex app, offline, on the packaged sample domain (an invented pharmacopoeia).

    python examples/llamaindex_query.py [MODEL_DIR] [--question "..."] [--llm offline|openai:MODEL]

Three ways to put the domain LM's knowledge in front of the general LLM:

1. a query transform over a vector index (knowledge in the synthesizer's prompt);
2. a retriever that *is* BLADE (no document store at all, as in the paper);
3. a node postprocessor (retrieved passages plus one knowledge node).

Without MODEL_DIR an untrained tiny model is built in a temporary folder, so the pipeline runs but
the knowledge is noise; train one first (see the README's quickstart) for meaningful knowledge.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.prompts import PromptTemplate
from llama_index.core.query_engine import RetrieverQueryEngine

from blade_core.data import load_corpus
from blade_core.sample_domain import load_sample_domain
from blade_core.training.model_builder import init_model
from blade_core.writers.domain_lm import DomainLM
from llamaindex_blade import (
    BladeKnowledgeNodePostprocessor,
    BladeKnowledgeRetriever,
    BladeQueryTransform,
    BladeTransformQueryEngine,
    GeneralLLM,
    MiniLMEmbedding,
)

# Context inside tags: the offline stand-in LLM reads tagged sections as its reference material, and
# tags keep any LLM from mistaking passages for instructions.
QA_PROMPT = PromptTemplate(
    "<context>\n{context_str}\n</context>\n\n"
    "Answer the query from the context above, not from prior knowledge.\n"
    "Query: {query_str}\nAnswer: "
)
GENERATION = {"max_new_tokens": 64}
NOTHING = "(the model wrote nothing)"


def load_model(model_dir: Path | None, scratch: Path) -> DomainLM:
    if model_dir is not None:
        return DomainLM.from_pretrained(model_dir)
    print("No model directory given: building an UNTRAINED tiny model, so the knowledge below is")
    print("noise or empty. Pass a trained model directory to see real domain knowledge.\n")
    documents = load_corpus(load_sample_domain().corpus)
    return DomainLM.from_pretrained(init_model(documents, scratch / "tiny"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", nargs="?", type=Path, help="a BLADE model directory")
    parser.add_argument("--question", default="Which drug is indicated for river flux?")
    parser.add_argument("--llm", default="offline", help="general LLM: offline or openai:MODEL")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        lm = load_model(args.model_dir, Path(scratch))  # loaded once, shared by every component
        llm = GeneralLLM.from_spec(args.llm)
        corpus = load_corpus(load_sample_domain().corpus)
        index = VectorStoreIndex.from_documents(
            [Document(text=d.text) for d in corpus], embed_model=MiniLMEmbedding()
        )

        print(f"Question: {args.question}\n")
        transform = BladeQueryTransform(lm, mode="inject", generation=GENERATION)
        engine = BladeTransformQueryEngine(
            index.as_query_engine(llm=llm, similarity_top_k=2, text_qa_template=QA_PROMPT),
            query_transform=transform,
        )
        response = engine.query(args.question)
        print("1. Query transform (retrieval + injected knowledge)")
        print(f"   knowledge: {response.metadata['blade_knowledge'] or NOTHING}")
        print(f"   answer:    {response}\n")

        blade_only = RetrieverQueryEngine.from_args(
            BladeKnowledgeRetriever(lm, generation=GENERATION),
            llm=llm,
            text_qa_template=QA_PROMPT,
        )
        response = blade_only.query(args.question)
        print("2. BLADE as the retriever (no document store)")
        written = [n.node.get_content() for n in response.source_nodes]
        print(f"   knowledge: {written[0] if written else NOTHING}")
        print(f"   answer:    {response}\n")

        hybrid = index.as_query_engine(
            llm=llm,
            similarity_top_k=2,
            text_qa_template=QA_PROMPT,
            node_postprocessors=[BladeKnowledgeNodePostprocessor(lm, generation=GENERATION)],
        )
        response = hybrid.query(args.question)
        sources = [n.node.metadata.get("source", "index") for n in response.source_nodes]
        print("3. Retrieval plus one knowledge node")
        print(f"   sources:   {sources}")
        print(f"   answer:    {response}")


if __name__ == "__main__":
    main()
