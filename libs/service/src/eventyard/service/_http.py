"""The HTTP edge every service shares: health and readiness, 503 while not ready, 413 for
bodies over the limit, and uvicorn with a graceful drain on SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventyard.service._errors import NotReady
from eventyard.service._runtime import Runtime
from eventyard.service._settings import ServiceSettings
from eventyard.telemetry import instrument_fastapi

__all__ = [
    "BodyLimit",
    "health_router",
    "install",
    "serve",
    "service_app",
    "session_dependency",
]


def health_router(runtime: Runtime) -> APIRouter:
    """``GET /healthz`` (the process answers) and ``GET /readyz`` (it can take requests)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        ok, checks = runtime.readiness()
        body = {"status": "ready" if ok else "not ready", "service": runtime.name, "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    return router


def session_dependency(runtime: Runtime) -> Callable[[], Iterator[Session]]:
    """A FastAPI dependency giving a session (503 while the service is not ready)."""

    def session() -> Iterator[Session]:
        with runtime.sessions() as s:
            yield s

    return session


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._reject(send)
                return
        # Bodies are small (the limit is KiBs): read it whole, then hand it on in one message.
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(message), send)
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._reject(send)
                return
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": bytes(body), "more_body": False}
        await self.app(scope, _replay(whole, then=receive), send)

    async def _reject(self, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"request body over {self.limit} bytes"}, status_code=413
        )
        await response({"type": "http"}, _nothing, send)


def _replay(first: Message, then: Receive | None = None) -> Receive:
    """A ``receive`` that gives ``first``, then defers to ``then`` (a disconnect, later)."""
    given = False

    async def receive() -> Message:
        nonlocal given
        if not given:
            given = True
            return first
        return await (then or _nothing)()

    return receive


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def install(
    app: FastAPI, runtime: Runtime, *, unavailable: tuple[type[Exception], ...] = ()
) -> None:
    """Health routes, the body limit and the 503 answer for :class:`NotReady` (and for the
    service's own ``unavailable`` errors)."""
    app.include_router(health_router(runtime))
    app.add_middleware(BodyLimit, limit=runtime.settings.max_body_bytes)

    async def not_ready(request: Request, error: Exception) -> Response:
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "1"})

    handler: Callable[[Request, Exception], Awaitable[Response]] = not_ready
    kinds: tuple[type[Exception], ...] = (NotReady, *unavailable)
    for error_type in kinds:
        app.add_exception_handler(error_type, handler)


def service_app(
    runtime: Runtime, *, title: str, router: APIRouter, version: str = "0.1.0"
) -> FastAPI:
    """The service's ASGI application: its lifespan boots ``runtime`` (database, migrations,
    Kafka, workers) in the background and stops it at shutdown; :func:`install`'s health routes
    and answers, the service's ``router``, requests traced. ``app.state.runtime`` is ``runtime``.
    """
    app = FastAPI(title=title, version=version, lifespan=runtime.lifespan)
    app.state.runtime = runtime
    install(app, runtime)
    app.include_router(router)
    instrument_fastapi(app)
    return app


def serve(app: FastAPI | str, settings: ServiceSettings) -> None:
    """Serve with uvicorn until SIGTERM/SIGINT: stop accepting, finish requests, run shutdown,
    then exit 0 (uvicorn hands the signal back once it is done; a drained stop is no crash)."""
    if threading.current_thread() is threading.main_thread():  # signals reach the main thread
        signal.signal(signal.SIGTERM, _drained)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_s)),
        lifespan="on",
    )
    uvicorn.Server(config).run()


def _drained(signum: int, frame: object) -> None:
    raise SystemExit(0)
