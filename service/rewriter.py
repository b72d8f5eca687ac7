"""Rewrites a goal as controllable goals: the LLM when configured, else the playbook; scored, ranked."""

from __future__ import annotations

import asyncio
import json
import re

from pydantic import BaseModel, ConfigDict, Field

from service.cascade import UNSUPPORTED_LANGUAGE, Cascade, definitions_text, goal_as_data
from service.config import Settings
from service.cues import Cue, find_cues
from service.errors import LLMError
from service.grammar import goal_purpose
from service.language import ENGLISH, language_name
from service.llm.client import Usage
from service.llm.examples import ExampleIndex
from service.llm.prompts import RenderedPrompt, render_prompt
from service.llm.structured import LLMTrace, StructuredLLM, schema_text
from service.observe import observer
from service.playbook import CADENCE_PHRASES, Draft, Playbook, adapt
from service.schemas import (
    Classification,
    EngineName,
    Rewrite,
    RewriteContext,
    RewriteRequest,
    RewriteResponse,
)
from service.scoring import score_rewrites, specificity
from service.taxonomy import KINDS, Kind

# Coaching questions from source 001: learn, experiment, get feedback. Each has one slot, typed for the
# goal's verb phrase; a goal whose parse gives none gets the same questions about "this goal".
COACHING_QUESTIONS = (
    "What could you learn that would help you {purpose}?",
    "What small experiment could you try in the next two weeks to {purpose}?",
    "Who could give you honest feedback as you work to {purpose}, and how often will you ask them?",
)
GENERAL_QUESTIONS = (
    "What could you learn about this goal that you do not already know?",
    "What small experiment could you try for this goal in the next two weeks?",
    "Who could give you honest feedback on this goal, and how often will you ask them?",
)
# A rewrite this close to its goal is a paraphrase, not a new, controllable goal.
PARAPHRASE_SIMILARITY = 0.92


class LLMRewrites(BaseModel):
    """The LLM's answer when asked to rewrite."""

    model_config = ConfigDict(extra="forbid")

    rewrites: list[Draft] = Field(description="Mastery goals, best first.")
    coaching_questions: list[str] = Field(description="Two or three short coaching questions.")


