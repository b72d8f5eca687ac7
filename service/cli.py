"""The `goal-rewriter` command: serve, classify, train and evaluate, over the same domain functions."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import logging
import logging.config
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from service.config import Settings, get_settings
from service.errors import ConfigError, StoreError
from service.serving.admin import add_commands, serving_host


def _goals_from(args: Sequence[str], stdin: TextIO) -> Iterator[str]:
    """Goals from the arguments or, with none, one per non-blank stdin line."""
    if args:
        yield from args
        return
    for line in stdin:
        if line.strip():
            yield line.rstrip("\n")


def cmd_classify(options: argparse.Namespace, settings: Settings) -> int:
    """Print one JSON line per goal; an unusable goal gets an error line and the rest go on."""
    from service.engine import load_engine
    from service.schemas import ClassifiedGoal

    cascade = load_engine(settings).cascade

    async def answer(goal: str) -> str:
        return ClassifiedGoal(goal=goal, **(await cascade.classify(goal)).model_dump()).model_dump_json()

    return asyncio.run(_each_goal(_goals_from(options.goals, sys.stdin), answer))


def cmd_rewrite(options: argparse.Namespace, settings: Settings) -> int:
    """Print one JSON line per goal with its rewrites; an unusable goal gets an error line."""
    from service.engine import load_engine
    from service.schemas import RewriteRequest

    rewriter = load_engine(settings).rewriter

    async def answer(goal: str) -> str:
        return (await rewriter.rewrite(RewriteRequest(goal=goal, n=options.n))).model_dump_json()

    return asyncio.run(_each_goal(_goals_from(options.goals, sys.stdin), answer))


async def _each_goal(goals: Iterable[str], answer: Callable[[str], Awaitable[str]]) -> int:
    """Validate each goal, print its answer line, or an error line and a message on stderr."""
    from service.schemas import goal_problems, goal_text_adapter

    failures = 0
    for number, raw in enumerate(goals, start=1):
        try:
            goal = goal_text_adapter.validate_python(raw)
        except ValidationError as exc:
            failures += 1
            message = goal_problems(exc)
            print(f"goal {number}: {message}", file=sys.stderr)
            print(json.dumps({"goal": raw, "error": message}, ensure_ascii=False), flush=True)
            continue
        print(await answer(goal), flush=True)
    return 1 if failures else 0


# mallopt's parameter for the most malloc arenas (glibc's malloc.h).
_M_ARENA_MAX = -8


def _two_malloc_arenas() -> None:
    """glibc gives threads that allocate heaps of their own, up to 8 per core, and the server's request
    threads keep each partly filled: under `make soak` the replica held 17 MiB more than with two. As
    MALLOC_ARENA_MAX=2 would, unless the operator set that; before the threads start. Not glibc: nothing."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_ARENA_MAX, 2)


def cmd_serve(options: argparse.Namespace, settings: Settings) -> int:
    """Serve the API with uvicorn: JSON log lines (or text), and a drain on SIGTERM before stopping."""
    # Every stderr line is a log line: no progress bar while the model loads (read when huggingface_hub is
    # first imported, so set before the app is built), and Python warnings as log records.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.captureWarnings(True)
    # The server's own process runs no torch: the ONNX encoder needs none, and the torch encoder runs in
    # model processes of their own. spaCy's thinc imports torch whenever it is installed, only to offer
    # layers its English parser does not use: 180 MiB and a second of start. Marked missing here, a server
    # started from a development environment is the one the image runs, where torch is not installed.
    sys.modules.setdefault("torch", None)  # type: ignore[arg-type]
    _two_malloc_arenas()
    from service.app import create_app
    from service.serving.draining import draining_server
    from service.serving.logs import logging_config

    settings = settings.model_copy(
        update={"host": options.host or settings.host, "port": options.port or settings.port}
    )
    log_config = logging_config(log_format=settings.log_format, level=settings.log_level)
    # Configured before uvicorn does it (with the same config), so the bind notice is a log line too.
    logging.config.dictConfig(log_config)
    settings = settings.model_copy(update={"host": serving_host(settings)})
    app = create_app(settings)
    server = draining_server(app, settings, draining=app.state.draining, log_config=log_config)
    server.run()
    # As uvicorn.run does: a server that never started (its port taken, say) is a failure.
    return 0 if server.started else 3


def cmd_train(options: argparse.Namespace, settings: Settings) -> int:
    """Retrain the classifier head on the train split and write the artifact."""
    from evals.dataset import load_goals, training_rows
    from evals.training import train_head
    from service.labelled import Split, in_split, write_goals
    from service.llm.examples import EXAMPLES_PATH
    from service.model.embeddings import SentenceTransformerEmbedder

    rows = load_goals()
    train = in_split(rows, Split.TRAIN)
    head = train_head(
        embedder=SentenceTransformerEmbedder(settings.model_path),
        train=training_rows(rows),
        dev=in_split(rows, Split.DEV),
    )
    head.save(settings.classifier_path)
    print(f"wrote {settings.classifier_path}: {head.provenance.model_dump_json()}")
    # The LLM's few-shot examples ship with the package, so the service never reads the eval suite's files.
    write_goals(EXAMPLES_PATH, train)
    print(f"wrote {EXAMPLES_PATH}: {len(train)} train-split goals for few-shot prompts")
    return 0


def cmd_export(options: argparse.Namespace, settings: Settings) -> int:
    """Export the model to ONNX for the server, with the vectors every start needs."""
    from service.engine import embed_start_texts
    from service.model.export import export_onnx

    out = export_onnx(options.out or settings.encoder_dir, settings.model_path, start=embed_start_texts)
    print(f"wrote {out}: the encoder the server runs, and the vectors every start needs")
    return 0


