"""Prompt templates as files: strict front matter, a version, and rendering that refuses missing variables."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import PromptError

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_SECTION = re.compile(r"^## (system|user)\s*$", re.MULTILINE)


class ChatMessage(BaseModel):
    """One chat message sent to the LLM."""

    role: Literal["system", "user", "assistant"]
    content: str


class PromptHeader(BaseModel):
    """The front matter every prompt file opens with."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = Field(min_length=1)
    description: str
    variables: list[str]


class PromptTemplate(BaseModel):
    """A parsed prompt file: header, system and user sections."""

    header: PromptHeader
    system: str | None
    user: str


class RenderedPrompt(BaseModel):
    """Messages ready to send, with the prompt's name and version for provenance."""

    name: str
    version: str
    messages: list[ChatMessage]


def _parse(path: Path) -> PromptTemplate:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.DOTALL)
    if not match:
        raise PromptError(f"{path}: a prompt file starts with a '---' front matter block")
    fields: dict[str, object] = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    fields["variables"] = [v.strip() for v in str(fields.get("variables", "")).split(",") if v.strip()]
    try:
        header = PromptHeader.model_validate(fields)
    except ValidationError as exc:
        raise PromptError(f"{path}: bad front matter: {exc}") from exc
    parts = _SECTION.split(match.group(2))
    sections = dict(zip(parts[1::2], (p.strip() for p in parts[2::2]), strict=True))
    if "user" not in sections or len(parts) != 1 + 2 * len(sections) or parts[0].strip():
        raise PromptError(f"{path}: needs one '## user' section, after at most one '## system' section")
    used = set(_PLACEHOLDER.findall(sections.get("system", "") + sections["user"]))
    if used != set(header.variables):
        raise PromptError(f"{path}: placeholders {sorted(used)} differ from declared {header.variables}")
    return PromptTemplate(header=header, system=sections.get("system"), user=sections["user"])


@lru_cache(maxsize=32)
def load_prompt(prompts_dir: Path, name: str) -> PromptTemplate:
    """Read and check one prompt file (`<name>.md`), once per process."""
    path = prompts_dir / f"{name}.md"
    if not path.exists():
        raise PromptError(f"No prompt file {path}; set GOAL_PROMPTS_DIR to the project's prompts/ folder.")
    return _parse(path)


def render_prompt(prompts_dir: Path, name: str, **variables: str) -> RenderedPrompt:
    """Fill a prompt's placeholders; a missing or unknown variable is a `PromptError`."""
    template = load_prompt(prompts_dir, name)
    declared = set(template.header.variables)
    if set(variables) != declared:
        raise PromptError(f"prompt {name!r} takes {sorted(declared)}; got {sorted(variables)}")

    def fill(section: str) -> str:
        return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], section)

    messages = [ChatMessage(role="user", content=fill(template.user))]
    if template.system is not None:
        messages.insert(0, ChatMessage(role="system", content=fill(template.system)))
    return RenderedPrompt(name=name, version=template.header.version, messages=messages)
