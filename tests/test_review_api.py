"""Nurse review pages and API over TestClient, on SQLite and PostgreSQL: audit of every view and
action, masking, CSRF, ward scoping, stale sessions, and validation of corrected outcome values."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.security import hash_password, issue_token
from api.web.session import SESSION_COOKIE, WebSession, encode_session, new_session
from records.schema import (
    AuditEvent,
    Outcome,
    OutcomeCorrection,
    Patient,
    ReviewItem,
    ScheduledCall,
    Turn,
    User,
    Ward,
)
from records.sessions import record_token
from tests.conftest import login

WANG_PHONE = "13800000001"
WANG_ID = "11010519620315001X"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


# ----- helpers -----------------------------------------------------------------------------------

def _db(client: TestClient):  # noqa: ANN202
    return client.app.state.session_factory()


def _browser(client: TestClient) -> TestClient:
    """A separate cookie jar on the same running app (one per signed-in user)."""
    return TestClient(client.app, base_url="http://testserver")


def web_login(client: TestClient, username: str, password: str) -> tuple[TestClient, str]:
    browser = _browser(client)
    page = browser.get("/ui/login")
    token = CSRF.search(page.text).group(1)
    response = browser.post("/ui/login", data={"username": username, "password": password, "csrf": token,
                                               "next": "/ui/queue"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    queue = browser.get("/ui/queue")
    assert queue.status_code == 200
    return browser, CSRF.search(queue.text).group(1)


def audit_rows(client: TestClient, **filters) -> list[AuditEvent]:  # noqa: ANN003
    with _db(client) as session:
        query = select(AuditEvent)
        for key, value in filters.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(session.scalars(query.order_by(AuditEvent.id)))


def _patient_id(client: TestClient, mrn: str) -> int:
    with _db(client) as session:
        return session.scalar(select(Patient.id).where(Patient.mrn == mrn))


def _item_of(client: TestClient, mrn: str) -> ReviewItem:
    with _db(client) as session:
        return session.scalar(select(ReviewItem).where(ReviewItem.patient_id == _patient_id(client, mrn))
                              .order_by(ReviewItem.id))


def _item(client: TestClient, item_id: int) -> ReviewItem:
    with _db(client) as session:
        return session.get(ReviewItem, item_id)


def _outcome(client: TestClient, call_id: int) -> Outcome:
    with _db(client) as session:
        return session.scalar(select(Outcome).where(Outcome.call_id == call_id))


def _count(client: TestClient, model) -> int:  # noqa: ANN001
    with _db(client) as session:
        return session.scalar(select(func.count()).select_from(model))


def _snapshot(client: TestClient, item_id: int) -> tuple:
    item = _item(client, item_id)
    outcome = _outcome(client, item.call_id)
    return (item.status, len(item.history or []), item.note, outcome.pain_score, outcome.blood_pressure,
            _count(client, OutcomeCorrection), _count(client, ScheduledCall))


@pytest.fixture(scope="module")
def demo(client: TestClient) -> dict[str, int]:
    """Ids of the demo review items, and an ID number on 王建国 to check masking with."""
    with _db(client) as session:
        session.get(Patient, _patient_id(client, "DEMO0001")).id_number = WANG_ID
        session.commit()
    red, yellow, surg = _item_of(client, "DEMO0001"), _item_of(client, "DEMO0004"), _item_of(client, "DEMO0003")
    assert red.level == "red" and yellow.level == "yellow" and surg.level == "yellow"
    return {"red_item": red.id, "red_call": red.call_id, "yellow_item": yellow.id, "yellow_call": yellow.call_id,
            "surg_item": surg.id, "surg_call": surg.call_id}


@pytest.fixture(scope="module")
def card(client: TestClient) -> Iterator[tuple[TestClient, str]]:
    browser, csrf = web_login(client, "nurse_card", "card-demo-2026")
    yield browser, csrf
    browser.close()


@pytest.fixture(scope="module")
def surg(client: TestClient) -> Iterator[tuple[TestClient, str]]:
    browser, csrf = web_login(client, "nurse_surg", "surg-demo-2026")
    yield browser, csrf
    browser.close()


@pytest.fixture(scope="module")
def doctor(client: TestClient) -> Iterator[tuple[TestClient, str]]:
    """A CARD-1 doctor: may read the ward's calls, but 'doctor' is not in auth.unmask_roles."""
    with _db(client) as session:
        ward = session.scalar(select(Ward).where(Ward.code == "CARD-1"))
        session.add(User(username="doctor_card", display_name="Dr Card", role="doctor",
                         password_hash=hash_password("doctor-pass-2026"), wards=[ward]))
        session.commit()
    browser, csrf = web_login(client, "doctor_card", "doctor-pass-2026")
    yield browser, csrf
    browser.close()


# ----- sign-in and session -----------------------------------------------------------------------

