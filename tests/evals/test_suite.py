"""`goal-rewriter eval` end to end on a small set: files written, report self-contained, compare, gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.cache import CachedLLM
from evals.judge import Judge
from evals.runner import EvalItem, ResultRow, run_items
from evals.summary import RunMetrics
from service.cli import main
from service.config import OutputMode, Settings
from service.engine import Engine
from service.llm.breaker import CircuitBreaker
from service.llm.client import ChatReply, ChatRequest, FakeLLM
from service.llm.prompts import ChatMessage
from service.llm.structured import StructuredLLM
from service.taxonomy import Kind

ITEMS = [
    {
        "text": "Close 20 deals per month",
        "label": "performance",
        "family": "sales",
        "references": [
            "I will call five prospects every morning.",
            "I will review one lost deal each Friday.",
        ],
    },
    {
        "text": "be a better leader",
        "label": "outcome",
        "references": ["I will hold a weekly 1:1 with each report."],
    },
    {"text": "read one industry report every week", "label": "mastery"},
    {"text": "", "label": "outcome"},
]


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _shared_engine(monkeypatch: pytest.MonkeyPatch, embedded_engine: Engine) -> None:
    monkeypatch.setattr("evals.suite.build_engine", lambda *a, **k: embedded_engine)


def test_a_run_writes_every_file_and_records_bad_rows(small_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["eval", "--data", str(small_set), "--out", str(out)]) == 0
    rows = [ResultRow.model_validate_json(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r.id for r in rows] == ["line-1", "line-2", "line-3", "line-4"]
    assert rows[3].error is not None, "the empty goal is an error row; the run went on"
    assert rows[0].reference_rank is not None
    metrics = RunMetrics.model_validate_json((out / "metrics.json").read_text())
    assert (metrics.n, metrics.errors, metrics.config["engine"]) == (4, 1, "embedded")
    html = (out / "report.html").read_text()
    assert "<svg" in html
    assert "<script" not in html
    assert "http" not in html.replace("http-equiv", ""), "self-contained: nothing fetched"
    assert "# goal-rewriter eval" in (out / "report.md").read_text()


def test_gate_fails_the_command_and_says_why(
    small_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"classification.accuracy": 1.01}))
    assert main(["eval", "--data", str(small_set), "--out", str(tmp_path / "r"), "--gate", str(floors)]) == 1
    assert "classification.accuracy is" in capsys.readouterr().err


def test_compare_shows_deltas_and_changed_goals(
    small_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    main(["eval", "--data", str(small_set), "--out", str(a)])
    main(["eval", "--data", str(small_set), "--out", str(b)])
    rows = (b / "results.jsonl").read_text().splitlines()
    first = json.loads(rows[0])
    first["predicted"] = "outcome"
    (b / "results.jsonl").write_text("\n".join([json.dumps(first), *rows[1:]]) + "\n")
    capsys.readouterr()
    assert main(["eval", "compare", str(a), str(b)]) == 0
    report = capsys.readouterr().out
    assert "classification.macro_f1" in report
    assert "1 goals changed" in report
    assert "line-1: performance -> outcome" in report


async def test_llm_answers_are_cached_and_errors_are_not(tmp_path: Path) -> None:
    fake = FakeLLM().enqueue(RuntimeError("boom"), ChatReply(content="first answer", prompt_tokens=9))
    cached = CachedLLM(fake, base_url="http://x/v1", folder=tmp_path)
    request = ChatRequest(
        messages=[ChatMessage(role="user", content="g")],
        schema_name="S",
        json_schema={},
        output_mode=OutputMode.JSON_SCHEMA,
        temperature=0.2,
        max_tokens=10,
    )
    with pytest.raises(RuntimeError):
        await cached.complete(request, timeout=1)
    assert list(tmp_path.iterdir()) == []
    assert (await cached.complete(request, timeout=1)).content == "first answer"
    assert (await cached.complete(request, timeout=1)).content == "first answer"
    assert (cached.hits, cached.misses, len(fake.history)) == (1, 1, 2)
    assert (await cached.complete(request, timeout=1)).prompt_tokens == 0, "a cached answer costs nothing"
    hotter = request.model_copy(update={"temperature": 0.9})
    assert cached.key(hotter) != cached.key(request), "generation settings are part of the key"


async def test_the_judge_rates_each_goal_and_its_cost_is_counted(embedded_engine: Engine) -> None:
    verdict = json.dumps(
        {
            "goal_kind": "performance",
            "rewrite_controllable": True,
            "rewrite_specific": True,
            "rewrite_serves_goal": True,
            "rewrite_restates_target": False,
            "score": 4,
        }
    )
    fake = FakeLLM().enqueue(
        ChatReply(content=verdict, prompt_tokens=30, completion_tokens=5),
        "not json at all",
        "still not json",
        "nope",
    )
    settings = Settings(_env_file=None, llm_max_reasks=2)  # type: ignore[call-arg]
    judge = Judge(
        StructuredLLM(llm=fake, settings=settings, breaker=CircuitBreaker(failures=5, cooldown_s=1)),
        settings.prompts_dir,
    )
    items = [
        EvalItem(text="Close 20 deals per month", label=Kind.PERFORMANCE, id="a"),
        EvalItem(text="be a better leader", label=Kind.OUTCOME, id="b"),
    ]
    rows = await run_items(embedded_engine, items, judge=judge)
    assert rows[0].judge is not None
    assert rows[0].judge.score == 4
    assert (rows[0].prompt_tokens, rows[0].llm_calls) == (30, 1)
    assert (rows[1].judge, rows[1].judge_error, rows[1].llm_calls) == (None, "llm_output_invalid", 3)
    user = fake.history[0].messages[-1].content
    assert '<goal>"Close 20 deals per month"</goal>' in user
    assert "<rewrite>" in user
