"""A real pretrained LM as the general LLM: options scored by log-likelihood, as lm-eval does.

The offline stand-in (`offline.py`) judges by sentence-embedding similarity, which rewards any
sentence that names an option. A real LM reads the knowledge and the question and finds an option
likely or not, so it is the check that a knowledge recipe helps a language model rather than a
similarity score. Small base models (Gemma 3 270M) do not follow instructions, so the answer is
not generated: each option is scored as the continuation of

    {knowledge}
    Question: {question}
    Answer: {option text}

by its mean log-probability per token (length-normalized, lm-evaluation-harness's `acc_norm`).
The best option answers a single-answer question; for a multi-answer one, the options above the
largest drop in the sorted scores (`offline.choose_options`). Other prompts get a short greedy
continuation.

`resolve_llm("gemma-270m")` gives this judge on the packaged Gemma 3 270M; `resolve_llm("hf:PATH")`
on any local causal LM. Loading takes seconds once `packaged_models` has converted the GGUF.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from blade_core.llm.chunks import reply_chunks
from blade_core.llm.offline import MCQPrompt, choose_options, read_answer_prompt
from blade_core.model.hf_compat import CACHE
from blade_core.text import cut_at_stop

MAX_CONTEXT_TOKENS = 1536
"""Knowledge beyond this is cut from the left (its start), keeping the question whole."""


class LikelihoodChatModel(BaseChatModel):
    """A local causal LM that answers multiple-choice prompts by option log-likelihood."""

    model_path: str = Field(description="a model directory, a packaged model name or a hub id")
    max_new_tokens: int = Field(default=48, ge=1, description="length of replies to other prompts")
    min_multi: int = Field(default=2, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    """Accepted for interface parity and ignored: scoring is deterministic."""

    _loaded: tuple[Any, Any] | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "blade-likelihood"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path}

    def _model(self) -> tuple[Any, Any]:
        """(model, tokenizer), loaded on first use: resolving a spec stays instant."""
        if self._loaded is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from blade_core.model.checks import check_model_source, naming_the_source

            folder = check_model_source(self.model_path)
            source = str(folder) if folder is not None else self.model_path
            with naming_the_source(source, folder is not None):
                tokenizer = AutoTokenizer.from_pretrained(source)
                model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, use_safetensors=True)
            self._loaded = (model.eval(), tokenizer)
        return self._loaded

    def option_scores(self, prompt: MCQPrompt) -> dict[str, float]:
        """Mean log-probability per token of each option's text after the knowledge and question.

        The shared context runs once; its key/value cache is repeated for every option, so a long
        knowledge text costs one pass, not one per option.
        """
        import torch

        model, tokenizer = self._model()
        head = f"{prompt.knowledge}\n" if prompt.knowledge else ""
        context = _keep_end(tokenizer, tokenizer(f"{head}Question: {prompt.stem}\nAnswer:")["input_ids"])
        letters = list(prompt.options)
        endings = [tokenizer(" " + prompt.options[letter], add_special_tokens=False)["input_ids"] or
                   [tokenizer.eos_token_id] for letter in letters]
        width = max(map(len, endings))
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(endings), width), pad, dtype=torch.long)
        mask = torch.zeros((len(endings), len(context) + width), dtype=torch.long)
        mask[:, : len(context)] = 1
        for row, ending in enumerate(endings):
            ids[row, : len(ending)] = torch.tensor(ending)
            mask[row, len(context): len(context) + len(ending)] = 1
        with torch.inference_mode():
            shared = model(input_ids=torch.tensor([context]), use_cache=True)
            first = shared.logits[0, -1].float().log_softmax(-1)
            cache = shared[CACHE]
            cache.batch_repeat_interleave(len(endings))
            rest = model(input_ids=ids, attention_mask=mask, **{CACHE: cache}).logits.float().log_softmax(-1)
        scores = {}
        for row, (letter, ending) in enumerate(zip(letters, endings)):
            taken = [first[ending[0]]] + [rest[row, j - 1, ending[j]] for j in range(1, len(ending))]
            scores[letter] = float(torch.stack(taken).mean())
        return scores

    def reply(self, messages: list[BaseMessage]) -> str:
        """The letters for an answer prompt; a short greedy continuation for anything else."""
        with self._lock:  # one forward pass at a time: the weights and torch's threads are shared
            for message in reversed(messages):
                prompt = read_answer_prompt(str(message.text))
                if prompt is not None:
                    return ", ".join(choose_options(self.option_scores(prompt), prompt.multi, self.min_multi))
            return self._continue("\n".join(str(m.text) for m in messages))

    def _continue(self, text: str) -> str:
        import torch

        model, tokenizer = self._model()
        ids = torch.tensor([_keep_end(tokenizer, tokenizer(text)["input_ids"])])
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=self.max_new_tokens, pad_token_id=tokenizer.pad_token_id)
        return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = cut_at_stop(self.reply(messages), stop)
        message = AIMessage(content=text, response_metadata={"model_name": self.model_path, "finish_reason": "stop"})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from reply_chunks(cut_at_stop(self.reply(messages), stop), self.model_path, run_manager)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """Tracing's standard parameters: the model is named by its path or spec (or a call's own
        `model`)."""
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_model_name"] = kwargs.get("model") or self.model_path
        return params


def _keep_end(tokenizer: Any, ids: list[int]) -> list[int]:
    """The last `MAX_CONTEXT_TOKENS` of `ids`, the BOS token kept in front when there is one."""
    if len(ids) <= MAX_CONTEXT_TOKENS:
        return ids
    bos = ids[:1] if tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id else []
    return bos + ids[len(ids) - MAX_CONTEXT_TOKENS + len(bos):]
