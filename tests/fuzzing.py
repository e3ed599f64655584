"""What the schemathesis runs (tests/test_hardening.py, tests/st_hooks.py) share."""

from __future__ import annotations

import re

# Operations that end the token they are sent with: each fuzzed call gets a throwaway token.
ENDS_TOKEN = frozenset({"/auth/logout", "/auth/password"})
LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32), records/preconsult.py


def without_fake_link_token(headers: dict | None) -> dict:
    """Drop a generated X-Chat-Token that cannot be a link token, so the chat operations are reached
    as staff too; a real one (passed along by a stateful link from POST /chats) is kept."""
    headers = dict(headers or {})
    for name in [k for k in headers if k.lower() == "x-chat-token"]:
        if not LINK_TOKEN.fullmatch(str(headers[name])):
            del headers[name]
    return headers
