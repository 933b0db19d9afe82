"""Knowledge augmentation for DP: a general LLM paraphrases the corpus and asks questions of it.

    python trainers/augment_corpus.py --corpus corpus.jsonl --llm openai:gpt-4o-mini \
        --out augmented.jsonl

Thin on purpose: the options and the logic live in blade_core.datagen.augment_corpus.
"""

from blade_core.cli.config_command import run_command
from blade_core.cli.datagen import augment_corpus_command

if __name__ == "__main__":
    run_command(augment_corpus_command)
