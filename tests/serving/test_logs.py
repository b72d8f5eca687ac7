"""Log lines: one JSON object per line with the request id and the extra fields; text for reading by eye."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from datetime import datetime

import pytest

from service.config import LogFormat
from service.serving.logs import JsonFormatter, RequestIdFilter, logging_config, request_id


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON lines into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
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


def test_an_exception_stays_one_line_with_its_traceback(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = captured
    try:
        raise RuntimeError("the model file is unreadable")
    except RuntimeError:
        logger.exception("engine failed")
    (line,) = buffer.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert "Traceback" in entry["exception"]
    assert "RuntimeError: the model file is unreadable" in entry["exception"]


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
