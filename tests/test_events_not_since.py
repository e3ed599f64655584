"""A minor event since discharge (a nosebleed, bleeding gums) is cleared when the answer says it has not
come back since; an episode that stops each time is still happening, and a red-flag event is never cleared so."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from language.context import ContextRuleError, RULES_PATH, assess, load_rules


def present(text: str, lang: str) -> set[str]:
    return {m.code for m in assess(text, lang) if m.present}


@pytest.mark.parametrize(("text", "lang"), [
    ("回家第二天流了点鼻血，后来就没再流过", "zh"),
    ("Had a bit of a nosebleed on Saturday, stopped after five minutes, nothing since.", "en"),
])
def test_a_minor_event_not_come_back_since_is_cleared(text: str, lang: str) -> None:
    assert "bleeding" not in present(text, lang)


@pytest.mark.parametrize(("text", "lang", "code"), [
    ("刷牙的时候牙龈出血，过一会儿就止住了", "zh", "bleeding"),       # stops each time: still happening
    ("Gums bleed when I brush, it stops after a minute.", "en", "bleeding"),
    ("前天拉了一次黑便，后来就没有了", "zh", "melena"),              # a red-flag event stays
    ("I fainted in the kitchen on Monday, nothing since.", "en", "syncope"),
])
def test_an_episode_that_stops_each_time_or_a_red_flag_event_stays(text: str, lang: str, code: str) -> None:
    assert code in present(text, lang)


def test_not_since_only_names_events_that_persist(tmp_path: Path) -> None:
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    data["not_since"]["codes"] = ["bleeding", "chest_pain"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContextRuleError, match="chest_pain"):
        load_rules(path)
