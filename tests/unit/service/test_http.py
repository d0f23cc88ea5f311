"""The shared HTTP edge: the body limit, and 503 while a service is not ready."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient

from eventyard.service import BodyLimit, NotReady


def app(limit: int) -> FastAPI:
    application = FastAPI()
    application.add_middleware(BodyLimit, limit=limit)

    @application.post("/echo")
    def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    @application.get("/busy")
    def busy() -> None:
        raise NotReady("starting: database unreachable")

    return application


def test_a_body_over_the_limit_is_413_and_one_under_passes() -> None:
    client = TestClient(app(limit=100))
    assert client.post("/echo", json={"a": "x" * 200}).status_code == 413
    assert client.post("/echo", json={"a": "x"}).json() == {"a": "x"}


def test_a_streamed_body_without_length_is_counted() -> None:
    client = TestClient(app(limit=100))

    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        yield b"x" * 300
        yield b'"}'

    response = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
