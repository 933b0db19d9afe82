"""DP: continued pretraining on domain text.

    python trainers/pretrain.py --help
    torchrun --nproc_per_node 2 trainers/pretrain.py ...     # DDP (gloo on CPU, nccl on GPUs)
    accelerate launch trainers/pretrain.py ... --deepspeed ds_config.json

Thin on purpose: the options and the logic live in blade_core.training.
"""

from blade_core.cli.config_command import run_command
from blade_core.cli.training import pretrain_command

if __name__ == "__main__":
    run_command(pretrain_command)
