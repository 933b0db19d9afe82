"""The knowledge template: what the small domain LM sees (after its soft prompt) when asked to
write the knowledge a question needs. KIT tunes the model on exactly this template and saves it
into the model directory, so inference always uses the template the model was tuned with."""

from __future__ import annotations

from pydantic import BaseModel, field_validator

DEFAULT_KNOWLEDGE_TEMPLATE = (
    "### Instruction:\n"
    "Write the domain knowledge needed to answer the question below.\n\n"
    "### Question:\n{question}\n\n"
    "### Knowledge:\n"
)


def check_template(text: str) -> str:
    """`text` if it can be a knowledge template (one `{question}` slot), else a ValueError."""
    if text.count("{question}") != 1:
        raise ValueError("the knowledge template must contain '{question}' exactly once")
    return text


class KnowledgeTemplate(BaseModel):
    """A prompt with one `{question}` slot; everything before it is a fixed, cacheable prefix."""

    text: str = DEFAULT_KNOWLEDGE_TEMPLATE

    @field_validator("text")
    @classmethod
    def _one_slot(cls, text: str) -> str:
        return check_template(text)

    def split(self) -> tuple[str, str]:
        """(prefix, suffix) around the question: the prefix is shared by every question."""
        prefix, suffix = self.text.split("{question}")
        return prefix, suffix

    def format(self, question: str) -> str:
        prefix, suffix = self.split()
        return f"{prefix}{question}{suffix}"
