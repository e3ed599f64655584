"""Round 15 of issue #12 (calls11): a new author's follow-up calls (evaluation/data/scenarios/train10.yaml) and
answers (understanding/train17-*.yaml) — the words and call turns the fitting on them made general."""

from __future__ import annotations

import pytest

from dialogs.context import Medication
from dialogs.engine import AnswerResult
from tests.conftest import step_engine


def meds(*names: str) -> tuple[Medication, ...]:
    from knowledge.structurer import drug_info

    out = []
    for i, name in enumerate(names, 1):
        info = drug_info(name)
        out.append(Medication(item_id=i, name=name, generic_name=info[0] if info else None,
                              drug_class=info[1] if info else None))
    return tuple(out)


def run(field: str, text: str, lang: str, **context: object):  # noqa: ANN201
    engine = step_engine((field,), lang, **context)
    engine.handle(text)
    return engine


# ----- "anything to ask?" answered with a backchannel -------------------------------------------------

@pytest.mark.parametrize("lang, reply", [
    ("zh", "嗯，行"), ("zh", "好的好的"), ("zh", "好嘞"), ("en", "Okay, thank you."), ("en", "Cool."), ("en", "Alright."),
])
def test_a_backchannel_to_anything_to_ask_moves_on_after_one_go_ahead(lang: str, reply: str) -> None:
    engine = step_engine(("questions", "satisfaction"), lang)
    engine.answer_question = lambda q, lang: AnswerResult(text="(nurse)", answered=False, sources=())
    first = engine.handle(reply)
    assert first.expecting == "questions"                      # "好的，请问" / "Sure, go ahead." once
    second = engine.handle(reply)
    assert second.expecting == "satisfaction"                  # no endless go-ahead, no question noted
    assert engine.state.questions == []


def test_a_yes_and_then_a_question_is_still_answered() -> None:
    engine = step_engine(("questions", "satisfaction"), "zh")
    engine.answer_question = lambda q, lang: AnswerResult(text="（按医嘱）早上吃", answered=True, sources=(1,))
    assert engine.handle("有").expecting == "questions"
    reply = engine.handle("呋塞米是早上吃还是晚上吃？")
    assert "早上" in reply.say and reply.expecting == "questions"
    assert engine.handle("有").expecting == "questions"           # another question may come after one answered
    assert engine.handle("嗯，行").expecting == "satisfaction"      # …but a bare yes after the go-ahead moves on


# ----- symptoms ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, lang, code", [
    ("吐了一口，咖啡色的，跟那个咖啡渣子似的", "zh", "hematemesis"),
    ("Well, Sunday I was putting the kettle on and next thing I'm on the kitchen floor. Don't know how long I was out.",
     "en", "syncope"),
])
def test_red_findings_told_as_stories(text: str, lang: str, code: str) -> None:
    engine = run("symptoms", text, lang)
    assert code in engine.state.collected["symptoms"]
    assert "red" in {f["level"] for f in engine.state.flags}


@pytest.mark.parametrize("text, lang, code", [
    ("I'm passing a lot less water than I was, only a little in the morning.", "en", "urinary_problem"),
    ("Just the belly burning, nothing else.", "en", "abdominal_pain"),
    ("Not fainted, no, just go a bit grey when I stand up too quick.", "en", "dizziness"),
    ("手脚冰凉，出虚汗，心慌，测的血糖三点一", "zh", "hypoglycemia_symptoms"),
    ("Cold and clammy, heart racing, my sugar was three point one.", "en", "hypoglycemia_symptoms"),
])
def test_findings_in_everyday_words(text: str, lang: str, code: str) -> None:
    assert code in run("symptoms", text, lang).state.collected["symptoms"]


