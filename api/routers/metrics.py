"""GET /metrics: Prometheus exposition. Counts only (see records/metrics.py), no patient data, yet
workload figures are nobody else's business: a scrape sends `Authorization: Bearer <token>` with the
token from SUIFANG_METRICS_TOKEN (Prometheus: `authorization: {credentials: …}`), or gets 401.

`metrics.allow_loopback_without_token: true` also answers tokenless scrapes, but only while the
service is bound to a loopback address and the scrape comes from loopback."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.errors import responses
from records.metrics import build_registry
from records.review import local_zone
from suifang.config import Settings

router = APIRouter(tags=["metrics"])


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def scrape_allowed(request: Request, settings: Settings) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if settings.metrics_token and scheme.lower() == "bearer" and credentials:
        return hmac.compare_digest(credentials.strip().encode(), settings.metrics_token.encode())
    if settings.metrics.allow_loopback_without_token and not header:
        client = request.client.host if request.client else None
        return _is_loopback(settings.service.host) and _is_loopback(client)
    return False


@router.get("/metrics", response_class=Response, responses={
    200: {"description": "Prometheus text exposition", "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}},
    **responses(401, 422)})
async def metrics(request: Request) -> Response:
    state = request.app.state
    if not scrape_allowed(request, state.settings):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "metrics need the scrape token: Authorization: Bearer $SUIFANG_METRICS_TOKEN",
                            headers={"WWW-Authenticate": "Bearer"})
    registry = getattr(state, "metrics_registry", None)
    if registry is None:
        registry = state.metrics_registry = build_registry(
            state.session_factory, tz=local_zone(state.settings.service.timezone))
    body = await asyncio.to_thread(generate_latest, registry)  # the collector reads the database
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
