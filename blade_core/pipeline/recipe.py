"""What `blade train` and `blade quickstart` train with: the recipe and the user's settings.

Pydantic only (no torch), so the CLI can build its options from these classes and `blade --help`
stays fast. `pipeline` runs them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from blade_core.sample_domain import SampleLanguage, load_sample_domain
from blade_core.training.configs import NAMES_HELP, KitConfig, PretrainConfig, TrainOptions
from blade_core.training.model_size import SizeChoice


class Recipe(BaseModel):
    """How each stage is trained. `FULL` (the default) was chosen on the dev split with
    `benchmarks/knowledge_quality.py`; `FAST` is a smoke test whose numbers mean nothing."""

    name: str
    size: SizeChoice = "auto"
    """A from-scratch model's size; "auto" lets the corpus's facts choose (`model_size.size_for`)."""
    sentence_permutations: int = PretrainConfig.model_fields["sentence_permutations"].default
    entity_documents: int = PretrainConfig.model_fields["entity_documents"].default
    instruction_repeats: int = 1
    """Copies of the KIT pairs mixed into DP; 0 mixes none."""
    question_forms: bool = True
    """Corpus facts also mixed into DP as answers to the KIT pairs' own questions (`question_forms`)."""
    recitations: bool = True
    """DP and KIT also train 'What is known about NAME?' for every entity, and the model recites
    the question's entities at inference (`training.recitation`, `entity_views`)."""
    dp_epochs: float = 8
    dp_token_budget: int = 3_600_000
    """The most tokens DP trains on (`PretrainConfig.token_budget`): a large corpus trains fewer
    epochs, so `blade train` on a 500-document domain stays within half an hour on a 2-core CPU.
    The sample domain and every family shape (at most 3.5M tokens in 8 epochs) train all of theirs;
    the 500-document drugs-large (8.7M) trains 3.3 (`benchmarks/knowledge_quality.md`, "The
    500-document domain")."""
    dp_learning_rate: float = PretrainConfig.SCRATCH_LEARNING_RATE
    dp_stop_when_stored: bool = True
    """DP stops once its per-epoch storage check stops rising (`training.storage_stop`);
    `dp_epochs` is then the most it trains."""
    kit_epochs: float = 4
    """The most KIT trains: it stops once access on dev stops rising (`training.access_stop`); 0: no
    separate KIT stage (the KIT pairs mixed into DP then do its work)."""
    kit_learning_rate: float = KitConfig.SCRATCH_LEARNING_RATE
    base: str | None = None
    """A pretrained model directory or hub id to start from instead of a from-scratch model."""
    pretrained_learning_rate: float = TrainOptions.PRETRAINED_LEARNING_RATE
    """DP and KIT learning rate when starting from `base`: a trained model needs a gentler rate."""
    bpo_budget: int = 16
    bpo_dev_questions: int | None = 96
    """BPO scores each candidate on at most this many dev questions: with knowledge for each option
    and each entity recited, a dev pass is most of BPO's time, and the family's dev splits (75) fit."""
    test_questions: int | None = None
    seed: int = 0
    """Seeds the from-scratch weights, data order and BPO: another seed measures run-to-run noise."""


FULL = Recipe(name="full")
FAST = Recipe(name="fast (smoke test: few steps, numbers are not meaningful)", size="tiny",
              sentence_permutations=1, entity_documents=0, dp_epochs=1, kit_epochs=1, bpo_budget=3,
              bpo_dev_questions=8, test_questions=20)


class TrainConfig(BaseModel):
    """Train a domain LM on your domain through every stage (init or --base, DP, KIT, BPO) and report
    how much its knowledge helps the LLM on your test questions. Resumable; from options or a file."""

    model_config = ConfigDict(allow_inf_nan=False)  # inf and nan are no settings ("--learning-rate inf")

    corpus: list[Path] = Field(min_length=1, description="corpus folders / .txt / JSONL files")
    kit: Path | None = Field(default=None, description="KIT pairs (alpaca JSONL); optional: the corpus gives "
                             "pairs of its own, and --questions makes more with --llm")
    questions: Path | None = Field(
        default=None, description="training questions to make KIT pairs from with --llm (make-kit-data)")
    dev: Path = Field(description="dev questions: BPO tunes the soft prompt on them")
    names: Path | None = Field(default=None, description=NAMES_HELP)
    test: Path | None = Field(default=None, description="test questions: scored at the end (none/blade/rag/hybrid/gold)")
    llm: str = Field(default="offline", description="the general LLM: 'offline', 'gemma-270m', 'openai:MODEL', ...")
    out: Path = Field(default=Path("blade-train"), description="working folder; a re-run reuses finished stages")
    base: str | None = Field(default=None, description="start from this pretrained model instead of a from-scratch one")
    size: SizeChoice = Field(default="auto", description="from-scratch model size; auto: from the corpus's facts")
    dp_epochs: float = Field(default=FULL.dp_epochs, gt=0,
                             description="the most passes over the augmented corpus (DP stops once the facts are stored)")
    dp_token_budget: int = Field(default=FULL.dp_token_budget, ge=1,
                                 description="the most tokens DP trains on: a large corpus trains fewer epochs "
                                 "(raise it where training is faster, as on a GPU)")
    dp_stop_when_stored: bool = Field(default=True, description="stop DP once its per-epoch storage check stops rising")
    question_forms: bool = Field(
        default=True, description="mix corpus facts into DP as answers to the KIT pairs' own questions")
    recitations: bool = Field(
        default=True, description="train 'What is known about NAME?' for every entity of the corpus, and recite "
        "the question's entities at inference")
    kit_epochs: float = Field(default=FULL.kit_epochs, ge=0,
                              description="the most passes over the KIT pairs; KIT stops once access on dev stops rising (0: no KIT)")
    bpo_budget: int = Field(default=FULL.bpo_budget, ge=1, description="BPO candidate evaluations on dev")
    seed: int = Field(default=0, description="seeds the weights, data order and BPO")
    overwrite: bool = Field(default=False, description="discard an earlier run in --out and start again")

    @model_validator(mode="after")
    def _kit_or_questions(self) -> TrainConfig:
        if self.kit is not None and self.questions is not None:
            raise ValueError("give --kit PAIRS or --questions TRAIN (to make pairs with --llm), not both")
        return self

    def recipe(self) -> Recipe:
        name = "full" if self.base is None else f"full, from {self.base}"
        return FULL.model_copy(update={"name": name, "size": self.size, "dp_epochs": self.dp_epochs,
                                       "dp_token_budget": self.dp_token_budget,
                                       "dp_stop_when_stored": self.dp_stop_when_stored,
                                       "question_forms": self.question_forms,
                                       "recitations": self.recitations,
                                       "kit_epochs": self.kit_epochs, "bpo_budget": self.bpo_budget,
                                       "seed": self.seed, "base": self.base})


class DomainData(BaseModel):
    """A domain's files, as the stages read them."""

    corpus: list[Path]
    kit: Path | None
    """None: DP and KIT train on the corpus's own pairs alone (`training.corpus_pairs`)."""
    dev: Path
    test: Path | None = None
    names: Path | None = None
    """A names file (`data.names_file`): the domain's entities, one a line."""

    @classmethod
    def sample(cls, language: SampleLanguage = "en") -> DomainData:
        domain = load_sample_domain(language=language)
        return cls(corpus=[domain.corpus], kit=domain.kit, dev=domain.dev, test=domain.test)
