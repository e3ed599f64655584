"""The nurse review pages in a real headless Chromium against a real uvicorn server: sign in, the
red-flagged demo call first, playback (audited), a correction, resolving; another ward sees nothing.

Screenshots of the queue and the call detail go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from records.schema import AuditEvent, Outcome, OutcomeCorrection, Patient, ReviewItem
from tests.conftest import make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # The softphone test's microphone: Chromium's built-in fake capture device (a beep).
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 "--autoplay-policy=no-user-gesture-required"]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"),
]


@dataclass(frozen=True)
class Server:
    base_url: str
    database_url: str

    def session(self):  # noqa: ANN201
        engine = create_engine(self.database_url)
        return sessionmaker(bind=engine, expire_on_commit=False)()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn in its own process on a free port: SQLite in a temp dir, demo loaded, models off."""
    from records.db import make_engine, make_session_factory, upgrade
    from suifang.demo import load_demo

    data_dir = tmp_path_factory.mktemp("ui-data")
    database_url = f"sqlite:///{data_dir / 'suifang.db'}"
    upgrade(database_url)
    env_overrides = {
        "SUIFANG__DATABASE__URL": database_url,
        "SUIFANG__SERVICE__DATA_DIR": str(data_dir),
        "SUIFANG__KNOWLEDGE__CHROMA_DIR": str(data_dir / "chroma"),
        "SUIFANG__MODELS__LLM__BACKEND": "off",
        "SUIFANG__MODELS__EMBEDDINGS__BACKEND": "hashing",
        "SUIFANG_SECRET_KEY": "test-secret-key-not-for-production-0123456789",
    }
    settings = make_settings(database_url, data_dir, SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing")
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        load_demo(session, settings=settings)
    engine.dispose()

    port = _free_port()
    env = {**os.environ, **env_overrides, "PYTHONPATH": str(ROOT)}
    log_path = data_dir / "uvicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield Server(base_url=base_url, database_url=database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _sign_in(page, base_url: str, username: str, password: str) -> None:  # noqa: ANN001
    page.goto(f"{base_url}/ui/queue")
    assert "/ui/login" in page.url  # no session yet
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(f"{base_url}/ui/queue")


def test_nurse_reviews_the_red_flagged_call_in_chromium(server: Server, browser) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    _sign_in(page, server.base_url, "nurse_card", "card-demo-2026")

    # The queue: the red-flagged call of 王建国 first, phone masked.
    first = page.locator("#queue tbody tr").first
    assert first.get_attribute("data-level") == "red"
    assert first.locator(".patient-name").inner_text() == "王建国"
    assert first.locator(".phone").inner_text() == "138****0001"
    assert "13800000001" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)

    call_id = int(first.get_attribute("data-call"))
    item_id = int(first.get_attribute("data-item"))
    first.locator("a.open").click()
    page.wait_for_url(f"{server.base_url}/ui/calls/{call_id}")
    assert "王建国" in page.inner_text("h1")
    assert "chest_pain" in page.inner_text("#flags")

    # Play the first recorded patient turn: the element loads the WAV, and the playback is audited.
    audio = page.locator("#transcript audio").first
    turn_id = int(audio.get_attribute("data-turn"))
    audio.scroll_into_view_if_needed()
    audio.click()  # a user gesture, so play() is allowed
    page.evaluate("a => a.play().catch(() => null)", audio.element_handle())
    page.wait_for_function("a => a.readyState >= 1 || a.error !== null", arg=audio.element_handle(), timeout=15_000)
    state = page.evaluate("a => ({ready: a.readyState, error: a.error && a.error.code, duration: a.duration})",
                          audio.element_handle())
    assert state["error"] is None and state["ready"] >= 1 and state["duration"] > 0, state
    page.screenshot(path=str(ARTIFACTS / "review-call-detail.png"), full_page=True)
    with server.session() as session:
        plays = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "play",
                                                              AuditEvent.resource_id == str(turn_id))))
        assert plays and plays[-1].username == "nurse_card" and plays[-1].outcome == "allowed"

    # Correct a field.
    page.select_option("#correct-field", "pain_score")
    page.fill("#correct-value", "2")
    page.fill("#correct-reason", "patient clarified on call-back")
    page.click("#correct-submit")
    page.wait_for_selector("#done-notice")
    assert page.locator('tr[data-field="pain_score"] .value').inner_text() == "2"
    with server.session() as session:
        assert session.scalar(select(Outcome.pain_score).where(Outcome.call_id == call_id)) == 2
        correction = session.scalar(select(OutcomeCorrection).where(OutcomeCorrection.call_id == call_id))
        assert correction.username == "nurse_card" and correction.field == "pain_score"

    # Resolve the item.
    page.fill("#resolve-note", "patient went to the emergency department; cardiology informed")
    page.click("#resolve-submit")
    page.wait_for_selector("#done-notice")
    assert page.get_attribute("#item-status", "data-status") == "resolved"
    with server.session() as session:
        item = session.get(ReviewItem, item_id)
        assert item.status == "resolved" and item.history[-1]["action"] == "resolve"

    # The English interface (same pages), for readable screenshots on machines without CJK fonts.
    with page.expect_navigation():
        page.click("#lang-switch")
    assert f"/ui/calls/{call_id}" in page.url
    assert "Transcript" in page.inner_text("#transcript h2")
    page.screenshot(path=str(ARTIFACTS / "review-call-detail-en.png"), full_page=True)
    page.goto(f"{server.base_url}/ui/queue")
    assert "Review queue" in page.inner_text("h1")
    page.screenshot(path=str(ARTIFACTS / "review-queue-en.png"), full_page=True)
    page.goto(f"{server.base_url}/ui/dashboard")
    assert page.locator("svg.chart").count() >= 4
    page.screenshot(path=str(ARTIFACTS / "review-dashboard-en.png"), full_page=True)
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors
    context.close()

    # A nurse of another ward: not in her list, and 404 by URL.
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    page = other.new_page()
    _sign_in(page, server.base_url, "nurse_surg", "surg-demo-2026")
    assert "王建国" not in page.content() and "李秀英" in page.content()
    response = page.goto(f"{server.base_url}/ui/calls/{call_id}")
    assert response.status == 404 and "王建国" not in page.content()
    with server.session() as session:
        patient_id = session.scalar(select(Patient.id).where(Patient.mrn == "DEMO0001"))
        denied = session.scalar(select(AuditEvent).where(AuditEvent.username == "nurse_surg",
                                                         AuditEvent.outcome == "denied",
                                                         AuditEvent.patient_id == patient_id))
        assert denied is not None
    other.close()
    assert (ARTIFACTS / "review-queue.png").stat().st_size > 0
    assert (ARTIFACTS / "review-call-detail.png").stat().st_size > 0


