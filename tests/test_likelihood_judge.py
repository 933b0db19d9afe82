"""A real LM as the general LLM: options scored by their log-likelihood after the knowledge.

These run on the tiny test model (`hf:` spec); the packaged Gemma 3 270M is the same code on a real
pretrained model (`gemma-270m`), used by the benchmarks, too slow to load in the suite."""

from __future__ import annotations

from pathlib import Path

import torch

from blade_core.data.records import MCQuestion
from blade_core.llm import resolve_llm
from blade_core.llm.answer_prompt import answer_prompt, format_mcq
from blade_core.llm.likelihood import LikelihoodChatModel
from blade_core.llm.offline import MCQPrompt
from blade_core.llm.scoring import ask_with_knowledge

QUESTION = MCQuestion(id="q1", question="What is Zorvanil indicated for?",
                      options={"A": "copper lung", "B": "marsh fever", "C": "ash fever"}, answer="B")


def reference_scores(judge: LikelihoodChatModel, prompt: MCQPrompt) -> dict[str, float]:
    """One full forward pass per option, no cache: what the cached scoring must equal."""
    model, tokenizer = judge._model()
    context = tokenizer(f"{prompt.knowledge}\nQuestion: {prompt.stem}\nAnswer:")["input_ids"]
    scores = {}
    for letter, text in prompt.options.items():
        ending = tokenizer(" " + text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logprobs = model(input_ids=torch.tensor([context + ending])).logits[0].log_softmax(-1)
        scores[letter] = float(torch.stack([logprobs[len(context) - 1 + j, token] for j, token in enumerate(ending)]).mean())
    return scores


def test_option_scores_share_one_pass_over_the_context_and_equal_full_passes(tiny_lm_dir: Path) -> None:
    judge = resolve_llm(f"hf:{tiny_lm_dir}")
    assert isinstance(judge, LikelihoodChatModel)
    prompt = MCQPrompt(stem=QUESTION.question, options=QUESTION.options, multi=False,
                       knowledge="Zorvanil is indicated for marsh fever. The maximum daily dose of Zorvanil is 40 mg.")
    cached, full = judge.option_scores(prompt), reference_scores(judge, prompt)
    assert cached.keys() == full.keys()
    assert all(abs(cached[letter] - full[letter]) < 1e-4 for letter in full), (cached, full)


def test_it_answers_the_answer_prompt_with_letters(tiny_lm_dir: Path) -> None:
    judge = resolve_llm(f"hf:{tiny_lm_dir}")
    value = answer_prompt().invoke({"knowledge": "Zorvanil is indicated for marsh fever.",
                                    "question": format_mcq(QUESTION)})
    assert judge.invoke(value.to_messages()).content in {"A", "B", "C"}
    scored = ask_with_knowledge(judge, [QUESTION, QUESTION], ["Zorvanil is indicated for marsh fever.", None])
    assert all(s.error is None and len(s.predicted) == 1 for s in scored)
    assert judge.invoke("Zorvanil is").content  # anything else: a short continuation
