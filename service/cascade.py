"""The classification cascade: the embedded classifier decides, the LLM adjudicates when it is unsure."""

from __future__ import annotations

import asyncio
import json

from pydantic import BaseModel, ConfigDict, Field

from service.classifier import Classifier
from service.config import Settings
from service.cues import Cues, find_cues
from service.errors import LLMError
from service.language import ENGLISH, language_name
from service.llm.client import Usage
from service.llm.examples import ExampleIndex
from service.llm.prompts import RenderedPrompt, render_prompt
from service.llm.structured import StructuredLLM, schema_text
from service.observe import observer
from service.reasons import explain
from service.schemas import Classification
from service.taxonomy import KINDS, Kind

UNSUPPORTED_LANGUAGE = "unsupported_language"


class LLMVerdict(BaseModel):
    """The LLM's answer when asked to classify: a short reason first, then one of the three kinds."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="One sentence: what in the goal is or is not under the person's control.")
    kind: Kind


def goal_as_data(goal: str) -> str:
    """The goal as a JSON string that cannot close the tag around it."""
    return json.dumps(goal, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def definitions_text() -> str:
    """The taxonomy's wording, as the prompt shows it."""
    return "\n".join(
        f"- {info.kind.value}: {info.definition} Example: {info.examples[0]}" for info in KINDS.values()
    )


class Cascade:
    """Answers a classification, asking the LLM only under the confidence threshold."""

    def __init__(
        self,
        *,
        classifier: Classifier,
        settings: Settings,
        llm: StructuredLLM | None = None,
        examples: ExampleIndex | None = None,
    ) -> None:
        self.classifier = classifier
        self.llm = llm
        self._examples = examples
        self._settings = settings

    async def classify(self, goal: str, *, deadline: float | None = None) -> Classification:
        """The embedded answer, or the LLM's when the embedded one is unsure; never fails on the LLM.

        `deadline` is the request's LLM deadline when the LLM is asked again after this (see `Rewriter`).
        """
        answer = await self._decide(goal, deadline)
        observer().classified(answer)
        return answer

    async def _decide(self, goal: str, deadline: float | None) -> Classification:
        base = await asyncio.to_thread(self.classifier.classify, goal)
        threshold = self._settings.cascade_threshold
        sure = f"embedded confidence {base.confidence:.2f}"
        # The head learnt English only: on another language its confidence says little, so it is not trusted.
        foreign = (
            f"; the goal is in {language_name(base.language)}, and the embedded classifier knows English only"
            if base.language != ENGLISH
            else ""
        )
        # A threshold of 1 sends every goal to the LLM, even ones the head is certain of.
        if base.confidence >= threshold and threshold < 1.0 and not foreign:
            return base.model_copy(update={"decision": f"{sure} is at or over the threshold {threshold:.2f}"})
        side = "under" if base.confidence < threshold else "at or over"
        unsure = f"{sure} is {side} the threshold {threshold:.2f}{foreign}"
        if self.llm is None:
            # Without an LLM, a goal in another language gets the head's guess, labelled as one.
            fallback = {"degraded": True, "degraded_reason": UNSUPPORTED_LANGUAGE} if foreign else {}
            return base.model_copy(update={"decision": f"{unsure}; no LLM is configured", **fallback})
        prompt = await asyncio.to_thread(self._prompt, goal)
        usage = Usage()
        try:
            answer = await self.llm.ask(prompt, LLMVerdict, usage, deadline=deadline)
        except LLMError as exc:
            return base.model_copy(
                update={
                    "decision": f"{unsure}; the LLM failed ({exc.code}), so the embedded classifier answered",
                    "degraded": True,
                    "degraded_reason": exc.code,
                    "llm": self.llm.trace(prompt, usage),
                }
            )
        kind = answer.value.kind
        return Classification(
            kind=kind,
            confidence=base.probabilities.of(kind),
            probabilities=base.probabilities,
            reason=explain(kind, find_cues(goal) if base.language == ENGLISH else Cues()),
            language=base.language,
            engine="llm",
            decision=f"{unsure}, so the LLM adjudicated",
            llm=answer.trace,
        )

    def _prompt(self, goal: str) -> RenderedPrompt:
        k = self._settings.cascade_examples
        shots = self._examples.nearest(goal, k=k) if self._examples is not None else []
        examples = "\n".join(
            json.dumps({"goal": row.text, "kind": row.label.value}, ensure_ascii=False) for row in shots
        )
        return render_prompt(
            self._settings.prompts_dir,
            "classify",
            definitions=definitions_text(),
            examples=examples or "(none)",
            schema=schema_text(LLMVerdict),
            goal=goal_as_data(goal),
        )
