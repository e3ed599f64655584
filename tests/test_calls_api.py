"""Text follow-up calls over the API: every turn stored as it happens, outcome written however the
call ends, red flags reach the review queue at once, calls resume after a restart."""

from __future__ import annotations

from sqlalchemy import func, select

from records.schema import CallSession, Patient, ReviewItem, Turn
from tests.test_foundation import patient_id_by_mrn


def _turn_count(client, call_id: int) -> int:  # noqa: ANN001
    with client.app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Turn).where(Turn.call_id == call_id))


def _start(client, headers, mrn: str) -> dict:  # noqa: ANN001
    response = client.post("/calls", json={"patient_id": patient_id_by_mrn(client, mrn)}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _say(client, headers, call_id: int, text: str) -> dict:  # noqa: ANN001
    response = client.post(f"/calls/{call_id}/turns", json={"text": text}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_call_stores_each_turn_and_flags_red_at_once(client, nurse_card) -> None:  # noqa: ANN001
    opened = _start(client, nurse_card, "DEMO0001")
    call_id = opened["call_id"]
    assert opened["expecting"] == "identity_verified" and "AI" in opened["say"]
    assert _turn_count(client, call_id) == 1
    reply = _say(client, nurse_card, call_id, "对，我是王建国，62年的")
    assert reply["expecting"] == "overall_condition"
    assert _turn_count(client, call_id) == 3
    reply = _say(client, nurse_card, call_id, "不好，今天早上胸口疼了半个多小时")
    assert "120" in reply["say"]
    # The red flag is in the nurse queue before the call ends.
    with client.app.state.session_factory() as session:
        item = session.scalar(select(ReviewItem).where(ReviewItem.call_id == call_id))
        assert item is not None and item.level == "red" and item.priority == 0
        assert session.get(CallSession, call_id).status == "in_progress"
    hung = client.post(f"/calls/{call_id}/turns", json={"hangup": True}, headers=nurse_card).json()
    assert hung["done"] and hung["call_status"] == "partial"
    outcome = client.get(f"/outcomes/{call_id}", headers=nurse_card).json()
    assert outcome["call_status"] == "partial" and outcome["identity_verified"] is True
    assert outcome["overall_condition"] == "worse" and "chest_pain" in outcome["symptoms"]
    assert "red" in {f["level"] for f in outcome["flags"]}
    assert outcome["needs_callback"] is True
    detail = client.get(f"/calls/{call_id}", headers=nurse_card).json()
    assert [t["speaker"] for t in detail["turns"][:3]] == ["system", "patient", "system"]
    assert client.post(f"/calls/{call_id}/turns", json={"text": "喂"}, headers=nurse_card).status_code == 409


def test_call_resumes_from_the_database_after_a_restart(client, nurse_card) -> None:  # noqa: ANN001
    call_id = _start(client, nurse_card, "DEMO0001")["call_id"]
    _say(client, nurse_card, call_id, "对，我是王建国，62年的")
    # The process that held the call is gone; the next turn rebuilds it from the stored state.
    client.app.state.services.active_calls.clear()
    reply = _say(client, nurse_card, call_id, "比住院的时候好多了")
    assert reply["expecting"] == "medication_adherence" and "阿司匹林" in reply["say"]
    client.post(f"/calls/{call_id}/turns", json={"hangup": True}, headers=nurse_card)
    outcome = client.get(f"/outcomes/{call_id}", headers=nurse_card).json()
    assert outcome["overall_condition"] == "better" and outcome["identity_verified"] is True


def test_refusal_marks_the_patient_do_not_call(client, nurse_card) -> None:  # noqa: ANN001
    call_id = _start(client, nurse_card, "DEMO0004")["call_id"]
    reply = _say(client, nurse_card, call_id, "我不需要回访，以后别打了")
    assert reply["done"] and reply["call_status"] == "refused"
    with client.app.state.session_factory() as session:
        assert session.get(Patient, patient_id_by_mrn(client, "DEMO0004")).do_not_call is True


def test_calls_of_another_ward_are_out_of_reach(client, nurse_card, nurse_surg) -> None:  # noqa: ANN001
    call_id = _start(client, nurse_card, "DEMO0002")["call_id"]
    assert client.get(f"/calls/{call_id}", headers=nurse_surg).status_code == 404
    assert client.post(f"/calls/{call_id}/turns", json={"text": "hi"}, headers=nurse_surg).status_code == 404
    assert client.post("/calls", json={"patient_id": patient_id_by_mrn(client, "DEMO0002")},
                       headers=nurse_surg).status_code == 404
    assert all(c["id"] != call_id for c in client.get("/calls", headers=nurse_surg).json())


def test_bad_turns_are_rejected_with_a_reason(client, nurse_card) -> None:  # noqa: ANN001
    call_id = _start(client, nurse_card, "DEMO0002")["call_id"]
    before = _turn_count(client, call_id)
    # A turn says something: the document says so too (text, or silence: true, or hangup: true).
    for empty in ({}, {"text": None}, {"silence": False, "hangup": False}):
        assert client.post(f"/calls/{call_id}/turns", json=empty, headers=nurse_card).status_code == 422
    turn = client.get("/openapi.json").json()["components"]["schemas"]["PatientTurn"]
    assert [branch["required"] for branch in turn["anyOf"]] == [["text"], ["silence"], ["hangup"]]
    assert turn["anyOf"][0]["properties"]["text"] == {"type": "string"}
    assert client.post(f"/calls/{call_id}/turns", json={"text": 5}, headers=nurse_card).status_code == 422
    assert client.post(f"/calls/{call_id}/turns", json={"text": "x" * 10_001}, headers=nurse_card).status_code == 422
    assert _turn_count(client, call_id) == before
    # Emoji and 10 kB are not errors: the call reprompts.
    reply = _say(client, nurse_card, call_id, "🙂" * 50)
    assert reply["expecting"] == "identity_verified" and not reply["done"]
