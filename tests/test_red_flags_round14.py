"""Round 14 of issue #12: red flags in a new author's words (evaluation/data/understanding/train14-*.yaml) —
raised red through the engine; the near misses of the same kind raise none."""

from __future__ import annotations

import pytest

from language.lexicon import match_symptoms
from tests.conftest import step_engine


def flags(field: str, text: str, lang: str, **context: object) -> set[str]:
    engine = step_engine((field,), lang, **context)
    engine.handle(text)
    return {f["level"] for f in engine.state.flags}


def collected(field: str, text: str, lang: str, **context: object) -> object:
    engine = step_engine((field,), lang, **context)
    engine.handle(text)
    return engine.state.collected.get(field)


@pytest.mark.parametrize("text, lang", [
    ("前心后背都疼，疼了一个多钟头", "zh"),                         # 前心 is the chest
    ("这几天便池里黑乎乎的", "zh"),                                  # the toilet bowl black
    ("解大手全是血", "zh"),
    ("说话的时候舌头发僵，转不过弯来", "zh"),                        # a stiff tongue
    ("活着就是受罪，死了倒清净", "zh"),                              # read across 就是; death as a relief
    ("不想治了，早点解脱算了", "zh"),
    ("这两天老说些前言不搭后语的话", "zh"),                          # 说些…的话 is no condition
    ("I've had thoughts of killing myself.", "en"),
    ("He keeps thinking about jumping off the bridge.", "en"),
    ("I did faint on the bus on Tuesday.", "en"),
    ("I was sick after lunch, though, and there was blood in it.", "en"),
    ("My chest feels tight and it's been like that since this morning.", "en"),   # since a part of the day
    ("Had a pain in my chest sat on the couch.", "en"),                            # sat on the couch
    ("The chest pain lasted ages.", "en"),
    ("The pain in my chest is not going, I am only resting.", "en"),
    ("The chest pain won't go even with the spray.", "en"),
    ("I'm breathless lying on the sofa.", "en"),
])
def test_red_flag_in_a_new_authors_words(text: str, lang: str) -> None:
    assert "red" in flags("symptoms", text, lang)


def test_an_unlabelled_reading_in_the_hundreds_said_in_passing_is_a_blood_pressure() -> None:
    meds = ("苯磺酸氨氯地平片", "缬沙坦胶囊")
    from dialogs.context import Medication
    medications = tuple(Medication(item_id=i, name=n, generic_name=None, drug_class=None) for i, n in enumerate(meds, 1))
    assert "red" in flags("medication_adherence", "药都吃了。昨天头胀，量了一百九十五", "zh", medications=medications)


@pytest.mark.parametrize("field, text, lang, context", [
    ("symptoms", "My brother fainted at the wedding, but I'm right as rain.", "en", {}),
    ("symptoms", "楼下有个大爷晕倒了，救护车都来了，我可没事", "zh", {}),
    ("symptoms", "手有点麻，慢慢的，不是突然的", "zh", {}),                      # 不是突然 is no sudden
    ("symptoms", "I'm muddled first thing in the morning, always have been.", "en", {}),
    ("wound", "伤口渗了点黄水，没有脓", "zh", {"post_surgery": True}),            # pus denied
    ("wound", "A bit of clear fluid, no pus at all.", "en", {"post_surgery": True}),
])
def test_near_miss_raises_no_red(field: str, text: str, lang: str, context: dict[str, object]) -> None:
    assert "red" not in flags(field, text, lang, **context)


def test_a_downstairs_faint_of_ones_own_stays_red() -> None:
    assert "red" in flags("symptoms", "我在楼下晕倒了，邻居扶我起来的", "zh")


def test_nothing_before_a_symptom_word_denies_it_but_not_after_a_verb() -> None:
    assert collected("symptoms", "Been sick twice, nothing dark or bloody.", "en") == ["nausea_vomiting"]
    assert "bleeding" in (collected("symptoms", "Nothing stops the bleeding, it's been going an hour.", "en") or [])


def test_a_window_word_needs_its_own_word_start() -> None:
    assert not any(code == "chest_tightness" for code, _, _ in match_symptoms("my husband's the one with the chest", "en"))


def test_a_muddled_head_is_no_hedge_on_the_condition() -> None:
    assert collected("overall_condition", "比出院时差，脑子不清楚了", "zh") == "worse"


def test_medicines_given_up_as_the_topic_are_none_taken() -> None:
    from dialogs.context import Medication
    medications = tuple(Medication(item_id=i, name=n, generic_name=None, drug_class=None)
                        for i, n in enumerate(("苯磺酸氨氯地平片", "缬沙坦胶囊"), 1))
    assert collected("medication_adherence", "药？我不吃了，吃了也白吃", "zh", medications=medications) == "none"


def test_worrying_it_will_come_is_a_worry_but_a_worrying_pain_is_a_pain() -> None:
    assert flags("symptoms", "I keep worrying I'll get that chest pain again, touch wood nothing yet.", "en") == set()
    assert "red" in flags("symptoms", "I've had some worrying chest pain since lunch.", "en")
