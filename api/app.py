"""The FastAPI application, built in a lifespan from config.yaml."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from api import errors
from api.limits import BodySizeLimitMiddleware, NulInUrlMiddleware, known_query_only
from api import phone
from api.routers import auth, calls, chats, discharges, fhir, metrics, outcomes, patients, review, web
from suifang.config import Settings, check_secrets, load_settings
from suifang.services import Services
from suifang.logs import configure_logging

log = logging.getLogger(__name__)


class HealthOut(BaseModel):
    status: str
    database: str


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """The service. `services` lets a caller that already holds loaded models (the voice evaluator)
    share them; it then stays the caller's to close."""
    settings = settings or load_settings()
    # A short signing key is refused here too, for settings built without load_settings.
    check_secrets(secret_key=settings.secret_key, metrics_token=settings.metrics_token)
    shared_services = services

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service.log_level)
        services = shared_services or Services.build(settings)
        app.state.settings = settings
        app.state.services = services
        app.state.session_factory = services.session_factory
        log.info("suifang started (database %s, llm %s)", services.engine.url.get_backend_name(),
                 settings.models.llm.backend)
        if settings.service.warm_models and shared_services is None:
            threading.Thread(target=services.warm, name="suifang-warm", daemon=True).start()
        try:
            yield
        finally:
            if shared_services is None:
                services.close()

    app = FastAPI(title="Suifang 随访", version="0.1.0", lifespan=lifespan,
                  description="AI voice follow-up and pre-consultation for hospitals",
                  dependencies=[Depends(known_query_only)])
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.service.max_body_bytes)
    app.add_middleware(NulInUrlMiddleware)
    errors.install(app)
    for router in (auth.router, patients.router, discharges.router, calls.router, outcomes.router, phone.router,
                   review.router, web.router, chats.router, fhir.router, metrics.router):
        app.include_router(router)

    # The document states today's window for a repeat call's date (records.review.repeat_window), so
    # it is built again when the day changes.
    build_openapi = app.openapi
    built_on: list[dt.date] = []

    def openapi() -> dict[str, Any]:
        today = dt.date.today()
        if built_on != [today]:
            app.openapi_schema = None
            built_on[:] = [today]
        return build_openapi()

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/health", tags=["health"], response_model=HealthOut, responses=errors.responses(422))
    def health() -> HealthOut:
        with app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
        return HealthOut(status="ok", database="ok")

    return app
