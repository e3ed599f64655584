"""GET /metrics: Prometheus exposition. Counts only (see records/metrics.py): no patient data, so
no sign-in; keep the port off the public internet as for /health."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from records.metrics import build_registry
from records.review import local_zone

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    state = request.app.state
    registry = getattr(state, "metrics_registry", None)
    if registry is None:
        registry = state.metrics_registry = build_registry(
            state.session_factory, tz=local_zone(state.settings.service.timezone))
    body = await asyncio.to_thread(generate_latest, registry)  # the collector reads the database
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