class Rewriter:
    """Classify, then rewrite with the LLM or the playbook, then score and rank."""

    def __init__(
        self,
        *,
        cascade: Cascade,
        playbook: Playbook,
        settings: Settings,
        llm: StructuredLLM | None = None,
        examples: ExampleIndex | None = None,
    ) -> None:
        self.cascade = cascade
        self.playbook = playbook
        self.llm = llm
        self._examples = examples
        self._settings = settings

    async def rewrite(self, request: RewriteRequest) -> RewriteResponse:
        """The kind, n ranked rewrites (or a confirmation of a mastery goal) and coaching questions."""
        answer = await self._rewrite(request)
        observer().rewritten(answer)
        return answer

    async def _rewrite(self, request: RewriteRequest) -> RewriteResponse:
        goal = request.goal
        # One LLM deadline for the whole request, shared by the ask for the kind and the ask for rewrites.
        deadline = self.llm.deadline() if self.llm is not None else None
        classification = await self.cascade.classify(goal, deadline=deadline)
        english = classification.language == ENGLISH
        if not english and (self.llm is None or classification.degraded):
            return self._unreadable(request, classification)
        purpose = await asyncio.to_thread(goal_purpose, goal) if english else None
        questions = (
            [q.format(purpose=purpose) for q in COACHING_QUESTIONS] if purpose else list(GENERAL_QUESTIONS)
        )
        if classification.kind is Kind.MASTERY and english:
            return await asyncio.to_thread(self._confirm, request, classification, questions, purpose)
        # The playbook's practices are English sentences: a goal in another language gets none of them.
        embedded = await asyncio.to_thread(self._embedded, request, purpose) if english else []

        def playbook_answer(reason: str | None = None, trace: LLMTrace | None = None) -> RewriteResponse:
            """The playbook's rewrites; with `reason` when the LLM was asked and failed."""
            if not english:
                return self._unreadable(request, classification, reason=reason, trace=trace)
            return self._answer(
                request,
                classification=classification,
                rewrites=embedded,
                questions=questions,
                engine="embedded",
                degraded_reason=reason,
                trace=trace,
            )

        if self.llm is None:
            return playbook_answer()
        usage = Usage()
        prompt = await asyncio.to_thread(self._prompt, request, classification.language)
        try:
            answer = await self.llm.ask(prompt, LLMRewrites, usage, deadline=deadline)
        except LLMError as exc:
            trace = self.llm.trace(prompt, usage)
            # When the kind's failed ask spent the time, its failure is why the rewrites are the playbook's.
            reason = (classification.degraded_reason if exc.code == "llm_deadline" else None) or exc.code
            return playbook_answer(reason, trace)
        drafts = [
            d.model_copy(update={"text": d.text.strip()}) for d in answer.value.rewrites[: request.n * 2]
        ]
        system = prompt.messages[0].content if prompt.messages[0].role == "system" else ""
        own = goal + _context_text(request.context, prefix=" ")
        clean = [d for d in drafts if not _echoes(d, system=system, own=own)]
        llm_questions = [
            q.strip()
            for q in answer.value.coaching_questions
            if 0 < len(q.strip()) <= 200 and not _leaks(q, system=system, own=own)
        ][:3]
        kept = await asyncio.to_thread(self._keep_controllable, goal, clean, english=english)
        if not kept:
            return playbook_answer("llm_candidates_rejected", answer.trace)
        return self._answer(
            request,
            classification=classification,
            rewrites=kept + embedded[: max(0, request.n - len(kept))],
            questions=llm_questions or questions,
            engine="llm",
            trace=answer.trace,
        )

    def _embedded(self, request: RewriteRequest, purpose: str | None) -> list[Rewrite]:
        """Playbook practices for the goal, scored and ranked; twice n retrieved so ranking has a choice.
        A practice that would restate one of the goal's figures is left out."""
        query = request.goal + _context_text(request.context, prefix=" ")
        role = request.context.role if request.context else None
        found = self.playbook.retrieve(query, k=request.n * 2, role=role)
        # The purpose clause holds the goal's own words, which lifts every practice's intent score alike;
        # the practice's relevance before adaptation tells a sales habit from a supplier habit.
        scored = self._scored(
            request.goal,
            [adapt(entry, goal=request.goal, purpose=purpose) for entry, _ in found],
            engine="embedded",
            prior=[relevance for _, relevance in found],
            commitments=[entry.practice for entry, _ in found],
        )
        return [r for r in scored if not r.scores.fluency_faults]

    def _keep_controllable(self, goal: str, drafts: list[Draft], *, english: bool) -> list[Rewrite]:
        """The LLM's drafts that the classifier judges mastery, that keep the goal's subject and that read
        with no fluency fault. Those checks read English only: in another language, every draft that fits
        is kept, in the LLM's order."""
        floor = self._settings.rewrite_min_intent
        sized = [d for d in drafts if _fits(d)]
        if not english:
            scores = score_rewrites(
                goal=goal, rewrites=[d.text for d in sized], classifier=self.cascade.classifier
            )
            return [
                Rewrite(**d.model_dump(), scores=s, engine="llm") for d, s in zip(sized, scores, strict=True)
            ]
        return [
            r
            for r in self._scored(goal, sized, engine="llm")
            if r.scores.controllability >= 0.5
            and floor <= r.scores.intent < PARAPHRASE_SIMILARITY
            and not r.scores.fluency_faults
        ]

    def _scored(
        self,
        goal: str,
        drafts: list[Draft],
        *,
        engine: EngineName,
        prior: list[float] | None = None,
        commitments: list[str] | None = None,
    ) -> list[Rewrite]:
        """Scored and ranked best first: mastery before the rest, then by overall score plus `prior`."""
        scores = score_rewrites(
            goal=goal,
            rewrites=[d.text for d in drafts],
            classifier=self.cascade.classifier,
            commitments=commitments,
        )
        boosts = prior or [0.0] * len(drafts)
        # Candidates the classifier does not judge mastery never rank above ones it does.
        ranked = sorted(
            zip(drafts, scores, boosts, strict=True),
            key=lambda t: (t[1].controllability >= 0.5, t[1].overall + t[2]),
            reverse=True,
        )
        return [Rewrite(**d.model_dump(), scores=s, engine=engine) for d, s, _ in ranked]

    def _confirm(
        self,
        request: RewriteRequest,
        classification: Classification,
        questions: list[str],
        purpose: str | None,
    ) -> RewriteResponse:
        """A mastery goal is confirmed; a loose one (not fully specific) gets one sharper version: its verb
        phrase with the goal's own rhythm (or a weekly one) and a log when its parse gives a clean phrase,
        else the playbook's best practice for it, which has a rhythm and a count of its own."""
        goal = request.goal
        rewrites: list[Rewrite] = []
        message = "This is already a mastery goal: it is made of your own actions, so you control it."
        if specificity(goal) < 1 and purpose:
            own = find_cues(goal).first(Cue.SCHEDULE)
            # "a week" as said in a goal reads "every week" at the head of a sentence.
            cadence = re.sub(r"^(?:a|an|per|once a)\s+", "every ", own) if own else CADENCE_PHRASES["weekly"]
            draft = Draft(
                text=f"{cadence[0].upper()}{cadence[1:]}, I will {purpose} and note each time I do it.",
                serves=goal,
                progress_measure="times done",
                cadence=cadence,
                rationale="The same goal with a rhythm and a count you keep, so you see your own progress.",
            )
            scored = self._scored(goal, [draft], engine="embedded")
            if not scored[0].scores.fluency_faults:
                rewrites = scored
                message += " Here it is with a rhythm and a count, so you can see your progress."
        if specificity(goal) < 1 and not rewrites:
            rewrites = self._embedded(request.model_copy(update={"n": 1}), None)[:1]
            message += " Here is one concrete practice in the same direction, with a rhythm and a count."
        return RewriteResponse(
            goal=goal,
            classification=classification,
            already_mastery=True,
            message=message,
            rewrites=rewrites,
            coaching_questions=questions,
            engine="embedded",
        )

    def _unreadable(
        self,
        request: RewriteRequest,
        classification: Classification,
        *,
        reason: str | None = None,
        trace: LLMTrace | None = None,
    ) -> RewriteResponse:
        """A goal in a language the playbook cannot write: no rewrites, a message that says why and what to
        do, and the coaching questions that need none of the goal's words."""
        name = language_name(classification.language)
        instead = (
            "the AI service that reads other languages did not answer this time: try again in a moment, or "
            "write the goal in English"
            if self.llm is not None
            else "write the goal in English to get them, or ask whoever runs this service to connect an AI "
            "service, which answers in your language"
        )
        return RewriteResponse(
            goal=request.goal,
            classification=classification,
            already_mastery=False,
            message=(
                f"This goal looks like {name}. The built-in engine reads English only, so it suggests no "
                f"rewrites; {instead}."
            ),
            rewrites=[],
            coaching_questions=list(GENERAL_QUESTIONS),
            engine="embedded",
            degraded=True,
            degraded_reason=reason or classification.degraded_reason or UNSUPPORTED_LANGUAGE,
            llm=trace,
        )

    def _answer(
        self,
        request: RewriteRequest,
        *,
        classification: Classification,
        rewrites: list[Rewrite],
        questions: list[str],
        engine: EngineName,
        degraded_reason: str | None = None,
        trace: LLMTrace | None = None,
    ) -> RewriteResponse:
        info = KINDS[classification.kind]
        return RewriteResponse(
            goal=request.goal,
            classification=classification,
            already_mastery=False,
            message=(
                f"This is {'an' if info.title[0] in 'AEIOU' else 'a'} {info.title.lower()}: "
                f"{info.controllable.lower()} Here are goals you control that serve the same result."
            ),
            rewrites=rewrites[: request.n],
            coaching_questions=questions,
            engine=engine,
            degraded=degraded_reason is not None,
            degraded_reason=degraded_reason,
            llm=trace,
        )

    def _prompt(self, request: RewriteRequest, language: str) -> RenderedPrompt:
        shots = self._examples.nearest(request.goal, k=4, per_kind=False) if self._examples else []
        examples = "\n".join(
            json.dumps({"goal": row.text, "rewrites": row.references}, ensure_ascii=False) for row in shots
        )
        context = _context_text(request.context)
        return render_prompt(
            self._settings.prompts_dir,
            "rewrite",
            definitions=definitions_text(),
            examples=examples or "(none)",
            # Data, like the goal: a role cannot pose as an instruction or close a tag.
            context=goal_as_data(context) if context else "(not given)",
            n=str(request.n),
            schema=schema_text(LLMRewrites),
            language=language_name(language),
            goal=goal_as_data(request.goal),
        )


