"""Round 16 of issue #12: answers as a speech recogniser writes them (evaluation/data/understanding/train16-*.yaml) —
pauses written as spaces, run-on clauses, fillers, homophones and English mishearings."""

from __future__ import annotations

import pytest

from dialogs.understanding import normalize
from language.asr import fix_homophones
from tests.conftest import step_engine


def flags(field: str, text: str, lang: str, **context: object) -> set[str]:
    engine = step_engine((field,), lang, **context)
    engine.handle(text)
    return {f["level"] for f in engine.state.flags}


def collected(field: str, text: str, lang: str, **context: object) -> object:
    engine = step_engine((field,), lang, **context)
    engine.handle(text)
    return engine.state.collected.get(field)


def test_a_pause_between_chinese_words_is_a_comma_but_not_between_digits_or_english() -> None:
    assert normalize("喘不上气 坐着也喘") == "喘不上气，坐着也喘"
    assert normalize("量的是180 100") == "量的是180 100"
    assert normalize("my chest  hurts") == "my chest hurts"


@pytest.mark.parametrize("text, lang", [
    ("上不来气 上不来气 说两句话就喘 坐着都喘", "zh"),                   # a pause is a clause end: 都 is no denial
    ("嗯那个胸口 心口这块 不舒服 闷 坐着也闷 闷了一上午了", "zh"),       # the chest named, a pause, then 闷
    ("眼前发黑 一下子坐到地上了", "zh"),                                  # view black, then on the floor
    ("我也不知道晕了多久", "zh"),                                         # lost time
    ("心口隐隐的疼 一天到晚都这样", "zh"),                                # all day long
    ("喘得厉害 现在就喘", "zh"),                                          # breathless now, as we speak
    ("我爸光盯着我 也不说话", "zh"),                                      # staring, not speaking
    ("大变黑 拉了三回了", "zh"),                                          # 大便 written 大变
    ("I feinted on the stairs yesterday", "en"),                          # feint for faint
    ("he's got chess pains sitting in his chair", "en"),                  # chess for chest
    ("my stole has gone black", "en"),                                    # stole for stool
    ("honestly i don't wanna be here anymore", "en"),                     # wanna, anymore
    ("about the same but i did black out on friday", "en"),
])
def test_red_flag_as_a_recogniser_writes_it(text: str, lang: str) -> None:
    field = "overall_condition" if text.startswith("about the same") else "symptoms"
    assert "red" in flags(field, text, lang)


@pytest.mark.parametrize("text, lang", [
    ("想死你们了 哈哈 我身体挺好", "zh"),                                 # missing someone, no wish to die
    ("那个晕倒啊 是我们楼下的王大爷 不是我", "zh"),                       # whose it was, told after
    ("my hand goes numb sometimes when i wake up it goes after shaking it", "en"),   # intermittent, not sudden
    ("someone stole my purse at the market", "en"),                       # stole the verb stays a verb
])
def test_near_miss_as_a_recogniser_writes_it_raises_no_red(text: str, lang: str) -> None:
    assert "red" not in flags("symptoms", text, lang)


def test_an_hour_is_no_head() -> None:
    assert "headache" not in (collected("symptoms", "胸口痛 痛了半个多钟头了还在痛", "zh") or [])
    assert collected("symptoms", "头有点疼", "zh") == ["headache"]


def test_an_episode_that_passes_on_rest_is_reported_not_resolved() -> None:
    assert collected("symptoms", "走快了就气短 慢下来就好了", "zh") == ["dyspnea"]
    assert flags("symptoms", "干活累了胸口疼一下 歇一会儿就没了", "zh") == {"yellow"}


def test_no_strength_at_all_in_dialect_is_fatigue() -> None:
    assert "fatigue" in (collected("symptoms", "一点劲都冇", "zh") or [])


def test_a_class_word_before_a_named_drug_is_only_what_the_drug_is() -> None:
    from dialogs.context import Medication
    meds = tuple(Medication(item_id=i, name=n, generic_name=None, drug_class="antihypertensive")
                 for i, n in enumerate(("苯磺酸氨氯地平片", "缬沙坦胶囊"), 1))
    engine = step_engine(("medication_adherence",), "zh", medications=meds)
    engine.handle("降压药那个氨氯地平忘了吃了两天 缬沙坦一直吃着")
    assert engine.state.collected.get("missed_medications") == ["苯磺酸氨氯地平片"]


def test_the_english_table_leaves_chinese_and_ordinary_words_alone() -> None:
    assert fix_homophones("I'm gonna take them") == "I'm going to take them"
    assert fix_homophones("she plays chess on tuesdays") == "she plays chess on tuesdays"
    assert fix_homophones("我血压高") == "我血压高"


def test_palpitations_said_gone_in_a_clause_of_their_own_are_resolved() -> None:
    assert collected("symptoms", "前两天有点心慌 现在不慌了", "zh") == []
