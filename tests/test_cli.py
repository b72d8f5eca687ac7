"""`goal-rewriter classify`: arguments or stdin lines in, one JSON line per goal out."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main
from service.engine import Engine
from service.schemas import ClassifiedGoal, RewriteResponse


@pytest.fixture(autouse=True)
def _shared_engine(monkeypatch: pytest.MonkeyPatch, embedded_engine: Engine) -> None:
    # The CLI loads the engine per run; reuse the session's so the tests stay fast.
    monkeypatch.setattr("service.engine.load_engine", lambda _: embedded_engine)


def test_goals_from_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "Close 20 deals per month", "be a better leader"]) == 0
    lines = [ClassifiedGoal.model_validate_json(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.goal for line in lines] == ["Close 20 deals per month", "be a better leader"]
    assert [line.kind for line in lines] == ["performance", "outcome"]


def test_goals_from_stdin_skip_blank_lines_and_go_on_after_a_bad_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    too_long = "x" * 1001
    monkeypatch.setattr(
        sys, "stdin", io.StringIO(f"Close 20 deals per month\n\n{too_long}\nread a book a week\n")
    )
    assert main(["classify"]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert len(lines) == 3
    assert lines[0]["kind"] == "performance"
    assert "limit is 1000" in lines[1]["error"]
    assert lines[2]["kind"] == "mastery"
    assert "goal 2:" in captured.err


def test_control_characters_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "close\x00deals"]) == 1
    assert "control character" in json.loads(capsys.readouterr().out)["error"]


def test_rewrite_prints_one_line_per_goal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rewrite", "-n", "2", "be a better leader", ""]) == 1
    out = capsys.readouterr().out.splitlines()
    answer = RewriteResponse.model_validate_json(out[0])
    assert (answer.goal, len(answer.rewrites)) == ("be a better leader", 2)
    assert "empty" in json.loads(out[1])["error"]


def test_console_script_is_installed_and_answers() -> None:
    script = Path(sys.executable).parent / "goal-rewriter"
    done = subprocess.run(
        [str(script), "classify"],
        input="Close 20 deals per month\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert ClassifiedGoal.model_validate_json(done.stdout).kind == "performance"


def _console(*args: str, encoder: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GOAL_ENCODER": encoder}
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    return subprocess.run(
        [str(Path(sys.executable).parent / "goal-rewriter"), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("encoder", ["onnx", "torch"])
def test_the_cli_writes_nothing_on_stderr_unless_verbose(encoder: str) -> None:
    done = _console("rewrite", "-n", "1", "Close 20 deals per month", encoder=encoder)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert RewriteResponse.model_validate_json(done.stdout).goal == "Close 20 deals per month"


def test_verbose_shows_the_model_loading() -> None:
    done = _console("--verbose", "classify", "Close 20 deals per month", encoder="torch")
    assert done.returncode == 0, done.stderr
    assert "Loading weights" in done.stderr
    assert ClassifiedGoal.model_validate_json(done.stdout).kind == "performance"
