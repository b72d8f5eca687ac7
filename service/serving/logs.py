"""Log lines for `goal-rewriter serve`: one JSON object per line (or text), each with its request id."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from service.config import LogFormat

# Set by the request middleware for the request being answered; log records read it.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What every LogRecord holds; anything else on a record came in through `extra=` and is a field to show.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    # uvicorn's coloured copy of its own message
    "color_message",
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being answered when it was logged (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then the exception it was raised from or while handling, and so on, as Python prints them."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)


def withheld_traceback(exc: BaseException) -> str:
    """The traceback of `exc` and of the exceptions it came from, with each one's type and where it was
    raised, but not its message: messages quote input (a ValidationError's `input_value`, a database
    error's parameters), and input here is goal text."""
    parts: list[str] = []
    for link in reversed(list(_chain(exc))):
        if parts:
            parts.append("\nThe above led to the following exception:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(link.__traceback__))
        kind = type(link)
        parts.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
    return "".join(parts).rstrip("\n")


class WithholdExceptionMessages(logging.Filter):
    """Replaces a record's exception by its withheld traceback, so neither this handler's formatter nor any
    handler after it can write what the exception said."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = withheld_traceback(record.exc_info[1])
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request_id, then the record's extra fields, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(*, log_format: LogFormat, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server: the app's, uvicorn's and the libraries' records, one
    handler on stderr, whose tracebacks never hold an exception's message. Serve it with uvicorn's
    `access_log=False`: the request middleware writes its own."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if log_format is LogFormat.JSON else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "withhold_messages": {"()": WithholdExceptionMessages},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id", "withhold_messages"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        },
        "root": {"handlers": ["default"], "level": level.upper()},
    }
