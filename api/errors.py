"""What every error looks like, and the OpenAPI entries that say so.

Errors are `{"detail": "<reason>"}`; request validation (422) is `{"detail": [{"loc", "msg", "type"}]}`
or, for a check made past the schema, `{"detail": "<reason>"}`. Validation errors never echo the
input back (it may be a password or a patient's words)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorOut(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[FieldError] | str


_DESCRIPTIONS = {
    400: "Malformed request: a body that cannot be decoded, or an invalid Content-Length",
    401: "Not signed in, or the token has expired or was revoked (logout, password change)",
    403: "Signed in, but this role or ward may not do this",
    404: "No such record, or not one of your wards",
    409: "Conflicts with the current state (the reason says which)",
    413: "Request body over service.max_body_bytes",
    422: "Invalid input; the reason names the field",
    423: "Account locked after repeated failed sign-ins",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for these error codes."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        model = ValidationErrorOut if code == 422 else ErrorOut
        out[code] = {"model": model, "description": _DESCRIPTIONS[code]}
    return out


# The usual sets: any signed-in operation can answer 401 and 422; one with a body also 400 (not
# decodable, bad Content-Length) and 413.
SIGNED_IN = (401, 422)
WITH_BODY = (400, 401, 413, 422)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # GET /calls/phone-token reaches GET /calls/{call_id} and fails there: the path exists, the
    # method does not.
    documented = request.app.openapi().get("paths", {}).get(request.url.path)
    if documented is not None and request.method.lower() not in documented:
        methods = {m.upper() for m in documented if m in _HTTP_METHODS}
        return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(sorted(methods))})
    errors = []
    for error in exc.errors():
        loc = [part if isinstance(part, (str, int)) else str(part) for part in error.get("loc", ())]
        errors.append({"loc": loc, "msg": str(error.get("msg", "invalid")), "type": str(error.get("type", "value_error"))})
    return JSONResponse(status_code=422, content=jsonable_encoder({"detail": errors}))


async def http_error(request: Request, exc: Exception) -> Response:
    """405 names every method of the path in `Allow` (the router names only the first route's)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        methods = allowed_methods(request)
        if methods:
            return JSONResponse({"detail": "Method Not Allowed"}, status_code=405,
                                headers={"Allow": ", ".join(sorted(methods))})
    return await http_exception_handler(request, exc)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def allowed_methods(request: Request) -> set[str]:
    """The documented methods of the path: a path spelled exactly like the request (no parameters)
    wins over a parameterised one that matches too (/calls/phone-token vs /calls/{call_id}). Empty for
    paths left out of the OpenAPI document (the router's own Allow header is kept for those)."""
    paths: dict[str, Any] = request.app.openapi().get("paths", {})
    path = request.url.path
    if path in paths:
        return {m.upper() for m in paths[path] if m in _HTTP_METHODS}
    methods: set[str] = set()
    for template, operations in paths.items():
        if "{" not in template:
            continue
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in operations if m in _HTTP_METHODS}
    return methods


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation at path/method, its parameters from runtime expressions."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


def with_links(status_code: int, description: str, **links: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {status_code: {"description": description, "links": links}}