def test_pages_need_a_session_and_the_cookie_is_httponly_strict(client: TestClient) -> None:
    browser = _browser(client)
    response = browser.get("/ui/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")
    page = browser.get("/ui/login")
    assert page.status_code == 200 and "登录" in page.text  # zh by default
    token = CSRF.search(page.text).group(1)
    # The sign-in form is CSRF-protected too.
    forged = browser.post("/ui/login", data={"username": "nurse_card", "password": "card-demo-2026", "csrf": "x"},
                          follow_redirects=False)
    assert forged.status_code == 403 and SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    token = CSRF.search(forged.text).group(1)  # each sign-in page comes with a fresh token
    wrong = browser.post("/ui/login", data={"username": "nurse_card", "password": "nope", "csrf": token},
                         follow_redirects=False)
    assert wrong.status_code == 401 and SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    token = CSRF.search(wrong.text).group(1)
    ok = browser.post("/ui/login", data={"username": "nurse_card", "password": "card-demo-2026", "csrf": token,
                                         "next": "https://evil.example/"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/ui/queue"
    cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Max-Age=900" in cookie  # 15 minutes idle
    queue = browser.get("/ui/queue")
    assert queue.headers["cache-control"] == "no-store" and "script-src 'self'" in queue.headers["content-security-policy"]
    # Logout needs the CSRF token and ends the session.
    csrf = CSRF.search(queue.text).group(1)
    assert browser.post("/ui/logout", data={}, follow_redirects=False).status_code == 403
    out = browser.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and audit_rows(client, username="nurse_card", action="logout")
    assert browser.get("/ui/queue", follow_redirects=False).status_code == 303


def test_language_switch(card: tuple[TestClient, str]) -> None:
    browser, _csrf = card
    assert "审核队列" in browser.get("/ui/queue").text
    switched = browser.get("/ui/lang/en?next=/ui/queue", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/ui/queue"
    assert "Review queue" in browser.get("/ui/queue").text
    browser.get("/ui/lang/zh?next=//evil.example")
    assert "审核队列" in browser.get("/ui/queue").text


def test_session_slides_and_goes_stale_after_15_idle_minutes(client: TestClient, settings, demo) -> None:  # noqa: ANN001
    with _db(client) as session:
        user_id = session.scalar(select(User.id).where(User.username == "nurse_card"))
    now = dt.datetime.now(dt.timezone.utc)
    fresh = new_session(user_id=user_id, now=now - dt.timedelta(minutes=30))
    with _db(client) as session:  # a session is only honoured while its server-side record lives
        record_token(session, jti=fresh.sid, user_id=user_id, kind="web", expires_at=fresh.expires_at)
        session.commit()
    ten_idle = WebSession(user_id=user_id, csrf=fresh.csrf, issued_at=fresh.issued_at,
                          last_active=int((now - dt.timedelta(minutes=10)).timestamp()), sid=fresh.sid)
    stale = WebSession(user_id=user_id, csrf=fresh.csrf, issued_at=fresh.issued_at,
                       last_active=int((now - dt.timedelta(minutes=16)).timestamp()), sid=fresh.sid)

    def cookie(web: WebSession, secret: str = settings.secret_key) -> str:
        return encode_session(web, secret=secret, idle_minutes=settings.auth.idle_timeout_minutes)

    browser = _browser(client)
    browser.cookies.set(SESSION_COOKIE, cookie(ten_idle), path="/ui")
    response = browser.get("/ui/queue")
    assert response.status_code == 200
    refreshed = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    assert cookie(ten_idle) not in refreshed  # re-signed with a new last-activity time

    before = _snapshot(client, demo["red_item"])
    for bad in (cookie(stale), cookie(ten_idle, secret="another-secret"),
                issue_token(user_id=user_id, role="nurse", secret=settings.secret_key, ttl_minutes=60)[0]):
        jar = _browser(client)
        jar.cookies.set(SESSION_COOKIE, bad, path="/ui")
        page = jar.get(f"/ui/calls/{demo['red_call']}", follow_redirects=False)
        assert page.status_code == 303 and "/ui/login" in page.headers["location"]
        assert "王建国" not in page.text
        post = jar.post(f"/ui/items/{demo['red_item']}/resolve", data={"csrf": fresh.csrf, "note": "x"},
                        follow_redirects=False)
        assert post.status_code == 403
    assert _snapshot(client, demo["red_item"]) == before
    assert audit_rows(client, resource="web_session", outcome="denied")


# ----- queue -------------------------------------------------------------------------------------

def test_queue_is_scoped_ordered_masked_and_audited(client: TestClient, card, surg, demo) -> None:  # noqa: ANN001
    browser, _ = card
    before = len(audit_rows(client, username="nurse_card", action="list", resource="review_item"))
    page = browser.get("/ui/queue")
    assert page.status_code == 200
    levels = re.findall(r'data-level="(red|yellow|task)"', page.text)
    assert levels and levels[0] == "red" and levels == sorted(levels, key=["red", "yellow", "task"].index)
    assert "王建国" in page.text and "138****0001" in page.text and WANG_PHONE not in page.text
    assert "李秀英" not in page.text  # SURG-2
    rows = audit_rows(client, username="nurse_card", action="list", resource="review_item")
    assert len(rows) - before == len(levels) and all(r.client_ip for r in rows)
    # Filters and counts.
    yellow = browser.get("/ui/queue?level=yellow")
    assert set(re.findall(r'data-level="(\w+)"', yellow.text)) == {"yellow"}
    assert re.search(r'data-status="open">[^<]*<b>\d+</b>', page.text)
    assert browser.get("/ui/queue?status=bogus").status_code == 422
    assert browser.get("/ui/queue?from=2020-01-01&to=2020-01-02").text.count("data-item=") == 0
    # The other ward's nurse never sees CARD-1 items.
    other = surg[0].get("/ui/queue")
    assert "李秀英" in other.text and "王建国" not in other.text and "138****0001" not in other.text
    assert "王建国" not in surg[0].get("/ui/queue?ward=CARD-1").text


def test_csv_export_is_masked_scoped_and_audited(client: TestClient, card) -> None:  # noqa: ANN001
    browser, _ = card
    response = browser.get("/ui/queue.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert "王建国" in response.text and "138****0001" in response.text and WANG_PHONE not in response.text
    assert "李秀英" not in response.text
    assert audit_rows(client, username="nurse_card", action="export", resource="review_queue")
    assert audit_rows(client, username="nurse_card", action="export", resource="review_item")


# ----- detail, masking, playback -----------------------------------------------------------------

def test_call_detail_shows_the_record_and_is_audited(client: TestClient, card, demo) -> None:  # noqa: ANN001
    browser, _ = card
    page = browser.get(f"/ui/calls/{demo['red_call']}")
    assert page.status_code == 200
    text = page.text
    assert "王建国" in text and "138****0001" in text and WANG_PHONE not in text and WANG_ID not in text
    assert "1101**********001X" in text
    assert "chest_pain" in text and "胸口疼了半个多小时" in text  # flag rule code and evidence
    assert "<audio" in text and f"/ui/turns/" in text and "识别置信度" in text
    assert "阿司匹林" in text or "order_text" not in text  # the discharge orders
    assert "替格瑞洛要吃多久" in text  # the patient's question
    rows = audit_rows(client, username="nurse_card", action="read", resource="call",
                      resource_id=str(demo["red_call"]))
    assert rows and rows[-1].patient_id == _patient_id(client, "DEMO0001") and rows[-1].outcome == "allowed"


def test_other_ward_gets_404_by_url_and_the_denial_is_audited(client: TestClient, surg, demo) -> None:  # noqa: ANN001
    browser, csrf = surg
    page = browser.get(f"/ui/calls/{demo['red_call']}")
    assert page.status_code == 404 and "王建国" not in page.text and "138****0001" not in page.text
    denied = audit_rows(client, username="nurse_surg", outcome="denied", resource="call")
    assert denied and denied[-1].patient_id == _patient_id(client, "DEMO0001")
    with _db(client) as session:
        turn_id = session.scalar(select(Turn.id).where(Turn.call_id == demo["red_call"], Turn.audio_ref.is_not(None)))
    assert browser.get(f"/ui/turns/{turn_id}/audio").status_code == 404
    assert audit_rows(client, username="nurse_surg", outcome="denied", resource="turn_audio")
    assert browser.get("/ui/calls/999999").status_code == 404


def test_playback_is_served_and_audited(client: TestClient, card, demo) -> None:  # noqa: ANN001
    browser, _ = card
    with _db(client) as session:
        turn_id = session.scalar(select(Turn.id).where(Turn.call_id == demo["red_call"], Turn.audio_ref.is_not(None))
                                 .order_by(Turn.seq))
    before = len(audit_rows(client, action="play", resource_id=str(turn_id)))
    audio = browser.get(f"/ui/turns/{turn_id}/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content[:4] == b"RIFF" and audio.content[8:12] == b"WAVE"
    rows = audit_rows(client, action="play", resource_id=str(turn_id))
    assert len(rows) == before + 1 and rows[-1].username == "nurse_card"
    assert rows[-1].patient_id == _patient_id(client, "DEMO0001")
    # A later byte range of the same playback is not a new playback.
    part = browser.get(f"/ui/turns/{turn_id}/audio", headers={"Range": "bytes=1000-"})
    assert part.status_code == 206
    assert len(audit_rows(client, action="play", resource_id=str(turn_id))) == before + 1


def test_the_call_recording_is_linked_served_to_its_ward_only_and_audited(client: TestClient, card, surg,  # noqa: ANN001
                                                                            demo) -> None:
    """A call's stereo recording (campaigns/recording.py, patient | assistant) is linked from the call page
    and served like the per-turn clips: to a nurse of the patient's ward, audited; 404 for another ward;
    nothing without a sign-in."""
    import wave

    from campaigns.recording import CallRecording

    call_id = demo["red_call"]
    recording = CallRecording()
    recording.said(b"\x10" * 8000)          # the opening, loud on the right
    recording.heard(b"\x90" * 4000)         # the patient, on the left
    root = client.app.state.settings.data_path("audio")
    path = recording.write(root, call_id)
    try:
        browser, _ = card
        page = browser.get(f"/ui/calls/{call_id}")
        url = f"/ui/calls/{call_id}/recording/1"
        assert page.status_code == 200 and f'src="{url}"' in page.text and "整通录音" in page.text
        before = len(audit_rows(client, action="play", resource="call_recording", resource_id=str(call_id)))
        served = browser.get(url)
        assert served.status_code == 200 and served.headers["content-type"] == "audio/wav"
        assert served.content == path.read_bytes()
        with wave.open(str(path), "rb") as wav:
            assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        rows = audit_rows(client, action="play", resource="call_recording", resource_id=str(call_id))
        assert len(rows) == before + 1 and rows[-1].username == "nurse_card" and rows[-1].outcome == "allowed"
        assert browser.get(f"/ui/calls/{call_id}/recording/2").status_code == 404   # no second line
        other, _ = surg
        assert other.get(url).status_code == 404
        assert audit_rows(client, username="nurse_surg", outcome="denied", resource="call_recording")
        anonymous = _browser(client).get(url, follow_redirects=False)
        assert anonymous.status_code in (303, 401) and anonymous.content != path.read_bytes()
    finally:
        path.unlink()
    assert card[0].get(f"/ui/calls/{call_id}/recording/1").status_code == 404
    assert "/recording/1" not in card[0].get(f"/ui/calls/{call_id}").text


def test_unmask_needs_a_role_with_rights_and_a_reason(client: TestClient, card, doctor, demo) -> None:  # noqa: ANN001
    url = f"/ui/calls/{demo['red_call']}"
    patient_id = _patient_id(client, "DEMO0001")
    # A doctor (not in unmask_roles): masked everywhere, no unmask form, and the post is refused.
    doc, doc_csrf = doctor
    for path in ("/ui/queue", url, "/ui/queue.csv"):
        body = doc.get(path).text
        assert WANG_PHONE not in body and WANG_ID not in body
    assert "unmask-form" not in doc.get(url).text
    refused = doc.post(f"{url}/unmask", data={"csrf": doc_csrf, "reason": "I want to see it"})
    assert refused.status_code == 403 and WANG_PHONE not in refused.text and WANG_ID not in refused.text
    assert audit_rows(client, username="doctor_card", action="unmask", outcome="denied")
    api = client.post(f"/review/patients/{patient_id}/unmask", json={"reason": "call back"},
                      headers=login(client, "doctor_card", "doctor-pass-2026"))
    assert api.status_code == 403 and WANG_PHONE not in api.text
    # A nurse: a reason is required; then the numbers are shown once, and audited with the reason.
    browser, csrf = card
    no_reason = browser.post(f"{url}/unmask", data={"csrf": csrf, "reason": "  "})
    assert no_reason.status_code == 422 and WANG_PHONE not in no_reason.text
    shown = browser.post(f"{url}/unmask", data={"csrf": csrf, "reason": "calling the patient back"})
    assert shown.status_code == 200 and WANG_PHONE in shown.text and WANG_ID in shown.text
    rows = audit_rows(client, username="nurse_card", action="unmask", outcome="allowed")
    assert rows[-1].detail == "calling the patient back" and rows[-1].patient_id == patient_id
    assert WANG_PHONE not in browser.get(url).text  # masked again on the next view


# ----- actions and corrections -------------------------------------------------------------------

def test_every_action_is_audited_and_kept_on_the_item(client: TestClient, card, demo) -> None:  # noqa: ANN001
    browser, csrf = card
    item_id, call_id = demo["yellow_item"], demo["yellow_call"]
    patient_id = _patient_id(client, "DEMO0004")
    scheduled_before = _count(client, ScheduledCall)
    repeat_on = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    steps = [
        ("confirm", {"note": "BP reviewed"}, "confirmed"),
        ("callback", {"reached": "yes", "result": "patient rechecked BP: 150/90"}, "callback"),
        ("escalate", {"doctor": "张主任", "note": "please adjust"}, "escalated"),
        ("repeat", {"date": repeat_on}, "escalated"),
    ]
    for action, fields, status in steps:
        response = browser.post(f"/ui/items/{item_id}/{action}", data={"csrf": csrf, **fields}, follow_redirects=False)
        assert response.status_code == 303, (action, response.text[:500])
        assert response.headers["location"] == f"/ui/calls/{call_id}?done={action}"
        rows = audit_rows(client, action=action, resource="review_item", resource_id=str(item_id))
        assert rows and rows[-1].outcome == "allowed" and rows[-1].username == "nurse_card"
        assert rows[-1].patient_id == patient_id and rows[-1].client_ip
        item = _item(client, item_id)
        assert item.status == status and item.history[-1]["action"] == action
        assert item.history[-1]["username"] == "nurse_card"
    assert _count(client, ScheduledCall) == scheduled_before + 1
    with _db(client) as session:
        added = session.scalar(select(ScheduledCall).order_by(ScheduledCall.id.desc()))
        assert added.patient_id == patient_id and added.due_date.isoformat() == repeat_on

    # Correct a field: the original kept, the nurse named, the item's history extended.
    original = _outcome(client, call_id).blood_pressure
    corrected = browser.post(f"/ui/calls/{call_id}/correct", data={
        "csrf": csrf, "field": "blood_pressure", "value": "150/90", "reason": "re-measured on call-back"},
        follow_redirects=False)
    assert corrected.status_code == 303
    assert _outcome(client, call_id).blood_pressure == {"systolic": 150, "diastolic": 90}
    with _db(client) as session:
        correction = session.scalar(select(OutcomeCorrection).where(OutcomeCorrection.call_id == call_id))
        assert correction.original == original and correction.username == "nurse_card"
        assert correction.corrected == {"systolic": 150, "diastolic": 90}
    assert audit_rows(client, action="correct", resource="outcome", resource_id=str(call_id))[-1].outcome == "allowed"
    assert _item(client, item_id).history[-1]["action"] == "correct"
    detail = browser.get(f"/ui/calls/{call_id}").text
    assert "150/90" in detail and "re-measured on call-back" in detail

    # Resolve needs a note; then the item is closed to further actions.
    assert browser.post(f"/ui/items/{item_id}/resolve", data={"csrf": csrf, "note": ""}).status_code == 422
    assert _item(client, item_id).status == "escalated"
    assert audit_rows(client, action="resolve", resource_id=str(item_id))[-1].outcome == "failed"
    done = browser.post(f"/ui/items/{item_id}/resolve", data={"csrf": csrf, "note": "medication adjusted"},
                        follow_redirects=False)
    assert done.status_code == 303
    item = _item(client, item_id)
    assert item.status == "resolved" and item.note == "medication adjusted"
    assert audit_rows(client, action="resolve", resource_id=str(item_id))[-1].outcome == "allowed"
    assert browser.post(f"/ui/items/{item_id}/confirm", data={"csrf": csrf}).status_code == 409
    assert browser.post(f"/ui/items/{item_id}/fly", data={"csrf": csrf}).status_code == 404


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("pain_score", "11", "between 0 and 10"),
    ("pain_score", "٣", "number"),  # digits are ASCII (Python's \d would read Arabic-Indic ones)
    ("temperature", "43.0000000000000001", "between 34 and 43"),  # exact, not rounded to a float first
    ("wound", "o\u212a", "must be one of"),  # the Kelvin sign is not a k
    ("blood_pressure", "120\n/80", "two whole numbers"),
    ("pain_score", "three", "number"),
    ("pain_score", "2.5", "whole number"),
    ("blood_pressure", "180", "two whole numbers"),
    ("blood_pressure", "80/120", "out of range"),
    ("satisfaction", "0", "between 1 and 5"),
    ("temperature", "50", "between 34 and 43"),
    ("wound", "purple", "must be one of"),
    ("overall_condition", "fine", "better, same, worse"),
    ("symptoms", "chest_pain, unicorn", "unknown symptom code"),
    ("missed_medications", "unobtainium", "drugs of the discharge orders"),
    ("call_status", "", "cannot be empty"),
    ("flags", "none", "not a correctable"),
    ("needs_callback", "perhaps", "yes or no"),
])
def test_bad_correction_values_are_refused_and_nothing_changes(client: TestClient, card, demo, field, value,  # noqa: ANN001
                                                           reason) -> None:
    browser, csrf = card
    call_id = demo["red_call"]
    before = _snapshot(client, demo["red_item"])
    browser.get("/ui/lang/en?next=/ui/queue")  # the English page shows the API's reason (the Chinese one: test_reasons)
    try:
        response = browser.post(f"/ui/calls/{call_id}/correct", data={"csrf": csrf, "field": field, "value": value})
    finally:
        browser.get("/ui/lang/zh?next=/ui/queue")
    # A medicine the call's orders do not list conflicts with the record (409); the rest is bad input.
    code = 409 if field == "missed_medications" else 422
    assert response.status_code == code and reason in response.text
    api = client.post(f"/review/calls/{call_id}/corrections", json={"field": field, "value": value},
                      headers=_NURSE[0])
    assert api.status_code == code and reason in api.json()["detail"]
    assert _snapshot(client, demo["red_item"]) == before
    assert audit_rows(client, action="correct", resource_id=str(call_id))[-1].outcome == "failed"


_NURSE: list[dict[str, str]] = []


@pytest.fixture(scope="module", autouse=True)
def _nurse_token(client: TestClient) -> None:
    _NURSE.clear()
    _NURSE.append(login(client, "nurse_card", "card-demo-2026"))


def test_forged_posts_change_nothing(client: TestClient, card, surg, demo) -> None:  # noqa: ANN001
    browser, csrf = card
    other, other_csrf = surg
    item_id, call_id = demo["red_item"], demo["red_call"]
    before = _snapshot(client, item_id)
    denials = len(audit_rows(client, outcome="denied"))
    forged = [
        (browser, f"/ui/items/{item_id}/resolve", {"note": "forged"}, 403),                      # no token
        (browser, f"/ui/items/{item_id}/resolve", {"note": "forged", "csrf": "wrong"}, 403),      # wrong token
        (browser, f"/ui/items/{item_id}/resolve", {"note": "forged", "csrf": other_csrf}, 403),  # another session's
        (browser, f"/ui/calls/{call_id}/correct", {"field": "pain_score", "value": "3"}, 403),
        (browser, f"/ui/calls/{call_id}/unmask", {"reason": "x"}, 403),
        (other, f"/ui/items/{item_id}/resolve", {"note": "forged", "csrf": other_csrf}, 404),    # other ward's id
        (other, f"/ui/items/{item_id}/repeat", {"date": dt.date.today().isoformat(), "csrf": other_csrf}, 404),
        (other, f"/ui/calls/{call_id}/correct", {"field": "pain_score", "value": "3", "csrf": other_csrf}, 404),
        (other, f"/ui/calls/{call_id}/unmask", {"reason": "curious", "csrf": other_csrf}, 404),
    ]
    for jar, url, data, expected in forged:
        response = jar.post(url, data=data, follow_redirects=False)
        assert response.status_code == expected, (url, data, response.status_code)
        assert WANG_PHONE not in response.text and "王建国" not in response.text
    assert _snapshot(client, item_id) == before
    assert len(audit_rows(client, outcome="denied")) >= denials + len(forged)
    # The same over the JSON API: another ward's ids are 404, nothing changes.
    surg_token = login(client, "nurse_surg", "surg-demo-2026")
    assert client.post(f"/review/items/{item_id}/actions", json={"action": "resolve", "note": "x"},
                       headers=surg_token).status_code == 404
    assert client.post(f"/review/calls/{call_id}/corrections", json={"field": "pain_score", "value": "3"},
                       headers=surg_token).status_code == 404
    assert client.get(f"/review/items/{item_id}", headers=surg_token).status_code == 404
    assert client.post(f"/review/items/{item_id}/actions", json={"action": "resolve"}).status_code == 401
    assert _snapshot(client, item_id) == before


# ----- the document says what each request may carry ------------------------------------------

def _component(client: TestClient, name: str) -> dict:
    return client.get("/openapi.json").json()["components"]["schemas"][name]


def test_the_document_states_exactly_the_correction_values_accepted(client: TestClient) -> None:
    """For each correctable field, the document's pattern for `value` matches exactly the typed
    values records.review.parse_field_value accepts (drawn from the pattern and from near misses)."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    from records.review import CORRECTABLE_FIELDS, ActionNotAllowed, InvalidValue, parse_field_value, text_pattern

    variants = {v["properties"]["field"]["const"]: v for v in _component(client, "CorrectionRequest")["oneOf"]}
    assert set(variants) == set(CORRECTABLE_FIELDS)
    patterns = {}
    for field, variant in variants.items():
        value = variant["properties"]["value"]
        patterns[field] = re.compile((value.get("anyOf") or [value])[0]["pattern"])
        assert variant["required"] == (["field", "value"] if field == "call_status" else ["field"])
    reason = re.compile(variants["wound"]["properties"]["reason"]["anyOf"][0]["pattern"])
    assert reason.pattern == text_pattern()

    def accepted(field: str, text: str) -> bool:
        try:
            parse_field_value(field, text, medications=["阿司匹林", "Metoprolol"])
        except (InvalidValue, ActionNotAllowed):
            return False
        return True

    pieces = st.sampled_from([*"0123456789+-./／ ,，、;；\n\t\r\x0b\x1c\x85\xa0\u3000\ufeffAaEeKkOoRrSsYy_是无",
                              "\u212a", "٣", "３", "\x00", "\x01", "chest_pain", "yes", "ok", "120", "80", "40.0", "10"])
    near_misses = st.lists(pieces, max_size=10).map("".join)
    fields = sorted(f for f in CORRECTABLE_FIELDS if f != "missed_medications")  # the orders decide: 409

    @settings(max_examples=1500, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(field=st.sampled_from(fields), data=st.data())
    def check(field: str, data) -> None:  # noqa: ANN001
        pattern = patterns[field]
        text = data.draw(st.one_of(st.text(max_size=12), near_misses, st.from_regex(pattern, fullmatch=True)))
        assert (pattern.fullmatch(text) is not None) == accepted(field, text), (field, text)

    check()
    assert patterns["missed_medications"].pattern == "^[^\\x00]*$"


def test_the_documented_text_patterns_are_what_clean_text_accepts() -> None:
    from hypothesis import HealthCheck, given, settings, strategies as st

    from records.review import InvalidValue, clean_text, required_text_pattern, text_pattern

    patterns = {False: re.compile(text_pattern()), True: re.compile(required_text_pattern())}

    def accepted(text: str, required: bool) -> bool:
        try:
            clean_text(text, field="note", required=required)
        except InvalidValue:
            return False
        return True

    pieces = st.sampled_from([*"ab 是\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u3000\ufeff\x00\x01\x7f", "\U000e3379"])

    @settings(max_examples=3000, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(text=st.one_of(st.text(max_size=8), st.lists(pieces, max_size=8).map("".join)), required=st.booleans())
    def check(text: str, required: bool) -> None:
        assert (patterns[required].fullmatch(text) is not None) == accepted(text, required), (text, required)

    check()


def test_an_action_takes_its_own_fields_only(client: TestClient, demo) -> None:  # noqa: ANN001
    nurse = _NURSE[0]
    item_id = demo["red_item"]
    before = _snapshot(client, item_id)
    for body in ({"action": "confirm", "result": "x"}, {"action": "resolve", "note": "done", "date": None},
                 {"action": "repeat", "date": dt.date.today().isoformat(), "doctor": "张主任"}):
        response = client.post(f"/review/items/{item_id}/actions", json=body, headers=nurse)
        assert response.status_code == 422 and "does not take" in str(response.json()["detail"]), body
    assert _snapshot(client, item_id) == before
    unmask = _component(client, "UnmaskRequest")["properties"]["reason"]
    assert re.fullmatch(unmask["pattern"], "call-back\x0b") and not re.fullmatch(unmask["pattern"], " \x0b")
    patient_id = _patient_id(client, "DEMO0001")
    trimmed = client.post(f"/review/patients/{patient_id}/unmask", json={"reason": "call-back\x0b"}, headers=nurse)
    assert trimmed.status_code == 200  # what the document accepts, the service does (trimmed)


def test_a_repeat_call_date_is_documented_as_todays_window(client: TestClient) -> None:
    repeat = next(v for v in _component(client, "ActionRequest")["oneOf"] if v["properties"]["action"]["const"] == "repeat")
    date = re.compile(repeat["properties"]["date"]["pattern"])
    today = dt.date.today()
    for days, inside in ((-1, False), (0, True), (1, True), (200, True), (366, True), (367, False)):
        assert (date.fullmatch((today + dt.timedelta(days=days)).isoformat()) is not None) == inside, days


def test_a_repeat_call_for_a_patient_without_a_plan_is_409(client: TestClient) -> None:
    # The request is well formed; the record has nothing to add a call to: a conflict, not bad input.
    nurse = _NURSE[0]
    created = client.post("/patients", json={"ward_code": "CARD-1", "name": "无计划", "phone": "13800000077"},
                          headers=nurse)
    assert created.status_code == 201, created.text
    with _db(client) as session:
        patient = session.get(Patient, created.json()["id"])
        item = ReviewItem(patient_id=patient.id, ward_id=patient.ward_id, priority=2, level="task", reason="test")
        session.add(item)
        session.commit()
        item_id = item.id
    repeat_on = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    response = client.post(f"/review/items/{item_id}/actions", json={"action": "repeat", "date": repeat_on},
                           headers=nurse)
    assert response.status_code == 409 and "no follow-up plan" in response.json()["detail"]
    assert audit_rows(client, action="repeat", resource_id=str(item_id))[-1].outcome == "failed"


# ----- JSON API and dashboard --------------------------------------------------------------------

def test_review_api_lists_acts_and_audits(client: TestClient, demo) -> None:  # noqa: ANN001
    nurse = _NURSE[0]
    queue = client.get("/review/items", headers=nurse).json()
    assert queue["items"][0]["level"] == "red" and queue["items"][0]["phone_masked"] == "138****0001"
    assert WANG_PHONE not in str(queue) and set(queue["counts"]) >= {"open", "resolved"}
    assert all(i["ward_code"] == "CARD-1" for i in queue["items"])
    task = next(i for i in queue["items"] if i["level"] == "task")
    acted = client.post(f"/review/items/{task['id']}/actions", json={"action": "callback", "reached": False,
                                                                     "result": "no answer, will retry"}, headers=nurse)
    assert acted.status_code == 200 and acted.json()["status"] == "callback"
    assert acted.json()["history"][-1]["reached"] is False
    assert audit_rows(client, action="callback", resource_id=str(task["id"]))[-1].outcome == "allowed"
    bad = client.post(f"/review/items/{task['id']}/actions", json={"action": "repeat", "date": "2001-01-01"},
                      headers=nurse)
    assert bad.status_code == 422 and "today or later" in bad.json()["detail"]
    fixed = client.post(f"/review/calls/{task['call_id']}/corrections",
                        json={"field": "satisfaction", "value": "5", "reason": "patient said 非常满意"}, headers=nurse)
    assert fixed.status_code == 201 and fixed.json()["corrected"] == 5 and fixed.json()["username"] == "nurse_card"
    assert client.get(f"/review/items/{task['id']}", headers=nurse).json()["history"][-1]["field"] == "satisfaction"
    assert audit_rows(client, action="read", resource="review_item", resource_id=str(task["id"]))


def test_dashboard_figures_are_scoped_and_drawn(client: TestClient, card, surg) -> None:  # noqa: ANN001
    nurse = _NURSE[0]
    figures = client.get("/review/dashboard", headers=nurse).json()
    assert [d["department"] for d in figures["flags_by_department"]] == ["心血管内科"]
    assert figures["flags_by_department"][0]["red"] >= 1
    assert sum(w["red"] + w["yellow"] for w in figures["flags_by_week"]) >= 2 and len(figures["flags_by_week"]) == 8
    assert figures["completion"]["calls"] >= 3 and 0 < figures["completion"]["rate"] <= 1
    assert figures["followup"]["due"] >= figures["followup"]["reached"] >= 1
    assert set(figures["medication_adherence"]) == {"full", "partial", "none", "unknown"}
    assert figures["satisfaction"]["rated"] >= 1 and 1 <= figures["satisfaction"]["mean"] <= 5
    assert 0 <= figures["revisit_booked"]["rate"] <= 1
    surgery = client.get("/review/dashboard", headers=login(client, "nurse_surg", "surg-demo-2026")).json()
    assert [d["department"] for d in surgery["flags_by_department"]] == ["肝胆外科"]
    page = card[0].get("/ui/dashboard")
    assert page.status_code == 200 and page.text.count("<svg") >= 6 and "心血管内科" in page.text
    assert "肝胆外科" not in page.text
    assert audit_rows(client, username="nurse_card", action="view", resource="dashboard")


def test_admin_sees_every_ward_and_nurse_may_unmask_over_the_api(client: TestClient, demo) -> None:  # noqa: ANN001
    admin = login(client, "admin", "admin-demo-2026")
    wards = {i["ward_code"] for i in client.get("/review/items", headers=admin).json()["items"]}
    assert wards == {"CARD-1", "SURG-2"}
    patient_id = _patient_id(client, "DEMO0001")
    assert client.post(f"/review/patients/{patient_id}/unmask", json={"reason": ""},
                       headers=_NURSE[0]).status_code == 422
    shown = client.post(f"/review/patients/{patient_id}/unmask", json={"reason": "confirm number before calling"},
                        headers=_NURSE[0])
    assert shown.status_code == 200 and shown.json()["phone"] == WANG_PHONE
    row = audit_rows(client, action="unmask", outcome="allowed", patient_id=patient_id)[-1]
    assert row.username == "nurse_card" and row.detail == "confirm number before calling"


def test_text_from_the_record_is_escaped_in_pages(client: TestClient, card, demo) -> None:  # noqa: ANN001
    browser, csrf = card
    call_id = demo["red_call"]
    response = browser.post(f"/ui/calls/{call_id}/correct", data={
        "csrf": csrf, "field": "feedback", "value": '<script>alert("x")</script>', "reason": "<b>quoted</b>"},
        follow_redirects=False)
    assert response.status_code == 303
    page = browser.get(f"/ui/calls/{call_id}").text
    assert '<script>alert("x")</script>' not in page and "&lt;script&gt;" in page and "<b>quoted</b>" not in page


def test_messages_from_unknown_numbers_are_listed_masked_and_audited(client: TestClient, card, settings) -> None:  # noqa: ANN001
    """A message left on the phone line from a number on no patient record (campaigns/inbound.py): the
    messages page shows its transcript with the number masked; the view and each playback are audited."""
    from records.messages import LeftMessage, store_message

    number = "13912345678"
    audio = settings.data_path("audio", "messages")
    audio.mkdir(parents=True, exist_ok=True)
    (audio / "message-test.wav").write_bytes(b"RIFF0000WAVE")
    with _db(client) as session:
        message = store_message(session, LeftMessage(caller_number=number, language="zh", transcript="请护士回电话",
                                                     audio_ref="messages/message-test.wav", duration_s=3.2))
        message_id = message.id
    browser, _ = card
    page = browser.get("/ui/messages")
    assert page.status_code == 200
    assert "请护士回电话" in page.text and "139****5678" in page.text and number not in page.text
    assert [r.action for r in audit_rows(client, resource="ward_message", resource_id=str(message_id))] == ["record"]
    listed = audit_rows(client, username="nurse_card", action="list", resource="ward_message")
    assert listed and listed[-1].client_ip
    played = browser.get(f"/ui/messages/{message_id}/audio")
    assert played.status_code == 200 and played.content == b"RIFF0000WAVE"
    assert [r.action for r in audit_rows(client, username="nurse_card", resource="ward_message",
                                         resource_id=str(message_id))] == ["play"]
    assert browser.get(f"/ui/messages/{message_id + 1000}/audio").status_code == 404


def test_a_patients_message_is_a_task_in_the_queue_with_its_call_page(client: TestClient, card) -> None:  # noqa: ANN001
    """A message left on the phone line from a patient's number (campaigns/inbound.py): a nurse task on
    that patient in their ward's queue, whose call page shows the transcript; the patient's audit trail
    holds the storing and the read."""
    from records.messages import LeftMessage, store_message

    patient_id = _patient_id(client, "DEMO0001")
    with _db(client) as session:
        message = store_message(session, LeftMessage(caller_number=WANG_PHONE, language="zh",
                                                     transcript="我最近脚有点肿，请护士给我回电话", audio_ref=None,
                                                     duration_s=4.0, patient_id=patient_id))
        call_id = message.call_id
    browser, _ = card
    queue = browser.get("/ui/queue?level=task")
    assert f'data-call="{call_id}"' in queue.text and "患者在随访专线留言" in queue.text
    page = browser.get(f"/ui/calls/{call_id}")
    assert page.status_code == 200 and "我最近脚有点肿，请护士给我回电话" in page.text and WANG_PHONE not in page.text
    trail = [(r.action, r.resource) for r in audit_rows(client, patient_id=patient_id)]
    assert ("record", "ward_message") in trail and ("read", "call") in trail
