"""A fake OpenAI-compatible chat-completions server whose failures are switched at run time.

Run it as a process: `python -m tests.fault_server --port N` (0 takes a free port); its first line on stdout
is its URL. `POST /_fault {"mode": ...}` sets how `/v1/chat/completions` behaves from then on:

    ok        a valid answer in the shape asked for (the classify verdict or the rewrites)
    hang      read the request, never answer
    429       rate limited, with `Retry-After`
    500       a server error
    close     send the headers and half the body, then close the connection
    garbage   200 with a body that is not JSON, cut-off JSON, not a chat completion, or the wrong schema
    slow      the ok answer after `delay_s` seconds

`GET /_fault` reports the mode and `hits`, the chat calls received, so a test sees what reached the server.
Tests drive it through `fault_server()` and `FaultServer`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from evals.loadgen import stop

Mode = Literal["ok", "hang", "429", "500", "close", "garbage", "slow"]
Garbage = Literal["not_json", "truncated", "not_completion", "wrong_schema"]
ROOT = Path(__file__).resolve().parents[1]
_GOAL = re.compile(r"<goal>(.*?)</goal>", re.DOTALL)


class Fault(BaseModel):
    """How the chat endpoint behaves; the body of `POST /_fault`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = "ok"
    retry_after: str = Field(default="1", description="The Retry-After header of a 429.")
    delay_s: float = Field(default=5.0, ge=0, description="How long `slow` waits before answering.")
    garbage: Garbage = "not_json"


class Report(BaseModel):
    """The body of `GET /_fault`."""

    fault: Fault
    hits: int = Field(description="Chat-completion requests received since the server started.")


def completion(content: str) -> dict[str, Any]:
    """A chat.completion body with one choice."""
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "fault-model",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 20, "total_tokens": 60},
    }


