"""BPO: Bayesian optimization of the soft prompt against the black-box LLM.

    python trainers/bpo.py --help
    python trainers/bpo.py --model kit-model --dev dev.jsonl --llm openai:gpt-4o-mini --out bpo-model

Thin on purpose: the options and the logic live in blade_core.bpo.
"""

from blade_core.cli.bpo import bpo_command
from blade_core.cli.config_command import run_command

if __name__ == "__main__":
    run_command(bpo_command)
