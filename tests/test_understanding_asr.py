"""Answers as speech recognition delivers them over the phone: question marks and first words lost,
verbs misheard. The parsers must still tell a question from an answer and name the missed drug."""

from __future__ import annotations

import pytest

from dialogs.understanding import _blood_pressure, _medication_adherence, parse_is_question
from models.asr import ZH_PROMPT, decoding_prompt

PCI = {"medications": [{"name": "阿司匹林肠溶片"}, {"name": "替格瑞洛片"}, {"name": "阿托伐他汀钙片"}]}


@pytest.mark.parametrize(("text", "lang", "asked"), [
    ("So I take the water bill in the morning, or at night.", "en", True),   # "Should" and "?" lost
    ("Should I take it before meals or after meals", "en", True),
    ("I take it in the morning.", "en", False),
    ("I take all of them every day.", "en", False),
])
def test_a_choice_about_taking_a_drug_is_a_question(text: str, lang: str, asked: bool) -> None:
    assert parse_is_question(text, lang) is asked


@pytest.mark.parametrize(("text", "lang", "asked"), [
    ("没有呢?", "zh", False),      # a rising "no" to "anything else to ask?", written with a question mark
    ("没有了？", "zh", False),
    ("No?", "en", False),
    ("是不是?", "zh", True),       # A-not-A asks, however short
    ("有没有？", "zh", True),
    ("能吃吗?", "zh", True),
    ("真的?", "zh", True),
    ("Do I have to?", "en", True),
])
def test_a_bare_yes_or_no_with_a_question_mark_is_an_answer(text: str, lang: str, asked: bool) -> None:
    assert parse_is_question(text, lang) is asked


@pytest.mark.parametrize(("text", "adherence", "missed"), [
    ("都按时吃，就是阿托伐他汀有两天忘了", "partial", ["阿托伐他汀钙片"]),
    ("都按时吃？就是阿托伐他汀有两天望门。", "partial", ["阿托伐他汀钙片"]),     # 忘了 misheard
    ("都按时吃，就是阿托伐他汀吃了以后肌肉有点疼", "full", []),                  # a side effect, not a miss
    ("都按时吃了", "full", []),
])
def test_an_exception_naming_a_drug_is_a_miss(text: str, adherence: str, missed: list[str]) -> None:
    assert _medication_adherence(text, "zh", PCI).value == {"adherence": adherence, "missed": missed}


def test_the_recognition_prompt_keeps_the_chinese_cue_and_the_latest_context() -> None:
    assert decoding_prompt("zh", None) == ZH_PROMPT
    assert decoding_prompt("en", "") is None
    long = "阿司匹林、" * 100 + "请问您是王建国本人吗？"
    prompt = decoding_prompt("zh", long)
    assert prompt.startswith(ZH_PROMPT) and prompt.endswith("请问您是王建国本人吗？")
    assert len(prompt) <= len(ZH_PROMPT) + 160


@pytest.mark.parametrize(("text", "reading"), [
    ("早上量的14590", (145, 90)),          # "一百四十五，九十" written as one number
    ("12080", (120, 80)),
    ("150100", (150, 100)),
    ("一百四十五，九十", (145, 90)),
    ("145", (145, None)),
])
def test_a_run_together_reading_splits_only_one_way(text: str, reading: tuple) -> None:
    value = _blood_pressure(text).value
    assert (value["systolic"], value["diastolic"]) == reading


@pytest.mark.parametrize("text", ["1459", "2026", "99999"])
def test_a_number_that_is_no_reading_stays_unparsed(text: str) -> None:
    assert _blood_pressure(text).value is None


@pytest.mark.parametrize(("window_s", "duration_s", "frames"), [
    (15, 3.0, 1500),    # a phone answer: the short window
    (15, 14.0, 1500),
    (15, 14.5, 3000),   # no second to spare: Whisper's own 30 s
    (30, 3.0, 3000),    # configured off
])
def test_the_encoder_window_fits_the_clip(window_s: float, duration_s: float, frames: int) -> None:
    """Whisper's encoder gets a short window only when the clip fits it. test_voice_models checks the
    short window hears the same words but cannot tell whether it was used; this checks that it is."""
    import faster_whisper.transcribe as fw
    import numpy as np

    from models.asr import _encoder_window

    with _encoder_window(window_s, duration_s):
        assert fw.pad_or_trim(np.zeros((80, 10), np.float32)).shape == (80, frames)
    assert fw.pad_or_trim(np.zeros((80, 10), np.float32)).shape == (80, 3000)  # back to normal after


@pytest.mark.parametrize("heard, temperature", [
    ("三十八度吧", 38.8),                 # Whisper's 吧 for the tenths digit 八
    ("昨天晚上量的三十七度吧，今天好了", 37.8),
    ("大概三十八度吧", 38.0),             # hedged: 吧 is a hedge
    ("三十八度左右吧", 38.0),
    ("三十八度八", 38.8),
])
def test_a_temperatures_tenths_written_as_ba_is_read_as_eight_unless_hedged(heard: str, temperature: float) -> None:
    from dialogs.understanding import parse_field
    from language.asr import repair_readings

    assert parse_field("temperature", repair_readings(heard, "zh"), "zh", {}).value == temperature


@pytest.mark.parametrize("text", ["一百三十八度吧", "十三度吧", "好吧", "三十六七度吧", "三十七八度吧", "三十八度吧"])
def test_ba_after_anything_but_a_body_temperature_is_left_alone(text: str) -> None:
    from language.asr import repair_readings

    assert (repair_readings(text, "zh") == text) == (text != "三十八度吧")


@pytest.mark.parametrize("heard, glucose", [
    ("空腹血糖有点二。", 9.2),          # Whisper's 有 for 九 before 点
    ("血糖有点高，九点二", 9.2),        # "有点高" is Chinese: left alone
    ("血糖有点儿高", None),
])
def test_you_dian_before_a_lone_digit_is_nine_point(heard: str, glucose: float | None) -> None:
    from dialogs.understanding import parse_field
    from language.asr import repair_readings

    assert parse_field("blood_glucose", repair_readings(heard, "zh"), "zh", {}).value == glucose
