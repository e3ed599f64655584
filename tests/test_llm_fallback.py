"""The language model as a last resort for answers the rules cannot settle (dialogs/llm_fallback.py):
whatever it says is validated before it is stored. A reading of the patient's medicines must agree
with the answer's own words: a miss needs words of a miss, full adherence needs none — otherwise the
answer stays unclear (asked again, then a nurse), never a guess. The model is scripted here."""

from __future__ import annotations

import json

import pytest

from dialogs.llm_fallback import make_llm_fallback, validate_llm_value
from language.adherence import says_missed

DRUGS = {"medications": [{"name": "阿司匹林肠溶片"}, {"name": "氯吡格雷片"}]}


class ScriptedModel:
    def __init__(self, value: object) -> None:
        self.value = value
        self.asked = 0

    def generate(self, messages: list[dict], *, max_tokens: int | None = None, json_mode: bool = False,
                 timeout_s: float | None = None) -> str:
        self.asked += 1
        return json.dumps({"value": self.value})


@pytest.mark.parametrize(("text", "missed"), [
    ("药都按时给他吃的", False), ("阿司匹林前天忘了吃一次", True), ("药都按直给他吃的", None),
    ("I ran out of the water pills on Sunday", True), ("Sorry, which ones do you mean?", None), ("I take them all", False),
])
def test_words_of_taking_or_missing(text: str, missed: bool | None) -> None:
    assert says_missed(text) is missed


def test_a_miss_the_answer_does_not_say_is_not_stored() -> None:
    """A misheard "按时" (按直): the model's "none" would record every drug as missed and raise a flag."""
    assert validate_llm_value("medication_adherence", "none", "药都按直给他吃的。", DRUGS) is None
    assert validate_llm_value("medication_adherence", "partial", "氯吡格雷片按直吃的", DRUGS) is None


def test_a_miss_in_the_words_is_kept() -> None:
    assert validate_llm_value("medication_adherence", "none", "这几天药都停了", DRUGS) == \
        {"adherence": "none", "missed": ["阿司匹林肠溶片", "氯吡格雷片"]}
    assert validate_llm_value("medication_adherence", "partial", "氯吡格雷片漏了两回", DRUGS) == \
        {"adherence": "partial", "missed": ["氯吡格雷片"]}


def test_full_adherence_against_words_of_a_miss_is_not_stored() -> None:
    assert validate_llm_value("medication_adherence", "full", "阿司匹林停了，别的都吃着", DRUGS) is None
    assert validate_llm_value("medication_adherence", "full", "都按时吃了", DRUGS) == {"adherence": "full", "missed": []}


def test_the_fallback_validates_what_the_model_says() -> None:
    fallback = make_llm_fallback(ScriptedModel("none"))
    assert fallback("medication_adherence", "药都按直给他吃的。", "zh", DRUGS) is None
    fallback = make_llm_fallback(ScriptedModel("worse"))
    assert fallback("overall_condition", "不如前几天", "zh", {}) == "worse"
    model = ScriptedModel("not a value")
    assert make_llm_fallback(model)("overall_condition", "嗯", "zh", {}) is None and model.asked == 1