def answer_for(request: dict[str, Any]) -> str:
    """A valid answer to a classify or rewrite request, written from the goal the prompt carries."""
    messages = request.get("messages", [])
    texts = [str(m.get("content", "")) for m in messages]
    found = next((m for t in reversed(texts) if (m := _GOAL.search(t))), None)
    goal = str(json.loads(found.group(1))).rstrip(".") if found else "my goal"
    schema = request.get("response_format", {}).get("json_schema", {}).get("name")
    # In json_object and plain modes the schema is only in the system prompt's text.
    if schema == "LLMRewrites" or (schema is None and any('"rewrites"' in t for t in texts)):
        # A good LLM keeps the goal's subject and leaves its target out: the service drops a draft that
        # restates a figure of the goal.
        goal = " ".join(word for word in goal.split() if not any(c.isdigit() for c in word))
        drafts = [
            {
                "text": f"Every week I will spend an hour studying how others approach: {goal}, "
                "and keep count of the hours.",
                "serves": goal,
                "progress_measure": "hours of study",
                "cadence": "weekly",
                "rationale": "The hours are mine to spend.",
            },
            {
                "text": f"I will practise one skill behind this goal for 30 minutes every week and log each "
                f"session: {goal}.",
                "serves": goal,
                "progress_measure": "practice sessions logged",
                "cadence": "weekly",
                "rationale": "Practice is under my control.",
            },
        ]
        questions = ["What could you try next week?", "Who could tell you how it went?"]
        return json.dumps({"rewrites": drafts, "coaching_questions": questions})
    # Never mastery, so a rewrite request goes on to ask for rewrites.
    kind = "performance" if any(c.isdigit() for c in goal) else "outcome"
    return json.dumps({"reason": "The result depends on others.", "kind": kind})


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fault = Fault()
        self.hits = 0
        self.stopping = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        if self.path == "/_fault":
            with self.state.lock:
                report = Report(fault=self.state.fault, hits=self.state.hits)
            self._send(200, report.model_dump_json().encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/_fault":
            fault = Fault.model_validate_json(body)
            with self.state.lock:
                self.state.fault = fault
            self._send(200, fault.model_dump_json().encode())
        elif self.path == "/v1/chat/completions":
            with self.state.lock:
                self.state.hits += 1
                fault = self.state.fault
            self._chat(fault, json.loads(body))
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def _chat(self, fault: Fault, request: dict[str, Any]) -> None:
        answer = json.dumps(completion(answer_for(request))).encode()
        if fault.mode == "hang":
            self.state.stopping.wait()
            self.close_connection = True
        elif fault.mode == "429":
            error = b'{"error": {"message": "rate limited", "type": "rate_limit"}}'
            self._send(429, error, {"Retry-After": fault.retry_after})
        elif fault.mode == "500":
            self._send(500, b'{"error": {"message": "the model crashed", "type": "server_error"}}')
        elif fault.mode == "close":
            self._send(200, answer, length=len(answer), cut=len(answer) // 2)
        elif fault.mode == "garbage":
            self._send(200, _garbage(fault.garbage, answer))
        elif fault.mode == "slow":
            if not self.state.stopping.wait(fault.delay_s):
                self._send(200, answer)
        else:
            self._send(200, answer)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        length: int | None = None,
        cut: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow or hung answer is what this server is for, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _garbage(kind: Garbage, answer: bytes) -> bytes:
    if kind == "not_json":
        return b"<html><body>502 Bad Gateway</body></html>"
    if kind == "truncated":
        # A complete HTTP message whose JSON stops halfway.
        return answer[: len(answer) // 2]
    if kind == "not_completion":
        return b'{"status": "ok", "result": "performance"}'
    return json.dumps(completion('{"verdict": "maybe", "confidence": "high"}')).encode()


def serve(port: int, *, exit_with_parent: bool = False) -> None:
    """Serve on loopback until killed (or, with `exit_with_parent`, until the parent process ends), printing
    the URL first."""
    state = _State()
    handler = type("Handler", (_Handler,), {"state": state})
    server = _Server(("127.0.0.1", port), handler)
    if exit_with_parent:
        threading.Thread(target=_stop_when_orphaned, args=(server, os.getppid()), daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        state.stopping.set()
        server.server_close()


def _stop_when_orphaned(server: ThreadingHTTPServer, parent: int) -> None:
    # A test run that crashes never stops its fault server; the server notices its parent is gone instead.
    while os.getppid() == parent:
        time.sleep(0.5)
    server.shutdown()


class FaultServer:
    """A running fault server, seen from a test: switch its mode, count the chat calls it got."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=10)

    @property
    def base_url(self) -> str:
        """What `GOAL_LLM_BASE_URL` is set to."""
        return f"{self.url}/v1"

    def set(self, mode: Mode, **options: Any) -> None:
        """Switch the chat endpoint's behaviour for the requests that arrive from now on."""
        fault = Fault(mode=mode, **options)
        self._http.post("/_fault", content=fault.model_dump_json()).raise_for_status()

    @property
    def hits(self) -> int:
        """Chat-completion requests the server has received."""
        response = self._http.get("/_fault")
        response.raise_for_status()
        return Report.model_validate_json(response.content).hits

    def hits_reaching(self, count: int, *, within_s: float = 10.0) -> int:
        """The hits once they reach `count`, or when `within_s` has passed; on a loaded machine the server
        may read a request a moment after the client timed out and gave up on it."""
        bound = time.monotonic() + within_s
        hits = self.hits
        while hits < count and time.monotonic() < bound:
            time.sleep(0.05)
            hits = self.hits
        return hits

    def close(self) -> None:
        self._http.close()


@contextmanager
def fault_server() -> Iterator[FaultServer]:
    """Start the fault server as a separate process on loopback, in mode `ok`; stop it when the block ends."""
    command = [sys.executable, "-m", "tests.fault_server", "--port", "0", "--exit-with-parent"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the fault server did not start (exit code {process.poll()})")
        server = FaultServer(url)
        try:
            yield server
        finally:
            server.close()
    finally:
        stop(process, grace_s=10)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.fault_server --port N`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 takes a free one")
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process ends")
    args = parser.parse_args(argv)
    serve(args.port, exit_with_parent=args.exit_with_parent)


if __name__ == "__main__":
    main()
