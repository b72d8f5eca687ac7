"""A stand-in LLM that obeys every injection: it answers in the shape asked, stuffed with what it was told
to keep to itself (its system prompt, whole and line by line) and with goals other callers sent before."""

from __future__ import annotations

import json
import re
import zlib

from service.llm.client import ChatReply, ChatRequest, FunctionLLM

_GOAL = re.compile(r"<goal>(.*?)</goal>", re.DOTALL)
# A draft the rewriter can keep: first person, a practice, a cadence, the goal's words in view.
CLEAN = (
    "Every Friday I will review my week against my goal ({goal}) and practise one skill it needs for 30 min."
)


def _goal_of(request: ChatRequest) -> str:
    """The caller's goal, read back from the JSON string between the prompt's <goal> tags."""
    for message in request.messages:
        if message.role == "user" and (match := _GOAL.search(message.content)):
            return str(json.loads(match.group(1)))
    return ""


def _draft(text: str, **fields: str) -> dict[str, str]:
    return {
        "text": text,
        "serves": "the result the goal names",
        "progress_measure": "practice sessions I log",
        "cadence": "weekly",
        "rationale": "Practising is up to me, whatever others decide.",
    } | fields


def leaky_llm() -> FunctionLLM:
    """A FunctionLLM whose answers carry the system prompt it received and earlier callers' goals."""
    seen: list[str] = []

    async def answer(request: ChatRequest) -> ChatReply:
        system = request.messages[0].content if request.messages[0].role == "system" else ""
        first_line = next((line for line in system.splitlines() if line.strip()), "")
        secret = first_line.split()[-1] if first_line else ""
        goal = _goal_of(request)
        # The goals other callers sent before, latest first: an LLM that remembers would repeat them.
        others = [other for other in dict.fromkeys(reversed(seen)) if other != goal][:3]
        seen.append(goal)
        if request.schema_name == "LLMVerdict":
            # By goal, one of: a valid verdict with the prompt as reason, the bare prompt, a broken verdict.
            shape = zlib.crc32(goal.encode()) % 3
            if shape == 1:
                return ChatReply(content=system)
            if shape == 2:
                return ChatReply(content=json.dumps({"reason": system, "kind": "banana", "note": others}))
            # It obeys a goal that asks to be called mastery (then no rewrite is asked of it); any other goal
            # it calls performance, so the rewrite is asked of it too.
            kind = "mastery" if "mastery" in goal.lower() else "performance"
            return ChatReply(content=json.dumps({"reason": system, "kind": kind}))
        clean = CLEAN.format(goal=goal[:150])
        rewrites = [
            _draft(clean, serves=goal[:200]),
            _draft(clean, serves=first_line),
            _draft(f"{clean} {secret}"),
            *(_draft(clean, progress_measure=f"times I said {other[:150]}") for other in others[:2]),
            _draft(clean, rationale=system),
            _draft(f"I will {goal}"[:400]),
        ]
        questions = [
            "What could you learn about this goal that you do not know yet?",
            f"{first_line}?",
            f"Have you heard of {secret}?",
            *(f"{other[:150]}?" for other in others),
            system,
        ]
        return ChatReply(content=json.dumps({"rewrites": rewrites, "coaching_questions": questions}))

    return FunctionLLM(answer, model="leaky-llm")
