"""The phone line: keypad rules, the TwiML webhook, call tokens, and a real call over the Twilio
Media Streams WebSocket — synthesized patient speech in 8 kHz μ-law, VAD end of turn, Whisper,
the dialog engine, and the reply played back as μ-law frames."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from sqlalchemy import select

from api.phone import KeypadBuffer, issue_call_token
from records.schema import CallSession, Patient, Turn
from tests.conftest import login, make_settings

FRAME_BYTES = 160  # 20 ms of 8 kHz μ-law


@pytest.fixture(scope="module")
def phone_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from api.app import create_app
    from suifang.demo import load_demo

    data = tmp_path_factory.mktemp("phone")
    settings = make_settings(f"sqlite:///{data}/phone.db", data, SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing")
    from records.db import upgrade

    upgrade(settings.database.url)
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.session_factory() as session:
            load_demo(session, settings=settings, calls=False)
        yield client


def _patient_id(client: TestClient, mrn: str) -> int:
    with client.app.state.session_factory() as session:
        return session.scalar(select(Patient.id).where(Patient.mrn == mrn))


def test_keypad_yes_no_and_readings() -> None:
    keypad = KeypadBuffer()
    assert keypad.press("1", "zh") is None
    assert keypad.pending_yes_no("zh") == "是的"
    for digit in "145*90":
        assert keypad.press(digit, "en") is None
    assert keypad.press("#", "en") == "145/90"
    keypad.press("2", "en")
    assert keypad.pending_yes_no("en") == "no"


def test_twiml_webhook_needs_a_valid_call_token(phone_client: TestClient) -> None:
    settings = phone_client.app.state.settings
    token = issue_call_token(secret=settings.secret_key, patient_id=_patient_id(phone_client, "DEMO0002"), discharge_id=None)
    response = phone_client.post(f"/twilio/voice?call_token={token}")
    assert response.status_code == 200
    assert "<Stream url=" in response.text and "/phone/stream" in response.text and token in response.text
    assert phone_client.post("/twilio/voice?call_token=forged").status_code == 403


def test_call_tokens_follow_ward_access(phone_client: TestClient) -> None:
    surg = login(phone_client, "nurse_surg", "surg-demo-2026")
    card = login(phone_client, "nurse_card", "card-demo-2026")
    robert = _patient_id(phone_client, "DEMO0002")   # CARD-1
    assert phone_client.post("/calls/phone-token", json={"patient_id": robert}, headers=surg).status_code == 404
    ok = phone_client.post("/calls/phone-token", json={"patient_id": robert, "language": "en"}, headers=card)
    assert ok.status_code == 200 and ok.json()["stream_path"] == "/phone/stream"
    assert phone_client.post("/calls/phone-token", json={"patient_id": "x"}, headers=card).status_code == 422


def test_stream_without_a_valid_token_is_closed(phone_client: TestClient) -> None:
    with phone_client.websocket_connect("/phone/stream") as ws:
        ws.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        ws.send_json({"event": "start", "streamSid": "MZ1", "start": {"customParameters": {"call_token": "forged"}}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008  # policy violation: the server refused the call token


def _until_prompt_ends(ws) -> tuple[bytes, list[dict]]:  # noqa: ANN001
    audio, messages = b"", []
    while True:
        message = ws.receive_json()
        messages.append(message)
        if message["event"] == "media":
            audio += base64.b64decode(message["media"]["payload"])
        if message["event"] == "mark" and message["mark"]["name"].startswith("end-"):
            return audio, messages


@pytest.mark.models
def test_a_voice_call_over_media_streams(phone_client: TestClient) -> None:
    app = phone_client.app
    voice = app.state.services.voice()
    robert = _patient_id(phone_client, "DEMO0002")
    token = issue_call_token(secret=app.state.settings.secret_key, patient_id=robert, discharge_id=None, language="en",
                             call_date=(dt.date.today()).isoformat())
    with phone_client.websocket_connect("/phone/stream") as ws:
        ws.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        ws.send_json({"event": "start", "streamSid": "MZ42", "start": {"streamSid": "MZ42", "callSid": "CA1",
                                                                       "customParameters": {"call_token": token}}})
        greeting, messages = _until_prompt_ends(ws)
        assert len(greeting) > 8000 * 2                      # seconds of μ-law audio, in 20 ms frames
        assert all(m.get("streamSid") == "MZ42" for m in messages)
        assert all(len(base64.b64decode(m["media"]["payload"])) <= FRAME_BYTES for m in messages if m["event"] == "media")
        for m in messages:
            if m["event"] == "mark":
                ws.send_json({"event": "mark", "streamSid": "MZ42", "mark": {"name": m["mark"]["name"]}})

        said = voice.synthesize_phone("Yes, this is Robert Miller, born in 1948.", "en")
        silence = b"\xff" * FRAME_BYTES                       # μ-law silence
        for offset in range(0, len(said), FRAME_BYTES):
            frame = said[offset:offset + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff")
            ws.send_json({"event": "media", "streamSid": "MZ42", "media": {"payload": base64.b64encode(frame).decode()}})
        # Silence past the turn model's cap (2.5 s): the turn ends whatever the model makes of it.
        for _ in range((app.state.settings.phone.turn_max_silence_ms + 200) // 20):
            ws.send_json({"event": "media", "streamSid": "MZ42", "media": {"payload": base64.b64encode(silence).decode()}})
        reply, _ = _until_prompt_ends(ws)
        assert len(reply) > 8000
        ws.send_json({"event": "stop", "streamSid": "MZ42"})

    import time

    deadline = time.monotonic() + 15   # the server finishes the hang-up in its own thread
    while time.monotonic() < deadline:
        with app.state.session_factory() as session:
            # Only this phone call counts: the demo data already holds ended scripted calls for Robert.
            if session.scalars(select(CallSession).where(CallSession.patient_id == robert,
                                                         CallSession.channel == "phone",
                                                         CallSession.status == "ended")).first():
                break
        time.sleep(0.1)
    with app.state.session_factory() as session:
        call = session.scalars(select(CallSession).where(CallSession.patient_id == robert, CallSession.channel == "phone")
                               .order_by(CallSession.id.desc())).first()
        turns = session.scalars(select(Turn).where(Turn.call_id == call.id).order_by(Turn.seq)).all()
        patient_turns = [t for t in turns if t.speaker == "patient"]
        assert "1948" in patient_turns[0].text
        assert patient_turns[0].asr_confidence is not None and patient_turns[0].audio_ref
        assert Path(app.state.settings.data_path("audio", patient_turns[0].audio_ref)).exists()
        assert "AI" in turns[0].text                          # the opening says it is an AI assistant
        assert turns[-1].speaker == "system" and turns[-1].expecting == "overall_condition"
        assert call.outcome is not None and call.outcome.identity_verified is True
        assert call.outcome.call_status == "partial"          # the line dropped after an answer


def _read_stereo(path: Path) -> tuple[Any, int]:
    import wave

    import numpy as np

    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 2
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    return samples.astype(np.float32) / 32768.0, rate


def _rms(x: Any) -> float:
    import numpy as np

    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


SCRIPTED_SCENARIO = {
    "id": "scripted-en", "language": "en", "call_day": 7,
    "patient": {"name": "Helen Carter", "birth_year": 1951, "sex": "female", "phone": "+15550100099"},
    "discharge": {"department": "Cardiology", "diagnosis": "Hypertension", "discharged_on": "2026-11-10",
                  "orders": "1. Amlodipine 5 mg by mouth once daily\n2. Follow up in the cardiology clinic in 2 weeks\n"},
    "persona": {"identity_verified": "Yes, this is Helen Carter, born in 1951.",
                "overall_condition": "Much better, thank you.",
                "medication_adherence": "I take it every day.",
                "default": "No."},
}


@pytest.mark.models
def test_a_scripted_caller_completes_a_call_over_a_real_websocket(tmp_path: Path) -> None:
    """uvicorn on a loopback port, the scripted Media Streams caller on its WebSocket: the persona's
    answers go out as synthesized 8 kHz μ-law frames, and the outcome the service stores is scored."""
    from evaluation.phone import run_over_phone
    from suifang.services import Services
    from records.db import upgrade

    from campaigns.recording import recording_refs
    from models.audio import resample

    settings = make_settings(f"sqlite:///{tmp_path}/scripted.db", tmp_path, SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing")
    upgrade(settings.database.url)
    services = Services.build(settings)
    try:
        [result] = run_over_phone([SCRIPTED_SCENARIO], services=services)
        with services.session_factory() as session:
            call = session.scalars(select(CallSession).where(CallSession.channel == "phone")).one()
            turns = session.scalars(select(Turn).where(Turn.call_id == call.id).order_by(Turn.seq)).all()
        # Both sides in one stereo recording: the opening on the right from the first moment, the patient
        # (silent meanwhile) on the left, where Whisper reads the first answer back.
        [(_, ref)] = recording_refs(settings.data_path("audio"), call.id)
        stereo, rate = _read_stereo(settings.data_path("audio") / ref)
        left_heard = services.voice().transcribe(resample(stereo[:, 0], rate, 16000), "en").text
    finally:
        services.close()
    assert rate == 8000 and stereo.shape[1] == 2
    opening = stereo[:rate * 2]
    assert _rms(opening[:, 1]) > 0.02 and _rms(opening[:, 0]) == 0.0
    assert "1951" in left_heard
    assert result.voice["persona"] != result.voice["service"] and result.voice["frames"] > 0
    outcome = result.outcome
    assert outcome["call_status"] == "completed" and outcome["identity_verified"] is True
    assert outcome["medication_adherence"] == "full"
    assert "AI" in turns[0].text
    heard = [t for t in turns if t.speaker == "patient" and t.text]
    assert heard and all(t.audio_ref and t.asr_confidence is not None for t in heard)
    assert "1951" in heard[0].text
    assert len(result.latencies_ms) >= 4 and all(ms > 0 for ms in result.latencies_ms)


@pytest.mark.models
def test_bad_audio_never_becomes_an_answer_and_a_dropped_line_is_partial(phone_client: TestClient) -> None:
    """Malformed base64, oversized frames, wrong codec (PCM16 sent as μ-law), white noise, clipping
    and silence: no crash, no invented transcript; the line drops and the call is left partial."""
    import numpy as np

    app = phone_client.app
    patient = _patient_id(phone_client, "DEMO0002")
    token = issue_call_token(secret=app.state.settings.secret_key, patient_id=patient, discharge_id=None,
                             language="en", call_date=dt.date.today().isoformat())
    rng = np.random.default_rng(7)
    from models import audio

    white = audio.to_phone((rng.standard_normal(8000 * 3) * 0.3).astype(np.float32), 8000)
    clipped = audio.to_phone(np.clip(rng.standard_normal(8000 * 2) * 5, -1, 1).astype(np.float32), 8000)
    pcm16_as_mulaw = (rng.standard_normal(8000 * 2) * 3000).astype("<i2").tobytes()
    with phone_client.websocket_connect("/phone/stream") as ws:
        ws.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        ws.send_json({"event": "start", "streamSid": "MZ7", "start": {"streamSid": "MZ7", "customParameters": {"call_token": token}}})
        _greeting, messages = _until_prompt_ends(ws)
        for m in messages:
            if m["event"] == "mark":
                ws.send_json({"event": "mark", "streamSid": "MZ7", "mark": {"name": m["mark"]["name"]}})
        ws.send_text("not json at all")
        ws.send_json({"event": "media", "streamSid": "MZ7", "media": {"payload": "%%% not base64 %%%"}})
        ws.send_json({"event": "media", "streamSid": "MZ7", "media": {"payload": base64.b64encode(b"\x00" * 200_000).decode()}})
        ws.send_json({"event": "media"})
        for blob in (white, clipped, pcm16_as_mulaw, b"\xff" * 8000 * 3):
            for offset in range(0, len(blob), FRAME_BYTES):
                frame = blob[offset:offset + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff")
                ws.send_json({"event": "media", "streamSid": "MZ7", "media": {"payload": base64.b64encode(frame).decode()}})
        # The line drops without a stop event.
    import time

    # The server first works through every frame already sent (VAD, and Whisper on whatever VAD let
    # through), so on a loaded machine the hang-up can take a while.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with app.state.session_factory() as session:
            call = session.scalars(select(CallSession).where(CallSession.patient_id == patient, CallSession.channel == "phone")
                                   .order_by(CallSession.id.desc())).first()
            if call.status == "ended":
                break
        time.sleep(0.1)
    with app.state.session_factory() as session:
        call = session.scalars(select(CallSession).where(CallSession.patient_id == patient, CallSession.channel == "phone")
                               .order_by(CallSession.id.desc())).first()
        turns = session.scalars(select(Turn).where(Turn.call_id == call.id)).all()
        assert call.status == "ended" and call.outcome is not None
        assert call.outcome.call_status in ("no_answer", "partial")
        invented = [t.text for t in turns if t.speaker == "patient" and t.text.strip()]
        assert not invented, invented
