"""The hostile corpus, the canaries, and what every answer to hostile input must be."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict

from service.schemas import ErrorBody

CORPUS = Path(__file__).parent / "injections.jsonl"
# What a secret in a system prompt looks like: an identifier no answer has any reason to hold.
SYSTEM_CANARY = "gr-canary-7f3c9a2e51d84b06"


class Injection(BaseModel):
    """One hostile string of the corpus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    category: str
    text: str


def load_corpus() -> list[Injection]:
    """Every line of the corpus file."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [Injection.model_validate_json(line) for line in lines if line.strip()]


def check_api_answer(response: httpx.Response, schema: type[BaseModel]) -> None:
    """A 200 valid against `schema`, or a 4xx with the JSON error shape and a message; never a 5xx."""
    assert response.status_code < 500, response.text[:500]
    if response.status_code == 200:
        schema.model_validate(response.json())
        return
    assert response.status_code >= 400, response.status_code
    assert ErrorBody.model_validate(response.json()).message


def check_page(response: httpx.Response, pasted: str) -> None:
    """The page comes back (answers, or what to change) with the paste shown as text, never as markup."""
    assert response.status_code in (200, 422), response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    for line in pasted.splitlines():
        if "<" in line:
            assert line.strip() not in response.text, f"unescaped: {line!r}"
    assert 'href="javascript:' not in response.text.lower()
