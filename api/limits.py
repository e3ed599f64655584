"""Request limits at the edge: a body over the configured size gets 413 before it is read whole; a
URL carrying a NUL character (%00) gets 422 before any route sees it (PostgreSQL cannot compare
text with NUL in it); a query parameter that the operation does not declare gets 422."""

from __future__ import annotations

import json

from fastapi import Request
from starlette.requests import HTTPConnection
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send



class NulInUrlMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"")):
            await _reject(send, 422, "the URL contains a NUL character (%00)")
            return
        await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body_bytes
            except ValueError:
                await _reject(send, 400, "invalid Content-Length header")
                return
            if too_big:
                await _reject(send, 413, f"request body over the {self.max_body_bytes}-byte limit")
                return

        received = 0
        response_started = False
        rejected = False

        async def limited_receive() -> Message:
            # Over the limit: answer 413 here and tell the app the client went away, so whatever the
            # framework does with the broken body (FastAPI would say 400) never reaches the client.
            nonlocal received, rejected, response_started
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    rejected = True
                    if not response_started:
                        response_started = True
                        await _reject(send, 413, f"request body over the {self.max_body_bytes}-byte limit")
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if rejected:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not rejected:
                raise


async def _reject(send: Send, status: int, reason: str) -> None:
    body = json.dumps({"detail": reason}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def known_query_only(connection: HTTPConnection) -> None:
    """An operation of the API document answers 422 to a query parameter it does not declare, as a
    body answers to an unknown field (a misspelt filter must not silently list everything). The
    pages and the phone WebSocket (left out of the document) keep their own handling."""
    route = connection.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema or not isinstance(connection, Request):
        return
    request = connection
    names = _declared_query(request, route)
    unknown = sorted({name for name in request.query_params if name not in names})
    if unknown:
        raise RequestValidationError([{"loc": ("query", name), "msg": "unknown query parameter", "type": "extra_forbidden"}
                                      for name in unknown[:20]])


def _declared_query(request: Request, route: APIRoute) -> frozenset[str]:
    """The query parameters the document names for this operation."""
    operation = request.app.openapi().get("paths", {}).get(route.path_format, {}).get(request.method.lower(), {})
    return frozenset(p["name"] for p in operation.get("parameters", []) if p.get("in") == "query")
