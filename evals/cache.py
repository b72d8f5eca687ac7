"""A disk cache in front of the LLM, so an eval rerun is exact and free. Errors are never cached."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from service.llm.client import LLM, ChatReply, ChatRequest


class CachedLLM:
    """Wraps an `LLM`: replies are stored by a key over the endpoint, the model and the whole request.

    The request holds the rendered prompt (so its version and the goal) and the generation settings
    (temperature, token cap, output mode), so any change to them misses the cache.
    """

    def __init__(self, llm: LLM, *, base_url: str, folder: Path, refresh: bool = False) -> None:
        self._llm = llm
        self._base_url = base_url
        self._folder = folder
        self._refresh = refresh
        self.hits = 0
        self.misses = 0
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def model(self) -> str:
        return self._llm.model

    def key(self, request: ChatRequest) -> str:
        """The cache key of a request to this endpoint and model."""
        material = json.dumps(
            {"base_url": self._base_url, "model": self.model, "request": request.model_dump(mode="json")},
            sort_keys=True,
        )
        return hashlib.sha256(material.encode()).hexdigest()

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatReply:
        path = self._folder / f"{self.key(request)}.json"
        if path.exists() and not self._refresh:
            self.hits += 1
            # A cached answer costs nothing this run: its tokens were paid for when it was stored.
            cached = ChatReply.model_validate_json(path.read_text(encoding="utf-8"))
            return cached.model_copy(update={"prompt_tokens": 0, "completion_tokens": 0})
        reply = await self._llm.complete(request, timeout=timeout)
        self.misses += 1
        # Written only after a reply: a failed call raises above and leaves nothing behind.
        path.write_text(reply.model_dump_json(), encoding="utf-8")
        return reply

    async def aclose(self) -> None:
        await self._llm.aclose()
