"""Data a general LLM makes for training: KIT pairs (`make-kit-data`) and corpus rewrites
(`augment-corpus`). Both are cached, resumable and verified (`progress`, `llm.accounting`); both
sit above the LLM side and below the pipeline."""
