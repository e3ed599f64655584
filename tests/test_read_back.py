"""A reading past a red line heard over the phone is read back once before it is kept.

Whisper turned 空腹血糖九点二 into 空腹血糖油也二 on the phone line (a glucose of 2.0, a false red flag):
the read-back gives the patient the chance to say it again. Fail closed: a reading whose read-back is
not understood, or a call that ends during it, keeps the reading as heard and its flag."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs.context import Medication
from dialogs.engine import FollowupEngine
from tests.conftest import step_engine



def _engine(fields: tuple[str, ...], lang: str = "zh", *, read_back: bool = True) -> FollowupEngine:
    zh = lang == "zh"
    metformin = Medication(item_id=1, name="二甲双胍片", generic_name="二甲双胍", drug_class="antidiabetic")
    return step_engine(fields, lang, read_back=read_back, patient_name="张桂兰" if zh else "Mary Jones",
                       sex="female", birth_year=1950, ward_team="老年科", department="老年科",
                       call_date=dt.date(2026, 11, 15), medications=(metformin,))


def _red_codes(outcome: dict) -> set[str]:
    return {f["code"] for f in outcome["flags"] if f["level"] == "red"}


def test_a_critical_glucose_is_read_back_before_it_is_kept() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    reply = engine.handle("空腹血糖二点零")
    assert reply.expecting == "blood_glucose"
    assert "血糖2.0" in reply.say and "对吗" in reply.say
    assert "blood_glucose" not in engine.outcome() and not engine.outcome()["flags"]   # nothing kept yet
    reply = engine.handle("对，二点零")
    assert reply.expecting == "blood_pressure"
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 2.0 and _red_codes(outcome)
    assert engine.state.disputed == {}


def test_a_plain_yes_confirms_the_reading() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    engine.handle("空腹血糖二点零")
    engine.handle("对的")
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 2.0 and _red_codes(outcome) and not engine.state.disputed


def test_a_different_reading_on_read_back_is_kept_with_both_in_the_evidence_and_a_nurse_call() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    engine.handle("空腹血糖二点二")       # the recogniser dropped the 九 of 九点二
    reply = engine.handle("不是，九点二")
    assert reply.expecting == "blood_pressure"
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 9.2
    assert not _red_codes(outcome)
    assert outcome["needs_callback"] is True
    assert "二点二" in outcome["evidence"]["blood_glucose"] and "九点二" in outcome["evidence"]["blood_glucose"]


def test_a_read_back_not_understood_keeps_the_red_reading() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    engine.handle("空腹血糖二点零")
    engine.handle("这个我也说不好")
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 2.0 and _red_codes(outcome) and outcome["needs_callback"] is True


def test_a_call_that_drops_during_the_read_back_keeps_the_red_reading() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    engine.handle("空腹血糖二点零")
    engine.hangup()
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 2.0 and _red_codes(outcome) and outcome["needs_callback"] is True


def test_a_blood_pressure_is_read_back_as_both_numbers() -> None:
    engine = _engine(("blood_pressure", "blood_glucose"))
    reply = engine.handle("今天早上高压一百八十五，低压一百一")
    assert "高压185，低压110" in reply.say and reply.expecting == "blood_pressure"
    engine.handle("高压一百八十五，低压一百一")
    assert engine.outcome()["blood_pressure"] == {"systolic": 185, "diastolic": 110}
    assert _red_codes(engine.outcome())


def test_half_a_pressure_on_read_back_does_not_replace_the_reading() -> None:
    engine = _engine(("blood_pressure", "blood_glucose"))
    engine.handle("高压一百八十五，低压一百一")
    engine.handle("高压一百八")
    outcome = engine.outcome()
    assert outcome["blood_pressure"] == {"systolic": 185, "diastolic": 110} and _red_codes(outcome)


@pytest.mark.parametrize(("said", "heard_back"), [
    ("my sugar was forty this morning", "a blood sugar of 40"),       # mg/dL: read back as the patient said it
    ("it was 2.1", "a blood sugar of 2.1"),
])
def test_an_english_blood_sugar_is_read_back_in_the_unit_the_patient_used(said: str, heard_back: str) -> None:
    engine = _engine(("blood_glucose", "blood_pressure"), lang="en")
    reply = engine.handle(said)
    assert heard_back in reply.say and reply.expecting == "blood_glucose"
    engine.handle("Yes, that's right.")
    assert _red_codes(engine.outcome())


def test_a_reading_in_the_normal_range_is_not_read_back() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    reply = engine.handle("空腹血糖六点五")
    assert reply.expecting == "blood_pressure" and engine.outcome()["blood_glucose"] == 6.5


def test_a_typed_answer_is_not_read_back() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"), read_back=False)
    reply = engine.handle("空腹血糖二点零")
    assert reply.expecting == "blood_pressure"
    assert engine.outcome()["blood_glucose"] == 2.0 and _red_codes(engine.outcome())


def test_each_new_red_reading_is_read_back() -> None:
    engine = _engine(("blood_pressure", "blood_glucose", "temperature"))
    engine.handle("高压一百八十五，低压一百一")
    engine.handle("对")
    reply = engine.handle("空腹血糖二点零")          # another red line, another read-back
    assert "血糖2.0" in reply.say
    engine.handle("对")
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 2.0 and len(_red_codes(outcome)) >= 2


def test_the_read_back_survives_a_resume_from_stored_state() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    engine.handle("空腹血糖二点零")
    state = type(engine.state).from_dict(engine.state.to_dict())
    resumed = FollowupEngine(flows=engine.flows, flow=engine.flow, context=engine.context, rules=engine.rules,
                             state=state, read_back=True)
    resumed.handle("空腹血糖九点二")
    assert resumed.outcome()["blood_glucose"] == 9.2 and resumed.outcome()["needs_callback"] is True


# ----- wiring: spoken channels read back, typed ones do not; a resumed call keeps its channel's rule ---------

@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from tests.conftest import demo_services

    services = demo_services(tmp_path_factory.mktemp("read_back"), "read_back",
                             SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing")
    yield services
    services.close()


def _open(services, channel: str, settings=None):  # noqa: ANN001, ANN202
    from sqlalchemy import select

    from dialogs.runner import CallRunner
    from records.schema import Patient

    with services.session_factory() as session:
        patient_id = session.scalar(select(Patient.id).where(Patient.mrn == "DEMO0001"))
    return CallRunner.open(session_factory=services.session_factory, flows=services.flows,
                           settings=settings or services.settings, patient_id=patient_id, channel=channel)


@pytest.mark.parametrize(("channel", "reads_back"), [("phone", True), ("sip", True), ("text", False)])
def test_spoken_calls_read_back_and_typed_ones_do_not(records, channel: str, reads_back: bool) -> None:  # noqa: ANN001
    from dialogs.runner import CallRunner

    runner = _open(records, channel)
    assert runner.engine.read_back is reads_back
    resumed = CallRunner.resume(session_factory=records.session_factory, flows=records.flows,
                                settings=records.settings, call_id=runner.call_id)
    assert resumed.engine.read_back is reads_back


def test_the_read_back_can_be_switched_off(records) -> None:  # noqa: ANN001
    settings = records.settings
    off = settings.model_copy(update={"dialog": settings.dialog.model_copy(update={"read_back_readings": False})})
    assert _open(records, "phone", off).engine.read_back is False


def test_a_bare_no_to_the_read_back_asks_for_the_reading_once_more() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    engine.handle("空腹血糖二点二")
    reply = engine.handle("不对")
    assert reply.expecting == "blood_glucose" and "血糖" in reply.say
    engine.handle("九点二")
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 9.2 and outcome["needs_callback"] is True and not _red_codes(outcome)


def test_a_no_and_then_nothing_understood_keeps_the_red_reading() -> None:
    engine = _engine(("blood_glucose", "blood_pressure"))
    engine.handle("空腹血糖二点二")
    engine.handle("不对")
    reply = engine.handle("不对不对")
    assert reply.expecting == "blood_pressure"
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 2.2 and _red_codes(outcome) and outcome["needs_callback"] is True


def test_a_reading_the_language_model_made_of_garbled_words_is_read_back_too() -> None:
    """The old miss: 空腹血糖九点二 heard twice as 空腹血糖油也二; the model's fallback made 2.0 of it."""
    engine = _engine(("blood_glucose", "blood_pressure"))
    engine.llm_fallback = lambda field, text, lang, context: 2.0 if field == "blood_glucose" else None
    reply = engine.handle("空腹血糖油也二")
    assert "血糖2.0" not in reply.say and reply.expecting == "blood_glucose"   # the model only reads the re-ask's answer
    reply = engine.handle("空腹血糖油也二")
    assert "血糖2.0" in reply.say and reply.expecting == "blood_glucose"
    engine.handle("空腹血糖九点二")
    outcome = engine.outcome()
    assert outcome["blood_glucose"] == 9.2 and not _red_codes(outcome) and outcome["needs_callback"] is True


def test_an_english_temperature_in_fahrenheit_is_read_back_in_fahrenheit() -> None:
    engine = _engine(("temperature", "blood_pressure"), lang="en")
    engine.context = type(engine.context)(**{**engine.context.__dict__, "post_surgery": True})
    reply = engine.handle("it was a hundred and three last night")
    assert "a temperature of 103 degrees" in reply.say and reply.expecting == "temperature"
    engine.handle("yes")
    assert engine.outcome()["temperature"] == 39.4 and _red_codes(engine.outcome())
