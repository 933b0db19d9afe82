"""The public names of langchain_blade: adding or removing one is a deliberate API change."""

import langchain_blade

EXPECTED_ALL = [
    "SERIALIZABLE_MAPPING",
    "BladeHybridRetriever",
    "BladeKnowledgeRetriever",
    "BladeKnowledgeRunnable",
    "BladeLLM",
    "BladePromptValue",
    "__version__",
]


def test_all_imports() -> None:
    assert sorted(EXPECTED_ALL) == sorted(langchain_blade.__all__)
    for name in EXPECTED_ALL:
        assert getattr(langchain_blade, name) is not None


def test_serializable_mapping_resolves_every_lc_id() -> None:
    for lc_id, path in langchain_blade.SERIALIZABLE_MAPPING.items():
        cls = getattr(langchain_blade, lc_id[-1])
        assert list(lc_id) == cls.lc_id() and path == (*cls.__module__.split("."), cls.__name__)
