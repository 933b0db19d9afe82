"""BLADE for LangChain: the domain LM as a runnable, a retriever and an LLM.

`SERIALIZABLE_MAPPING` lets `langchain_core.load.loads(..., allowed_objects="all",
valid_namespaces=["langchain_blade"], additional_import_mappings=SERIALIZABLE_MAPPING)` revive
chains that contain these classes (an explicit `allowed_objects=[...]` list works without it).
"""

from blade_core import __version__
from langchain_blade.llms import BladeLLM
from langchain_blade.retrievers import BladeHybridRetriever, BladeKnowledgeRetriever
from langchain_blade.runnable import BladeKnowledgeRunnable, BladePromptValue

SERIALIZABLE_MAPPING: dict[tuple[str, ...], tuple[str, ...]] = {
    ("langchain_blade", cls.__name__): (*cls.__module__.split("."), cls.__name__)
    for cls in (BladeKnowledgeRunnable, BladePromptValue, BladeKnowledgeRetriever, BladeLLM)
}
"""lc ids of this package's serializable classes -> their import paths."""

__all__ = [
    "SERIALIZABLE_MAPPING",
    "BladeHybridRetriever",
    "BladeKnowledgeRetriever",
    "BladeKnowledgeRunnable",
    "BladeLLM",
    "BladePromptValue",
    "__version__",
]