@pytest.mark.parametrize("text, lang, code", [
    ("The naproxen was burning up my belly something terrible.", "en", "fever"),      # a belly burning, no fever
    ("His mouth's drooping on one side, and tea dribbles out.", "en", "urinary_problem"),
    ("咳嗽，痰里有血丝，红红的，今天吐了两三口", "zh", "nausea_vomiting"),               # spitting, not vomiting
    ("没啥不舒服，就是夜里老伴儿咳嗽吵得我睡不好", "zh", "cough"),                       # the husband's cough
    ("No fever, no. The wife had a temperature last week, not me.", "en", "fever"),
    ("I was coughing a bit when I drank too fast, but that's settled now I sip.", "en", "cough"),
    ("Only my knees, they always ache in the cold, have for twenty years.", "en", "pain"),        # baseline
    ("Honestly I'm just tired of it all. Everyone would be better off if I wasn't here.", "en", "fatigue"),
    ("Fever and the shakes, teeth chattering under three blankets.", "en", "hypoglycemia_symptoms"),  # rigors
])
def test_near_misses_are_not_findings(text: str, lang: str, code: str) -> None:
    assert code not in (run("symptoms", text, lang).state.collected.get("symptoms") or [])


def test_a_generic_symptom_taken_in_by_a_specific_one_told_earlier_raises_no_yellow_of_its_own() -> None:
    engine = step_engine(("medication_adherence", "symptoms"), "zh", medications=meds("泮托拉唑钠肠溶片"))
    engine.handle("药都吃着呢。就是今儿早上吐了一口，咖啡色的，跟那个咖啡渣子似的")
    engine.handle("就早上吐那一口，别的还行")
    out = engine.outcome()
    assert out["symptoms"] == ["hematemesis"]
    assert {(f["level"], f["code"]) for f in out["flags"]} == {("red", "symptom_hematemesis")}


# ----- medication adherence -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, lang, drugs, adherence, missed", [
    ("I ran out of my blood pressure pills Thursday, haven't got round to the chemist.", "en",
     ("Amlodipine", "Lisinopril"), "none", {"Amlodipine", "Lisinopril"}),
    ("胰岛素针头用完了，两天没打了", "zh", ("门冬胰岛素注射液",), "none", {"门冬胰岛素注射液"}),
    ("The dentist told me to stop the clopidogrel for three days for an extraction, the aspirin I kept on.", "en",
     ("Aspirin", "Clopidogrel"), "partial", {"Clopidogrel"}),
    ("利尿的那个吃了老跑厕所，出门的时候就不吃了，一礼拜有两三天没吃", "zh", ("呋塞米片", "螺内酯片"), "partial", {"呋塞米片"}),
    ("I watch him take every one, morning and night, nothing missed.", "en", ("Aspirin", "Clopidogrel"), "full", set()),
    ("The amlodipine every morning. I haven't touched the ramipril, like they said.", "en", ("Amlodipine",), "full", set()),
    ("The leflunomide every morning. The naproxen I stop it Thursday, it was burning up my belly something terrible.",
     "en", ("Leflunomide", "Naproxen"), "partial", {"Naproxen"}),     # a painkiller given up for what it did
])
def test_adherence_stories(text: str, lang: str, drugs: tuple[str, ...], adherence: str, missed: set[str]) -> None:
    engine = run("medication_adherence", text, lang, medications=meds(*drugs))
    assert engine.state.collected["medication_adherence"] == adherence
    assert set(engine.state.collected["missed_medications"]) == missed


def test_a_stomach_ache_that_went_with_the_drug_is_no_side_effect() -> None:
    engine = run("medication_adherence", "胃药早上空腹吃，吃了一个礼拜胃就不疼了，我就停了", "zh",
                 medications=meds("奥美拉唑肠溶胶囊"))
    assert not engine.state.collected.get("side_effects") and not engine.state.flags


def test_not_booked_yet_is_not_booked() -> None:
    assert run("revisit_booked", "Not booked yet, I'll ring them Monday.", "en").state.collected["revisit_booked"] is False


def test_palpitations_ask_for_the_pulse() -> None:
    from dialogs.flows import load_flows

    step = next(s for s in load_flows().get("general").steps if s.collect == "heart_rate")
    assert "palpitations" in repr(step.condition)
