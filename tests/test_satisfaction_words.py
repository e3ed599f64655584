"""Satisfaction in everyday words, and the verdict on the care keeps no mild symptom in passing."""

from __future__ import annotations

import pytest

from tests.conftest import step_engine


def rate(text: str, lang: str) -> tuple[object, set[str]]:
    engine = step_engine(("satisfaction",), lang)
    engine.handle(text)
    return engine.state.collected.get("satisfaction"), {f["code"] for f in engine.state.flags}


@pytest.mark.parametrize("text, lang, score", [
    ("没啥意见", "zh", 4), ("你们挺负责的，谢谢啊", "zh", 4), ("说实话不咋地", "zh", 2), ("挑不出毛病", "zh", 5),
    ("Couldn't fault them.", "en", 5), ("The nurses were angels.", "en", 5), ("No complaints.", "en", 4),
    ("Not bad at all.", "en", 4), ("Not bad.", "en", 3), ("Bad, really bad.", "en", 2),
])
def test_satisfaction_words(text: str, lang: str, score: int) -> None:
    assert rate(text, lang)[0] == score


def test_the_care_judged_is_no_symptom_but_a_red_one_in_passing_is_kept() -> None:
    score, codes = rate("不满意，医生都不怎么理人", "zh")
    assert score == 2 and not any(c.startswith("symptom_") for c in codes)
    assert "symptom_syncope" in rate("挺满意，就是这两天又晕倒了一次", "zh")[1]
