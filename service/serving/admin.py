"""The operator's commands: API keys (`keys create|list|revoke`) and feedback (`feedback export|tidy`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from typing import TYPE_CHECKING

from service.config import Settings
from service.errors import ConfigError
from service.serving.access import is_loopback
from service.store.keys import Scope

if TYPE_CHECKING:
    from service.store.db import Database

logger = logging.getLogger(__name__)


def _database(settings: Settings) -> Database:
    from service.store.db import open_database

    database = open_database(settings.database_url)
    database.migrate()
    return database


def serving_host(settings: Settings) -> str:
    """The address to bind: the configured one once an API key exists, else loopback only (said on stderr)."""
    from service.store.keys import KeyStore

    database = _database(settings)
    try:
        keyed = KeyStore(database).any_active()
    finally:
        database.dispose()
    if keyed:
        return settings.host
    logger.warning(
        "no API key exists, so the API answers this machine only and listens on 127.0.0.1%s. To serve other "
        "hosts, create a key: goal-rewriter keys create --name NAME --scopes classify,rewrite",
        "" if is_loopback(settings.host) else f" instead of {settings.host}",
    )
    return settings.host if is_loopback(settings.host) else "127.0.0.1"


def parse_scopes(text: str) -> list[Scope]:
    """`classify,rewrite` as scopes, or a `ConfigError` listing the valid ones."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    valid = ", ".join(scope.value for scope in Scope)
    if not names:
        raise ConfigError(f"give at least one scope: {valid}")
    unknown = [name for name in names if name not in {scope.value for scope in Scope}]
    if unknown:
        raise ConfigError(f"unknown scope {', '.join(unknown)}; the scopes are: {valid}")
    return [Scope(name) for name in names]


def cmd_keys(options: argparse.Namespace, settings: Settings) -> int:
    """Create, list or revoke API keys in the database `GOAL_DATABASE_URL` names."""
    from service.store.keys import KeyStore

    keys = KeyStore(_database(settings))
    if options.keys_command == "create":
        key, plaintext = keys.create(name=options.name, scopes=parse_scopes(options.scopes))
        scopes = ",".join(sorted(key.scopes))
        print(f"Created API key '{key.name}' with scopes {scopes}. It is shown once; store it now:")
        print(plaintext)
    elif options.keys_command == "list":
        rows = keys.list()
        if not rows:
            print("No API keys. The server accepts requests from this machine only until one is created.")
        for key in rows:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            scopes = ",".join(sorted(key.scopes))
            print(f"{key.name}\t{key.prefix}…\t{scopes}\tcreated {key.created_at:%Y-%m-%d %H:%M}\t{state}")
    elif not keys.revoke(options.name):
        print(f"goal-rewriter: no active key is named '{options.name}'", file=sys.stderr)
        return 1
    else:
        print(f"Revoked '{options.name}'; running servers refuse it within {settings.key_cache_seconds:g} s.")
    return 0


def cmd_feedback(options: argparse.Namespace, settings: Settings) -> int:
    """Export accepted rewrites as eval-suite JSONL, or apply the retention now."""
    from service.store.feedback import FeedbackStore

    store = FeedbackStore(_database(settings))
    if options.feedback_command == "tidy":
        emptied = store.apply_retention(days=settings.feedback_retention_days)
        print(
            f"Deleted the goal text of {emptied} records older than {settings.feedback_retention_days} days."
        )
        return 0
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(options.out, "w", encoding="utf-8")) if options.out else sys.stdout
        count = 0
        for row in store.export_accepted():
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    print(f"exported {count} goals with accepted rewrites", file=sys.stderr)
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `keys` and `feedback` on the main parser."""
    keys = commands.add_parser("keys", help="create, list or revoke API keys")
    keys.set_defaults(run=cmd_keys)
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key; it is printed once, on the last line")
    create.add_argument("--name", required=True, help="unique name, e.g. the HR tool it is for")
    create.add_argument(
        "--scopes",
        default="classify,rewrite",
        help="comma-separated: classify, rewrite, feedback, admin (default classify,rewrite)",
    )
    key_commands.add_parser("list", help="list keys (names, prefixes, scopes; never the keys)")
    revoke = key_commands.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")

    feedback = commands.add_parser("feedback", help="export feedback, or apply its retention now")
    feedback.set_defaults(run=cmd_feedback)
    feedback_commands = feedback.add_subparsers(dest="feedback_command", required=True)
    export = feedback_commands.add_parser("export", help="accepted rewrites as eval-suite JSONL")
    export.add_argument("--out", help="file to write (default: stdout)")
    feedback_commands.add_parser("tidy", help="delete goal text older than GOAL_FEEDBACK_RETENTION_DAYS now")