# Eight words in a row copied from the system prompt is the prompt leaking, not a coincidence.
_ECHO_WORDS = 8


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + _ECHO_WORDS]) for i in range(len(words) - _ECHO_WORDS + 1)}


def _shares_words(text: str, system: str) -> bool:
    """Whether `text` repeats a run of the system prompt's words."""
    return bool(system) and not _shingles(text).isdisjoint(_shingles(system))


def _identifiers(text: str) -> set[str]:
    """Runs of six or more letters mixed with digits: how keys, codes and canaries look, not coaching."""
    runs = re.findall(r"[a-z0-9]+", text.lower())
    return {run for run in runs if len(run) >= 6 and not run.isalpha() and not run.isdigit()}


def _leaks(text: str, *, system: str, own: str) -> bool:
    """Whether `text` repeats the system prompt, or holds an identifier the caller did not write: one from the
    system prompt, however short the line it came in, or one another caller sent to an LLM that remembers."""
    return _shares_words(text, system) or not _identifiers(text) <= _identifiers(own)


def _echoes(draft: Draft, *, system: str, own: str) -> bool:
    """Whether any field of a draft leaks (an injected goal asking for the system prompt, say)."""
    fields = (draft.text, draft.serves, draft.progress_measure, draft.cadence, draft.rationale)
    return any(_leaks(field, system=system, own=own) for field in fields)


def _fits(draft: Draft) -> bool:
    """Whether every field is filled and of a length a person reads (one or two sentences)."""
    fields = (draft.serves, draft.progress_measure, draft.cadence, draft.rationale)
    return 0 < len(draft.text) <= 400 and all(0 < len(f.strip()) <= 300 for f in fields)


def _context_text(context: RewriteContext | None, prefix: str = "") -> str:
    if context is None:
        return ""
    parts = [f"role: {context.role}" if context.role else "", f"team: {context.team}" if context.team else ""]
    text = ", ".join(p for p in parts if p)
    return f"{prefix}({text})" if text else ""
