"""A wheel built from the project carries everything the server needs: installed into a fresh venv, run
from an empty folder and with the eval suite taken out, it serves the page and `/v1/rewrite`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx

from evals.loadgen import free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def _installed_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh venv with only the project's wheel installed; its dependencies are read from this test's
    own environment (a path line, not an install: the test never reaches the network)."""
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--no-build-isolation", "-w", wheels)
    (wheel,) = wheels.glob("goal_rewriter-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    # A .pth line adds a folder but runs none of its own .pth files, so this environment's editable
    # install of the checkout does not come along.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv, site


def test_the_wheel_serves_rewrites_with_no_checkout_and_no_eval_suite(tmp_path: Path) -> None:
    venv, site = _installed_venv(tmp_path)
    assert (site / "service" / "prompts" / "rewrite.md").is_file(), "the prompts ship in the package"
    assert (site / "service" / "data" / "examples.jsonl").is_file(), "the few-shot rows ship as data"
    assert (site / "service" / "data" / "encoder" / "model.onnx.data").is_file(), "the export ships as data"
    shutil.rmtree(site / "evals")
    where = _run(venv / "bin" / "python", "-c", "import service; print(service.__file__)", cwd=tmp_path)
    assert where.strip() == str(site / "service" / "__init__.py")

    workdir = tmp_path / "empty"
    workdir.mkdir()
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [venv / "bin" / "goal-rewriter", "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/readyz", server, timeout_s=180, log=log, every_s=0.1)
        # The server runs the exported encoder in its own process and never loads torch, installed or not.
        assert "libtorch" not in Path(f"/proc/{server.pid}/maps").read_text()
        answer = httpx.post(f"{base}/v1/rewrite", json={"goal": "be seen as a leader by 2027"}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["rewrites"], answer.text
        assert answer.json()["engine"] == "embedded"
        page = httpx.get(f"{base}/", timeout=30)
        assert page.status_code == 200
        assert httpx.get(f"{base}/static/page.css", timeout=30).status_code == 200
    finally:
        stop(server, grace_s=30)