def cmd_eval_classify(options: argparse.Namespace, settings: Settings) -> int:
    """Score the classifier and the keyword baseline on a split; optionally the cross-family check."""
    from evals.classification import report_cross_family, report_split
    from service.labelled import Split

    print(report_split(settings, Split(options.split)))
    if options.cross_family:
        print(report_cross_family(settings))
    return 0


def cmd_eval_rewrite(options: argparse.Namespace, settings: Settings) -> int:
    """Score the embedded engine's rewrites on a split."""
    from evals.rewrites import report_split
    from service.engine import load_engine
    from service.labelled import Split

    print(report_split(load_engine(settings), Split(options.split)))
    return 0


def cmd_eval(options: argparse.Namespace, settings: Settings) -> int:
    """Run the eval suite, or compare two runs."""
    from evals import suite

    if options.eval_command == "compare":
        print(suite.compare_runs(options.run_a, options.run_b))
        return 0
    if options.eval_command == "review":
        return suite.write_review(options, settings)
    return suite.run(options, settings)


def build_parser() -> argparse.ArgumentParser:
    """The command line, one sub-command per task."""
    parser = argparse.ArgumentParser(prog="goal-rewriter", description=__doc__)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show progress bars and info log lines on stderr (quiet by default)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    classify = commands.add_parser("classify", help="classify goals from arguments or stdin lines")
    classify.add_argument("goals", nargs="*", help="goals to classify; with none, read one per stdin line")
    classify.set_defaults(run=cmd_classify)

    rewrite = commands.add_parser("rewrite", help="rewrite goals (arguments or stdin lines) as mastery goals")
    rewrite.add_argument("goals", nargs="*", help="goals to rewrite; with none, read one per stdin line")
    rewrite.add_argument("-n", type=int, default=3, choices=range(1, 6), help="rewrites per goal (1-5)")
    rewrite.set_defaults(run=cmd_rewrite)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="address to bind (default GOAL_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default GOAL_PORT or 8000)")
    serve.set_defaults(run=cmd_serve)

    train = commands.add_parser("train", help="retrain the classifier head on the train split")
    train.set_defaults(run=cmd_train)

    export = commands.add_parser("export", help="export the model to ONNX for GOAL_ENCODER=onnx")
    export.add_argument("--out", type=Path, help="folder to write (default GOAL_ENCODER_DIR)")
    export.set_defaults(run=cmd_export)

    evaluate = commands.add_parser("eval-classify", help="classifier vs keyword baseline on a split")
    evaluate.add_argument("--split", choices=["dev", "test"], default="test")
    evaluate.add_argument(
        "--cross-family",
        action="store_true",
        help="also train on some writers' job families and test on the others",
    )
    evaluate.set_defaults(run=cmd_eval_classify)

    evaluate_all = commands.add_parser(
        "eval", help="score classification and rewrites on a labelled JSONL set"
    )
    evaluate_all.add_argument("--data", type=Path, help="JSONL with text and label (default: the test split)")
    evaluate_all.add_argument("--engine", choices=["embedded", "llm", "cascade"], default="embedded")
    evaluate_all.add_argument("--out", type=Path, default=Path("eval-runs/latest"), help="folder for the run")
    evaluate_all.add_argument("--repeat", type=int, default=1, help="run every goal N times (flakiness)")
    evaluate_all.add_argument(
        "--no-cache", action="store_true", help="ask the LLM again and refresh the cache"
    )
    evaluate_all.add_argument("--cache-dir", type=Path, default=Path(".eval-cache"), help="LLM answer cache")
    evaluate_all.add_argument(
        "--usd-per-million",
        type=float,
        nargs=2,
        default=(0.0, 0.0),
        metavar=("INPUT", "OUTPUT"),
        help="token prices for the cost estimate",
    )
    evaluate_all.add_argument(
        "--judge",
        action="store_true",
        help="also rate each top rewrite with the LLM judge (needs GOAL_LLM_*)",
    )
    evaluate_all.add_argument(
        "--gate", type=Path, help="fail when a metric is under its threshold in this file"
    )
    evaluate_all.add_argument(
        "--review", type=Path, help="a graded blind review folder: add its review.* figures to the run"
    )
    evaluate_all.set_defaults(run=cmd_eval, eval_command=None)
    eval_commands = evaluate_all.add_subparsers(dest="eval_command")
    compare = eval_commands.add_parser("compare", help="metric deltas and changed goals between two runs")
    compare.add_argument("run_a", type=Path)
    compare.add_argument("run_b", type=Path)
    review = eval_commands.add_parser(
        "review", help="write a blind review sheet (HTML and CSV) of each engine's top rewrites"
    )
    review.add_argument("--data", type=Path, help="JSONL with text and label (default: the test split)")
    review.add_argument("--engines", nargs="+", choices=["embedded", "llm", "cascade"], default=["embedded"])
    review.add_argument("--out", type=Path, required=True, help="folder for sheet.csv, sheet.html, key.json")
    review.add_argument("--seed", type=int, default=0, help="seed of the shuffle")

    evaluate_rewrites = commands.add_parser("eval-rewrite", help="score the rewrites of a split's goals")
    evaluate_rewrites.add_argument("--split", choices=["dev", "test"], default="test")
    evaluate_rewrites.set_defaults(run=cmd_eval_rewrite)
    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `goal-rewriter` console script."""
    options = build_parser().parse_args(argv)
    if not options.verbose:
        # Loading the torch model draws progress bars on stderr (transformers' and huggingface_hub's), for
        # every call; both read this when first imported, here or in the model processes, which inherit it.
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    level = logging.INFO if options.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        code: int = options.run(options, get_settings())
    except (ConfigError, StoreError) as exc:
        print(f"goal-rewriter: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
