"""The OpenAPI document is valid, and declares what the middleware does: the Idempotency-Key and X-Request-ID
headers, one error body, and each route's own error answers."""

from __future__ import annotations

import re
from functools import reduce
from operator import getitem
from typing import Any

import pytest
from openapi_spec_validator import validate

from service.app import create_app
from service.config import Settings
from service.schemas import ErrorBody

ENGINE_POST = {400, 401, 403, 409, 413, 422, 429, 503}
# The errors each /v1 operation can give; a GET or DELETE takes no body (no 400, 409, 413), and only the
# operations that run the engine answer 503.
V1_ERRORS = {
    ("post", "/v1/classify"): ENGINE_POST,
    ("post", "/v1/rewrite"): ENGINE_POST,
    ("post", "/v1/batch"): ENGINE_POST,
    ("post", "/v1/feedback"): ENGINE_POST - {503},
    ("delete", "/v1/feedback"): {401, 403, 422, 429},
    ("get", "/v1/kinds"): {401},
}
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` points to."""
    while "$ref" in node:
        node = reduce(getitem, node["$ref"].removeprefix("#/").split("/"), document)
    return node


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, by_method in document["paths"].items()
        for method, operation in by_method.items()
    ]


def header_parameters(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parameters = [resolve(document, p) for p in operation.get("parameters", [])]
    return {p["name"]: p for p in parameters if p["in"] == "header"}


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_each_v1_operation_declares_exactly_the_errors_it_can_give(document: dict[str, Any]) -> None:
    declared = {
        (method, path): {int(status) for status in operation["responses"] if int(status) >= 400}
        for method, path, operation in operations(document)
        if path.startswith("/v1/")
    }
    assert declared == V1_ERRORS


def test_every_v1_error_answer_is_an_error_body(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if path.startswith("/v1/") and int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == ERROR_BODY, (method, path, status)
                assert response["description"], (method, path, status)
    # FastAPI's own 422 shape is nowhere: the app never answers with it.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["ErrorBody"]["properties"]) == set(ErrorBody.model_fields)


def test_waiting_answers_say_how_long_to_wait(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status in {"409", "429", "503"} & operation["responses"].keys():
            if path.startswith("/v1/"):
                retry_after = operation["responses"][status]["headers"]["Retry-After"]
                assert retry_after["schema"]["type"] == "integer", (method, path, status)
        if "401" in operation["responses"]:
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


def test_idempotency_key_is_declared_on_exactly_the_v1_posts(document: dict[str, Any]) -> None:
    with_key = {
        (method, path)
        for method, path, operation in operations(document)
        if "Idempotency-Key" in header_parameters(document, operation)
    }
    assert with_key == {
        ("post", "/v1/classify"),
        ("post", "/v1/rewrite"),
        ("post", "/v1/batch"),
        ("post", "/v1/feedback"),
    }
    parameter = resolve(document, {"$ref": "#/components/parameters/Idempotency-Key"})
    assert parameter["required"] is False
    pattern = re.compile(parameter["schema"]["pattern"])
    assert pattern.search("cycle-2026-04")
    assert not pattern.search("")
    assert not pattern.search("with space")
    assert not pattern.search("k" * 256)


def test_every_operation_takes_and_every_answer_carries_x_request_id(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        parameter = header_parameters(document, operation)["X-Request-ID"]
        assert parameter["required"] is False, (method, path)
        for status, response in operation["responses"].items():
            header = resolve(document, response["headers"]["X-Request-ID"])
            assert header["required"] is True, (method, path, status)
    pattern = re.compile(
        resolve(document, {"$ref": "#/components/parameters/X-Request-ID"})["schema"]["pattern"]
    )
    assert pattern.search("req-1.2_3")
    assert not pattern.search("two words")


def test_asking_for_the_document_again_declares_nothing_twice() -> None:
    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    first = repr(app.openapi())
    assert repr(app.openapi()) == first
