"""Loads the embedded engine once, off the event loop, and tells whether it is ready."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from service.classifier import Classifier, ClassifierHead
from service.config import Settings
from service.embeddings import SentenceTransformerEmbedder
from service.errors import ConfigError, NotReady

logger = logging.getLogger(__name__)
ClassifierLoader = Callable[[Settings], Classifier]


def load_embedded_classifier(settings: Settings) -> Classifier:
    """The packaged sentence-transformers model with the trained head."""
    head = ClassifierHead.load(settings.classifier_path)
    return Classifier(embedder=SentenceTransformerEmbedder(settings.model_path), head=head)


class EngineState:
    """Holds the classifier once loaded; routes ask it for the classifier and get `NotReady` until then."""

    def __init__(self) -> None:
        self._classifier: Classifier | None = None
        self._failure: str | None = None

    @property
    def ready(self) -> bool:
        return self._classifier is not None

    @property
    def failure(self) -> str | None:
        return self._failure

    def classifier(self) -> Classifier:
        """The loaded classifier, or `NotReady` saying why there is none."""
        if self._classifier is not None:
            return self._classifier
        if self._failure is not None:
            raise NotReady(f"The embedded engine failed to load: {self._failure}")
        raise NotReady("The embedded engine is still loading; retry in a few seconds.")

    async def load(self, loader: ClassifierLoader, settings: Settings) -> None:
        """Load in a worker thread so /healthz answers while the model loads."""
        try:
            self._classifier = await asyncio.to_thread(loader, settings)
        except ConfigError as exc:
            self._failure = str(exc)
            logger.error("embedded engine failed to load: %s", exc)
        else:
            logger.info("embedded engine ready")
