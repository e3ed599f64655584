"""A long-standing complaint said to be worse now is a finding again; one said to be no worse, or better,
stays history."""

from __future__ import annotations

import pytest

from language.context import assess


def status(text: str, lang: str) -> dict[str, str]:
    return {m.code: m.status for m in assess(text, lang)}


@pytest.mark.parametrize(("text", "lang", "code"), [
    ("胸闷是老毛病了，最近加重了", "zh", "chest_tightness"),
    ("腿肿是老毛病，这几天比以前肿得厉害", "zh", "edema"),
    ("头晕是老毛病了，这个礼拜越来越厉害", "zh", "dizziness"),
])
def test_an_old_complaint_worse_now_is_present(text: str, lang: str, code: str) -> None:
    assert status(text, lang).get(code) == "present"


@pytest.mark.parametrize(("text", "lang", "code"), [
    ("胸闷是老毛病了，也没加重", "zh", "chest_tightness"),
    ("腿肿是老毛病了，跟以前差不多", "zh", "edema"),
    ("以前就胸闷，现在好多了", "zh", "chest_tightness"),
    ("爬楼有点喘，歇歇就好，跟以前一样", "zh", "dyspnea"),
    ("腿有点肿，跟平时差不多", "zh", "edema"),
])
def test_an_old_complaint_no_worse_stays_history(text: str, lang: str, code: str) -> None:
    assert status(text, lang).get(code) == "historical"
