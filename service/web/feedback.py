"""The page's feedback form: hidden fields under each rewrite, and a posted form read into a verdict."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from service.schemas import Rewrite, RewriteResponse
from service.store.feedback import FeedbackIn

# Stored as the record's key name: the page sends no API key, and this tells its records from an HR tool's.
WEB_KEY_NAME = "web-page"

# How the page's own words name each field in a message a person reads.
_FIELD_WORDS = {
    "goal": "the goal",
    "rewrite": "the suggestion",
    "verdict": "the choice",
    "goal_kind": "the goal's kind",
    "engine": "the engine",
    "prompt_version": "the prompt version",
}


class FeedbackForm(BaseModel):
    """One rewrite's feedback form as a browser posts it: text fields, checked by `FeedbackIn` afterwards
    so that a bad field gets a page that says what went wrong rather than a JSON error."""

    goal: str = ""
    rewrite: str = ""
    verdict: str = ""
    goal_kind: str = ""
    engine: str = ""
    prompt_version: str = ""

    def feedback(self) -> FeedbackIn:
        """The verdict to store; the page does not know who the person is, so there is no subject."""
        return FeedbackIn.model_validate({**self.model_dump(), "prompt_version": self.prompt_version or None})


def feedback_fields(answer: RewriteResponse, rewrite: Rewrite) -> dict[str, str]:
    """The hidden fields of one rewrite's form; the prompt version only when the LLM wrote that rewrite
    (the answer's trace is there too when the LLM failed and the playbook filled in)."""
    fields = {
        "goal": answer.goal,
        "rewrite": rewrite.text,
        "goal_kind": answer.classification.kind.value,
        "engine": rewrite.engine,
    }
    if rewrite.engine == "llm" and answer.llm is not None:
        fields["prompt_version"] = answer.llm.prompt_version
    return fields


def feedback_problems(exc: ValidationError) -> str:
    """What is wrong with a posted form, as one sentence that says what to do."""
    problems = []
    for error in exc.errors():
        message = str(error["msg"])
        if error["type"] == "value_error":
            # The goal checks already name what they refuse and how to fix it.
            problems.append(message.removeprefix("Value error, "))
        else:
            field = (
                _FIELD_WORDS.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else "the form"
            )
            problems.append(f"{field}: {message[:1].lower()}{message[1:]}")
    return (
        f"This feedback could not be recorded ({'; '.join(problems)}). "
        "Check your goals again and choose from the suggestions shown."
    )
