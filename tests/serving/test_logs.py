"""Log lines: one JSON object per line with the request id and the extra fields; text for reading by eye."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from service.app import create_app
from service.cascade import Cascade
from service.config import LogFormat, Settings
from service.engine import Engine
from service.schemas import RewriteRequest
from service.serving.logs import (
    JsonFormatter,
    RequestIdFilter,
    WithholdExceptionMessages,
    logging_config,
    request_id,
    withheld_traceback,
)
from tests.live_server import running, wait_until_loaded

# Built at run time, so that no source line a traceback shows holds it.
CANARY = "".join(["Zanzibar", "quokka"])


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON lines into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(WithholdExceptionMessages())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


def in_request(rid: str, log: logging.Logger, *args: object, **kwargs: object) -> None:
    """Log as code answering request `rid` does, without leaving the id set in the test's own context."""

    def emit() -> None:
        request_id.set(rid)
        log.info(*args, **kwargs)  # type: ignore[arg-type]

    contextvars.copy_context().run(emit)


def test_a_line_holds_time_level_logger_message_request_id_and_extra_fields(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = captured
    in_request(
        "req-42", logger, "POST %s %d", "/v1/classify", 200, extra={"status": 200, "duration_ms": 12.5}
    )
    (line,) = buffer.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "info"
    assert entry["logger"] == "tests.logs"
    assert entry["message"] == "POST /v1/classify 200"
    assert entry["request_id"] == "req-42"
    assert (entry["status"], entry["duration_ms"]) == (200, 12.5)
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "status", "duration_ms"}


def test_a_line_outside_a_request_has_a_null_request_id(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = captured
    logger.info("engine ready")
    assert json.loads(buffer.getvalue())["request_id"] is None


def test_an_exception_stays_one_line_with_its_traceback_but_not_its_message(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = captured
    goal = CANARY
    try:
        raise RuntimeError(f"the goal {goal!r} is unreadable")
    except RuntimeError:
        logger.exception("engine failed")
    (line,) = buffer.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert "Traceback" in entry["exception"]
    assert "test_logs.py" in entry["exception"]
    assert "builtins.RuntimeError (message withheld)" in entry["exception"]
    assert CANARY not in line


def test_a_withheld_traceback_names_each_exception_of_the_chain_and_where_it_was_raised() -> None:
    goal = CANARY
    try:
        try:
            TypeAdapter(int).validate_python(goal)
        except ValidationError as exc:
            raise RuntimeError(f"could not read {goal!r}") from exc
    except RuntimeError as exc:
        text = withheld_traceback(exc)
    assert CANARY not in text
    cause = text.index("pydantic_core._pydantic_core.ValidationError (message withheld)")
    assert cause < text.index("builtins.RuntimeError (message withheld)")
    assert "TypeAdapter(int).validate_python(goal)" in text


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the root and uvicorn loggers back as they were after a test applies a server log config."""
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize("log_format", list(LogFormat))
def test_the_server_config_writes_every_logger_to_stderr_with_the_request_id(
    log_format: LogFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.config.dictConfig(logging_config(log_format=log_format, level="info"))
    in_request("req-7", logging.getLogger("service.access"), "GET /healthz 200")
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("service.engine").debug("a detail under the level")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    if log_format is LogFormat.JSON:
        entries = [json.loads(line) for line in lines]
        assert [(e["logger"], e["request_id"]) for e in entries] == [
            ("service.access", "req-7"),
            ("uvicorn.error", None),
        ]
    else:
        assert "INFO service.access [req-7] GET /healthz 200" in lines[0]
        assert "uvicorn.error [None] Started server process" in lines[1]


class Recorder(logging.Handler):
    """Keeps every record it is handed, as the server's handler left it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _GoalQuotingClassifier:
    """A classifier with a bug whose exceptions quote the goal, as pydantic's and many others' do."""

    def classify(self, goal: str) -> None:
        try:
            TypeAdapter(int).validate_python(goal)
        except ValidationError as exc:
            raise RuntimeError(f"could not classify {goal!r}") from exc


class _GoalQuotingRewriter:
    async def rewrite(self, request: RewriteRequest) -> None:
        raise ValueError(f"no rewrite for {request.goal!r}")


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize("log_format", list(LogFormat))
def test_no_log_record_of_an_unexpected_error_carries_the_goal(
    log_format: LogFormat, settings: Settings, embedded_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = Engine(
        classifier=embedded_engine.classifier,
        cascade=Cascade(classifier=_GoalQuotingClassifier(), settings=settings),  # type: ignore[arg-type]
        rewriter=_GoalQuotingRewriter(),  # type: ignore[arg-type]
    )
    goal = f"Close 20 deals for {CANARY}"
    recorder = Recorder()
    with running(create_app(settings, loader=lambda _: broken)) as url, httpx.Client(base_url=url) as http:
        # As `goal-rewriter serve` does; uvicorn's loggers go to the same handler.
        logging.config.dictConfig(logging_config(log_format=log_format, level="info"))
        for name in ("", "uvicorn"):
            logging.getLogger(name).addHandler(recorder)
        assert wait_until_loaded(http).status_code == 200
        api = http.post("/v1/classify", json={"goal": goal})
        page = http.post("/rewrite-form", data={"goals": goal}, headers={"accept": "text/html"})
    for name in ("", "uvicorn"):
        logging.getLogger(name).removeHandler(recorder)
    assert (api.status_code, page.status_code) == (500, 500)
    errors = [r for r in recorder.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2
    for record in recorder.records:
        assert CANARY not in record.getMessage()
        assert CANARY not in repr(record.args)
        assert CANARY not in (record.exc_text or "")
        assert CANARY not in logging.Formatter().format(record)
    written = capsys.readouterr().err
    assert CANARY not in written
    assert "builtins.RuntimeError (message withheld)" in written
    assert "pydantic_core._pydantic_core.ValidationError (message withheld)" in written
    assert "builtins.ValueError (message withheld)" in written
