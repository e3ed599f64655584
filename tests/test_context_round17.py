"""What is left of a complaint that eased, told right after it (context_rules.yaml `residual_of_improving`):
the easing complaint, not a new or worse one — unless it is an event that persists or is said to be worse."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from language.context import RULES_PATH, ContextRuleError, load_rules
from language.symptoms import parse_symptoms


def present(text: str, lang: str) -> list[str]:
    return parse_symptoms(text, lang).value["present"]


@pytest.mark.parametrize(("text", "lang", "code"), [
    ("咳嗽好多了，就早上起来咳两声", "zh", "cough"),
    ("头晕好多了，就是起床的时候还晕一下", "zh", "dizziness"),
    ("The cough is loads better, just a little cough first thing", "en", "cough"),
])
def test_what_is_left_of_an_eased_complaint_is_no_finding(text: str, lang: str, code: str) -> None:
    assert code not in present(text, lang)


@pytest.mark.parametrize(("text", "lang", "code"), [
    ("咳血好多了，就早上还咳两口血", "zh", "hemoptysis"),          # an event that persists stays red
    ("咳嗽好多了，就是昨天又咳得厉害了", "zh", "cough"),            # worse again
    ("腿肿好多了，就是胸口疼", "zh", "chest_pain"),                # another complaint
    ("咳嗽好多了，晚上咳得睡不着", "zh", "cough"),                 # no word of "only what is left"
    ("The cough is loads better, but I'm coughing up blood", "en", "hemoptysis"),
])
def test_a_new_worse_or_persisting_complaint_after_an_easing_one_stays(text: str, lang: str, code: str) -> None:
    assert code in present(text, lang)


def test_residual_rows_must_name_easing_triggers(tmp_path: Path) -> None:
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    data["residual_of_improving"]["triggers"].append("zh-no-such-row")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContextRuleError, match="zh-no-such-row"):
        load_rules(path)
