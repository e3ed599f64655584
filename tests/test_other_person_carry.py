"""Someone else's complaint goes on past a comma: when the speaker also says how they are themselves, a
clause with no subject of its own (Chinese) or a bare list (English) right after another person's complaint
is still theirs. Without that contrast, or in a clause that says 我 / I, the symptom stays the patient's."""

from __future__ import annotations

import pytest

from language.context import assess


def present(text: str, lang: str) -> set[str]:
    return {m.code for m in assess(text, lang) if m.present}


@pytest.mark.parametrize(("text", "lang"), [
    ("我没啥事，倒是我老伴这几天咳嗽，咳得整宿睡不着", "zh"),
    ("我家老头子咳嗽好几天了，咳得饭都吃不下，我自己好好的", "zh"),
    ("My wife's got a cough, fever and all, but I am fine.", "en"),
])
def test_the_other_persons_complaint_carries_on_when_the_speaker_says_how_they_are(text: str, lang: str) -> None:
    assert present(text, lang) == set()


@pytest.mark.parametrize(("text", "lang", "codes"), [
    # no word of the speaker about themselves: whose it is stays open, so it is kept
    ("我老伴这几天咳嗽，咳得整宿睡不着", "zh", {"cough"}),
    # the clause says 我 / I: the speaker's own
    ("我老伴感冒了，我没事，就是我这两天头疼", "zh", {"headache"}),
    ("My wife's had a cold, I'm fine otherwise, but I've had a headache since Tuesday.", "en", {"headache"}),
    # the clause before tells no complaint of the other person: the pain may well be the patient's own
    ("俺闺女来了，晚上胸口疼得睡不着，我倒没事", "zh", {"chest_pain", "insomnia"}),
])
def test_a_clause_of_the_speakers_own_or_no_contrast_keeps_the_symptom(text: str, lang: str, codes: set[str]) -> None:
    assert present(text, lang) == codes
