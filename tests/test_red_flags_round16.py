"""Round 19 corpus, session 15 round 2 (issue #12): the phone English of older patients and carers from many places
(idioms, understatement, euphemism) and HK/SG/MY Mandarin mixed with English
(evaluation/data/understanding/train19-*.yaml). Red findings told so are raised red through the engine; the near
misses of the same answers (a chronic complaint unchanged, a reading corrected, a plan to ring later) are not."""

from __future__ import annotations

import pytest

from tests.conftest import step_engine


def run(field: str, text: str, lang: str, **context: object) -> tuple[set[str], object]:
    engine = step_engine((field,), lang, **context)
    engine.handle(text)
    return {f["level"] for f in engine.state.flags}, engine.state.collected.get(field)


@pytest.mark.parametrize("text, lang, code", [
    ("I'm in a bad way, if I'm honest. My tablets are all lined up and some nights I think I'll just take the lot.",
     "en", "suicidal_ideation"),
    ("There's no point going on, I keep thinking about walking into the sea and just keep walking.", "en",
     "suicidal_ideation"),
    ("我把安眠药 keep 起来，存了一瓶，想说哪天 cannot tahan 就全部吃掉。", "zh", "suicidal_ideation"),
    ("Mi granny drop down inna di yard dis morning, she nah know wha happen, she come round after a likkle while.",
     "en", "syncope"),
    ("My father is talking irrelevant since morning, he is not recognising us properly.", "en", "confusion"),
    ("Her lips have gone a funny blue colour this morning and she's breathing ever so fast just lying there.", "en",
     "dyspnea"),
    ("She's sitting on the edge of the bed fighting for breath, she hasn't been able to lie down all night.", "en",
     "dyspnea"),
    ("I'm feeling a bit under the weather, love. There's a heaviness in my chest now as we're talking, been there "
     "since I got up at six, I'm just sat here waiting for it to go.", "en", "chest_tightness"),
    ("I'm a bit crook, mate. Chest's been crook since smoko, still aching now sitting on the verandah, must be an "
     "hour.", "en", "chest_pain"),
    ("My back passage has been bleeding, I didn't like to say, it's all down my underthings.", "en", "melena"),
    ("大号的时候有 blood，马桶里面红红一片，好多。", "zh", "melena"),
    ("吐了两次，吐出来的东西好像 coffee 渣一样，黑黑的。", "zh", "hematemesis"),
    ("The man's mouth has turned to one side and he is talking like his tongue is heavy, since morning.", "en",
     "facial_droop"),
])
def test_a_red_finding_told_in_idiom_euphemism_or_mixed_speech(text: str, lang: str, code: str) -> None:
    levels, value = run("symptoms", text, lang)
    assert code in (value or [])
    assert "red" in levels


def test_a_chest_weight_in_church_that_the_spray_did_not_shift_is_red_in_an_answer_about_the_condition() -> None:
    levels, value = run("overall_condition", "Ah sure I'm grand, better than I was anyway. Bit of indigestion Sunday "
                        "mind, only it wasn't really indigestion, sat on me chest like a bag of cement the whole of "
                        "Mass and the spray under the tongue did nothing for it.", "en")
    assert value == "better"
    assert "red" in levels


def test_a_pain_score_corrected_downwards_counts_as_corrected() -> None:
    levels, value = run("pain_score", "It's an eight, no, call it a seven, it's not that bad if I keep still.", "en")
    assert value == 7
    assert "red" not in levels


@pytest.mark.parametrize("text, lang", [
    ("I've had pins and needles in my feet for years with the sugar, it's no worse than it ever was.", "en"),
    ("走快一点会有点 short of breath，慢下来就好，以前都是这样，不是新的。", "zh"),
])
def test_a_complaint_said_to_be_as_it_always_was_is_not_new(text: str, lang: str) -> None:
    levels, value = run("symptoms", text, lang)
    assert value == []
    assert not levels


@pytest.mark.parametrize("text, lang, codes", [
    ("Ee, I'm right poorly, been throwing up all night and I've got the squits and all.", "en",
     {"nausea_vomiting", "diarrhea"}),
    ("Bless your heart for calling. I'm plumb wore out and my ankles are swole up like a toad.", "en",
     {"fatigue", "edema"}),
    ("Had a spew this morning, only brekkie came up, otherwise I'm right.", "en", {"nausea_vomiting"}),
    ("Yesterday I had a headache but it's cleared, and today I feel a bit lightheaded.", "en", {"dizziness"}),
    ("心情是有点 down，不过你放心，我不会做傻事的。", "zh", {"low_mood"}),
])
def test_yellow_level_complaints_in_regional_words(text: str, lang: str, codes: set[str]) -> None:
    levels, value = run("symptoms", text, lang)
    assert set(value or []) == codes
    assert levels == {"yellow"}


def test_a_plan_to_ring_later_is_a_no_to_the_booking_not_a_stall() -> None:
    _, value = run("revisit_booked", "还没有 book，我等一下打电话。", "zh")
    assert value is False


def test_a_bare_one_said_first_is_the_bottom_of_the_satisfaction_scale() -> None:
    levels, value = run("satisfaction", "One. Absolutely shocking, I was left in a corridor.", "en")
    assert value == 1
    assert "yellow" in levels


def test_not_sure_about_the_evening_tablets_is_no_full_adherence() -> None:
    _, value = run("medication_adherence", "Yes, yes, I'm taking them. Well, mostly. I'm not sure about the evening "
                   "ones.", "en")
    assert value in (None, "unknown")


@pytest.mark.parametrize("text, lang", [
    ("I had the bloods done Monday. I'm not sure about the scan, I don't know if it's been done or not.", "en"),
    ("Blood test 做了，scan 做了没有我不太记得。", "zh"),
])
def test_one_re_examination_done_and_unsure_of_the_other_is_asked_again(text: str, lang: str) -> None:
    _, value = run("reexam_done", text, lang)
    assert value is None


def test_black_stools_again_same_as_before_admission_stay_red() -> None:
    # "same as before I came in" tells a return of the admission's bleed, not a history (scenario tr4-29)
    levels, value = run("symptoms", "Since yesterday my stools are black again, like tar, sticky, you know, same as "
                        "before I came in. And when I stand up quick the room spins a bit.", "en")
    assert "melena" in (value or [])
    assert "red" in levels
