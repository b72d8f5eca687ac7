"""Builds the engines once (model, head, LLM client) and holds them until the app is ready."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from service import grammar, language
from service.cascade import Cascade
from service.classifier import Classifier, ClassifierHead
from service.config import Settings
from service.errors import ConfigError, EngineBroken, NotReady
from service.llm.breaker import CircuitBreaker
from service.llm.client import LLM
from service.llm.examples import ExampleIndex
from service.llm.structured import StructuredLLM
from service.model.cores import usable_cores
from service.model.embeddings import CachingEmbedder, Embedder
from service.model.known import KnownVectors
from service.model.onnx import OnnxEncoder
from service.model.pool import BatchingEmbedder, Encoder
from service.model.process import ModelProcess
from service.playbook import Playbook
from service.rewriter import Rewriter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    """Everything a request needs, loaded once."""

    classifier: Classifier
    cascade: Cascade
    rewriter: Rewriter
    llm: StructuredLLM | None = None

    async def aclose(self) -> None:
        """Stop the embedding worker and close the LLM client's connections, if there is one."""
        await asyncio.to_thread(self.classifier.embedder.close)
        if self.llm is not None:
            await self.llm.aclose()


EngineLoader = Callable[[Settings], Engine]


def load_embedded_classifier(settings: Settings) -> Classifier:
    """The packaged model with the trained head: exported, in this process (ONNX Runtime), or in
    processes of its own (torch); batched, cache hits skip the queue, and the texts every start embeds come
    precomputed from the export."""
    head = ClassifierHead.load(settings.classifier_path)
    cores = settings.model_cores or usable_cores()
    encoders: list[Encoder]
    if settings.encoder == "onnx":
        # One session in this process: ONNX Runtime runs its own threads and releases the GIL.
        encoders = [OnnxEncoder(settings.encoder_dir, threads=cores)]
    else:
        count = settings.model_processes or cores
        # Started side by side: each spends most of its start loading torch and the weights.
        with ThreadPoolExecutor(count, thread_name_prefix="model-start") as starting:
            encoders = list(
                starting.map(lambda _: ModelProcess(settings.model_path, threads=1), range(count))
            )
    batching = BatchingEmbedder(
        encoders,
        cores=cores,
        window_s=settings.embed_batch_window_ms / 1000,
        max_batch=settings.embed_max_batch,
    )
    embedder = KnownVectors.around(CachingEmbedder(batching), settings.encoder_dir)
    return Classifier(embedder=embedder, head=head)


def embed_start_texts(embedder: Embedder) -> None:
    """Embed what an engine embeds while it starts (the playbook, the few-shot goals), as `make export`
    does to record those vectors."""
    Playbook.load(embedder)
    ExampleIndex.from_package(embedder)


def openai_llm(settings: Settings) -> LLM | None:
    """The configured OpenAI-compatible endpoint, or None when no base URL is set."""
    if not settings.llm_base_url:
        return None
    from service.llm.openai_chat import OpenAIChat

    return OpenAIChat(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value(),
        model=settings.llm_model,
    )


def build_engine(
    settings: Settings,
    *,
    classifier: Classifier,
    llm: LLM | None,
    breaker_clock: Callable[[], float] = time.monotonic,
) -> Engine:
    """Wire the cascade and the rewriter around a classifier and an optional LLM.

    `breaker_clock` lets a test move the breaker past its cool-down without waiting for it.
    """
    structured = None
    examples = None
    if llm is not None:
        breaker = CircuitBreaker(
            failures=settings.llm_breaker_failures,
            cooldown_s=settings.llm_breaker_cooldown_s,
            clock=breaker_clock,
        )
        structured = StructuredLLM(llm=llm, settings=settings, breaker=breaker)
        examples = ExampleIndex.from_package(classifier.embedder)
    cascade = Cascade(classifier=classifier, settings=settings, llm=structured, examples=examples)
    rewriter = Rewriter(
        cascade=cascade,
        playbook=Playbook.load(classifier.embedder),
        settings=settings,
        llm=structured,
        examples=examples,
    )
    return Engine(classifier=classifier, cascade=cascade, rewriter=rewriter, llm=structured)


def _load_languages() -> None:
    grammar.load()
    language.load()


def load_engine(settings: Settings) -> Engine:
    """The embedded engine, plus the LLM when `GOAL_LLM_BASE_URL` is set. The English parser and the
    language model load beside the encoder, so a ready engine answers at full speed from its first request."""
    with ThreadPoolExecutor(1, thread_name_prefix="parser-load") as beside:
        parser = beside.submit(_load_languages)
        classifier = load_embedded_classifier(settings)
        parser.result()
    return build_engine(settings, classifier=classifier, llm=openai_llm(settings))


class EngineState:
    """Holds the engine once loaded; routes ask it for the engine and get `NotReady` until then."""

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._failure: str | None = None

    @property
    def ready(self) -> bool:
        return self._engine is not None

    @property
    def failure(self) -> str | None:
        return self._failure

    def engine(self) -> Engine:
        """The loaded engine, or `NotReady` saying why there is none."""
        if self._engine is not None:
            return self._engine
        if self._failure is not None:
            raise EngineBroken(f"The embedded engine failed to load: {self._failure}")
        raise NotReady("The embedded engine is still loading; retry in a few seconds.")

    async def aclose(self) -> None:
        """Release what the engine holds open (called when the app stops)."""
        if self._engine is not None:
            await self._engine.aclose()

    async def load(self, loader: EngineLoader, settings: Settings) -> None:
        """Load in a worker thread so /healthz answers while the model loads."""
        try:
            self._engine = await asyncio.to_thread(loader, settings)
        except ConfigError as exc:
            # A setting or an artifact is wrong, and its message says which and how to fix it.
            self._failure = str(exc)
            logger.error("embedded engine failed to load: %s", exc)
        except Exception as exc:
            # Anything else (a bad playbook row, a model process that died at start) must not leave the
            # replica "loading" for ever: /readyz answers 503 with this reason, and the log has the traceback.
            self._failure = f"{type(exc).__name__}: {exc}"
            logger.exception(
                "embedded engine failed to load (%s); fix the cause shown in the traceback and restart",
                self._failure,
            )
        else:
            logger.info("engine ready (LLM %s)", "on" if settings.llm_enabled else "off")
