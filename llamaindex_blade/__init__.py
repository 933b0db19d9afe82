"""BLADE for LlamaIndex: a small domain LM writes the knowledge a general LLM reads.

Thin adapters over a `blade_core` knowledge writer (a `DomainLM` in this process, or an
`EndpointWriter` calling `blade serve` or vLLM), each a LlamaIndex base class, so BLADE drops into an
app where a query transform, a retriever, a node postprocessor or an LLM goes:

* `BladeQueryTransform` (+ `BladeTransformQueryEngine`, `BladeTransformRetriever`): knowledge into
  the synthesizer's prompt ("inject"), into what retrieval embeds ("hyde"), or both;
* `BladeKnowledgeRetriever`: knowledge nodes instead of retrieval;
* `BladeKnowledgeNodePostprocessor`: retrieval plus one knowledge node;
* `BladeLLM`: the domain LM itself as a LlamaIndex LLM;
* `GeneralLLM` and `MiniLMEmbedding`: the offline general LLM and the packaged MiniLM encoder, so
  all of it runs without network access.
"""

from blade_core import __version__
from llamaindex_blade.embeddings import MiniLMEmbedding
from llamaindex_blade.general_llm import GeneralLLM
from llamaindex_blade.llm import BladeLLM
from llamaindex_blade.postprocessor import BladeKnowledgeNodePostprocessor
from llamaindex_blade.query_transform import (
    DEFAULT_BLADE_PROMPT,
    BladeQueryBundle,
    BladeQueryTransform,
    BladeTransformQueryEngine,
    BladeTransformRetriever,
)
from llamaindex_blade.retriever import BladeKnowledgeRetriever

__all__ = [
    "DEFAULT_BLADE_PROMPT",
    "BladeKnowledgeNodePostprocessor",
    "BladeKnowledgeRetriever",
    "BladeLLM",
    "BladeQueryBundle",
    "BladeQueryTransform",
    "BladeTransformQueryEngine",
    "BladeTransformRetriever",
    "GeneralLLM",
    "MiniLMEmbedding",
    "__version__",
]