def _wait_for_count(page, selector: str, minimum: int, *, timeout_s: float) -> None:  # noqa: ANN001
    # Polled from Python: the page's CSP (script-src 'self') forbids Playwright's eval-based waits.
    deadline = time.monotonic() + timeout_s
    while int(page.inner_text(selector) or 0) <= minimum:
        assert time.monotonic() < deadline, f"{selector} stayed at {page.inner_text(selector)}"
        time.sleep(0.2)


def test_softphone_takes_a_call_over_the_media_stream(server: Server, browser) -> None:  # noqa: ANN001
    """The softphone page gets a call token, opens /phone/stream, plays the greeting and streams the
    (fake) microphone; the call is recorded under the patient, and its opening says it is an AI."""
    from records.schema import CallSession, Turn

    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 700}, locale="en-US", permissions=["microphone"])
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    _sign_in(page, server.base_url, "nurse_card", "card-demo-2026")
    page.click("#nav-softphone")
    page.wait_for_url(f"{server.base_url}/ui/softphone")
    options = page.locator("#softphone-patient option")
    assert options.count() >= 1
    assert "13800000001" not in page.content()           # phones masked here too
    patient_id = int(options.first.get_attribute("value"))
    page.select_option("#softphone-patient", str(patient_id))
    page.click("#softphone-call")
    page.wait_for_selector("#softphone-status[data-state='in_call']", timeout=60_000)
    # The greeting arrives as 20 ms frames (several seconds of speech), the microphone streams out.
    _wait_for_count(page, "#frames-heard", 100, timeout_s=90)
    _wait_for_count(page, "#frames-sent", 50, timeout_s=30)
    page.screenshot(path=str(ARTIFACTS / "softphone.png"), full_page=True)
    page.click("#softphone-hangup")
    page.wait_for_selector("#softphone-status[data-state='ended']")
    assert not [u for u in missing if not u.endswith("/favicon.ico")], missing
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors

    deadline = time.monotonic() + 20
    with server.session() as session:
        while True:
            call = session.scalars(select(CallSession).where(CallSession.patient_id == patient_id,
                                                             CallSession.channel == "phone")
                                   .order_by(CallSession.id.desc())).first()
            if call is not None and call.status == "ended" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
            session.expire_all()
        assert call is not None and call.status == "ended"
        opening = session.scalars(select(Turn).where(Turn.call_id == call.id).order_by(Turn.seq)).first()
        assert "AI" in opening.text
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "call_token",
                                                           AuditEvent.patient_id == patient_id)).all()
        assert audited
        other_ward = session.scalars(select(Patient).where(Patient.ward_id != session.get(Patient, patient_id).ward_id)).first()
        issued = len(audited)

    # Bad posts: no CSRF token, another ward's patient, a bad language -> refused, no token issued.
    post = """async ([patient, language, withCsrf]) => {
        const form = new FormData(); form.append('patient_id', String(patient)); form.append('language', language);
        if (withCsrf) form.append('csrf', document.querySelector('input[name=csrf]').value);
        const response = await fetch('/ui/softphone/token', {method: 'POST', body: form});
        return [response.status, await response.text()]; }"""
    assert page.evaluate(post, [patient_id, "", False])[0] == 403
    assert page.evaluate(post, [other_ward.id, "", True])[0] == 404
    assert page.evaluate(post, [patient_id, "fr", True])[0] == 422
    status, body = page.evaluate(post, [patient_id, "en", True])
    assert status == 200 and "call_token" in body
    with server.session() as session:
        assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "call_token",
                                                             AuditEvent.patient_id == patient_id)).all()) == issued + 1
    context.close()
