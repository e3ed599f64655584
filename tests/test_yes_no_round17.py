"""Agreeing and nothing else ("嗯，好的", "Okay.") to whether the revisit was booked or the re-exam done is
heard, not answered: it is asked again, never stored as yes (language/data/yes_no_fields.yaml, hedged)."""

from __future__ import annotations

import pytest

from dialogs.understanding import parse_field


@pytest.mark.parametrize("field", ["revisit_booked", "reexam_done"])
@pytest.mark.parametrize(("text", "lang"), [("嗯，好的", "zh"), ("好的", "zh"), ("行，谢谢", "zh"), ("Okay.", "en"),
                                            ("Alright then, thanks.", "en")])
def test_agreeing_only_is_asked_again(field: str, text: str, lang: str) -> None:
    assert parse_field(field, text, lang).value is None


@pytest.mark.parametrize("field", ["revisit_booked", "reexam_done"])
@pytest.mark.parametrize(("text", "lang", "value"), [("对", "zh", "yes"), ("是的", "zh", "yes"), ("好的，挂了", "zh", "yes"),
                                                     ("Yes.", "en", "yes"), ("Okay, not yet.", "en", "no")])
def test_a_yes_or_no_said_still_counts(field: str, text: str, lang: str, value: str) -> None:
    assert parse_field(field, text, lang).value == value
