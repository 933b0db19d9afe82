"""How sure the domain LM was of each sentence: the probabilities recorded while it generates are
the decoder's own, each sentence gets its least sure token's, and the threshold withholds exactly
the sentences at or below it."""

from __future__ import annotations

import pytest
import torch
from transformers import LogitsProcessorList

from blade_core.bpo.guard import candidate_thresholds
from blade_core.knowledge.confidence import TokenProbabilities, scored_sentences
from blade_core.writers.domain_lm import DomainLM


def test_recorded_probabilities_are_the_decoders_own(tiny_lm: DomainLM) -> None:
    tok = tiny_lm.tokenizer
    batch = tok(["Zorvanil is", "The maximum daily dose of Mevlocaine"], return_tensors="pt", padding=True)
    recorder = TokenProbabilities()
    out = tiny_lm.model.generate(**batch, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id,
                                 logits_processor=LogitsProcessorList([recorder]), output_scores=True,
                                 return_dict_in_generate=True)
    new = out.sequences[:, batch["input_ids"].shape[1]:]
    expected = tiny_lm.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True).exp()
    recorded = recorder.finish(new)
    assert recorded.shape == new.shape
    assert torch.allclose(recorded, expected, atol=1e-5)
    assert recorded.min() > 0 and recorded.max() <= 1


def test_a_sentence_is_as_sure_as_its_least_sure_token(tiny_lm: DomainLM) -> None:
    tok = tiny_lm.tokenizer
    text = "Zorvanil is indicated for marsh fever. Quelmora treats copper lung."
    ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] * 3  # padding after EOS
    second = next(k for k in range(len(ids)) if "Quelmora" in tok.decode(ids[: k + 1])) + 2
    probabilities = [0.9] * len(ids)
    probabilities[second] = 0.2
    probabilities[1] = 0.6
    sentences = scored_sentences(tok, ids, probabilities)
    assert [s.text for s in sentences] == ["Zorvanil is indicated for marsh fever.", "Quelmora treats copper lung."]
    assert [s.confidence for s in sentences] == [pytest.approx(0.6), pytest.approx(0.2)]


def test_the_threshold_withholds_the_unsure_sentences_of_real_generations(tiny_lm: DomainLM) -> None:
    questions = ["What is Zorvanil indicated for?\nA. marsh fever\nB. copper lung", "What does Quelmora treat?"]
    written = tiny_lm.write_knowledge(questions, max_new_tokens=24)
    assert tiny_lm.generate_knowledge(questions, max_new_tokens=24) == [w.render() for w in written]
    assert tiny_lm.generate_knowledge(questions, max_new_tokens=24, min_confidence=1.0) == ["", ""]
    confidences = sorted(s.confidence for w in written for v in w.views for s in v.sentences)
    middle = confidences[len(confidences) // 2]
    guarded = tiny_lm.generate_knowledge(questions, max_new_tokens=24, min_confidence=middle)
    for w, text in zip(written, guarded):
        sure = {s.text for v in w.views for s in v.sentences if s.confidence > middle}
        unsure = {s.text for v in w.views for s in v.sentences if s.confidence <= middle} - sure
        assert not any(u in text for u in unsure)  # only sentences above the threshold reach the LLM
        assert all(s in text for s in sure if s in w.views[0].text)  # the question's own view kept whole
        assert w.views[0].sentences[0].confidence <= middle or w.views[0].sentences[0].text in text
    assert sum(map(len, guarded)) < sum(len(w.render()) for w in written)  # something was withheld
    assert "".join(tiny_lm.stream_knowledge(questions[1], max_new_tokens=24, min_confidence=middle)) == \
        tiny_lm.generate_knowledge(questions[1:], max_new_tokens=24, min_confidence=middle)[0]


def test_candidate_thresholds_run_from_keep_all_to_withhold_all() -> None:
    assert candidate_thresholds([]) == [0.0, 1.0]
    found = candidate_thresholds([0.99] * 50 + [0.3] * 5 + [0.1] * 5)
    assert found[0] == 0.0 and found[-1] == 1.0 and 0.1 in found and 0.3 in found
    assert found == sorted(set(found))
