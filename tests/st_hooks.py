"""Schemathesis hooks for a fuzz run against a served Suifang (see README, "Fuzzing the API"):

    SCHEMATHESIS_HOOKS=tests.st_hooks st run http://127.0.0.1:8000/openapi.json ...

Staff tokens come from signing in (SUIFANG_ST_USER / SUIFANG_ST_PASSWORD, the demo admin by default).
The operations that end a token (POST /auth/logout, POST /auth/password) get a throwaway token of
their own each time, so the run does not log itself out. GET /metrics gets the scrape token
(SUIFANG_METRICS_TOKEN) when it is set. A generated X-Chat-Token that cannot be a link token is
dropped, so the chat operations are reached as staff too (a link token from POST /chats, passed by
the stateful links, is kept)."""

from __future__ import annotations

import os

import httpx
import schemathesis

from tests.fuzzing import ENDS_TOKEN, without_fake_link_token

BASE_URL = os.environ.get("SUIFANG_ST_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
USER = os.environ.get("SUIFANG_ST_USER", "admin")
PASSWORD = os.environ.get("SUIFANG_ST_PASSWORD", "admin-demo-2026")


def sign_in() -> str:
    response = httpx.post(f"{BASE_URL}/auth/login", json={"username": USER, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


@schemathesis.auth(refresh_interval=None)
class StaffToken:
    token: str | None = None

    def get(self, case, context):  # noqa: ANN001, ANN201
        path = context.operation.path
        if path == "/metrics":
            return os.environ.get("SUIFANG_METRICS_TOKEN") or ""
        if path in ENDS_TOKEN:
            return sign_in()
        if StaffToken.token is None:
            StaffToken.token = sign_in()
        return StaffToken.token

    def set(self, case, data, context):  # noqa: ANN001, ANN201
        case.headers = {**without_fake_link_token(case.headers), "Authorization": f"Bearer {data}"}
