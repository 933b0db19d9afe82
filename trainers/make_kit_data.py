"""Make KIT data: a general LLM writes, for each training question, the knowledge it needs.

    python trainers/make_kit_data.py --questions train.jsonl --llm openai:gpt-4o-mini \
        --out kit.jsonl --corpus corpus/

Thin on purpose: the options and the logic live in blade_core.datagen.
"""

from blade_core.cli.config_command import run_command
from blade_core.cli.datagen import make_kit_data_command

if __name__ == "__main__":
    run_command(make_kit_data_command)
