"""Medication answers that also talk of other things: a miss word about something else ("missed the bus",
"couldn't get my words out") says nothing of the drugs, and "all taken" in English is taken."""

from __future__ import annotations

import pytest

from dialogs.understanding import normalize, parse_field

MEDS_EN = [{"name": "Atorvastatin 40 mg", "generic_name": "atorvastatin", "drug_class": "statin"},
           {"name": "Apixaban 5 mg", "generic_name": "apixaban", "drug_class": "anticoagulant"},
           {"name": "Bisoprolol 2.5 mg", "generic_name": "bisoprolol", "drug_class": "antihypertensive"}]


def adherence(text: str) -> dict | None:
    return parse_field("medication_adherence", normalize(text), "en", {"medications": MEDS_EN}).value


@pytest.mark.parametrize("text", [
    "Yes all taken. I couldn't get my words out for a bit yesterday.",
    "Yes all of them. Missed the bus to the chemist once but got there in the end.",
    "Yes. I forgot my glasses at the clinic though.",
    "All taken. I can't sleep though.",
    "All taken.",
    "I've taken everything.",
    "I've been good with them.",
    "Definitely, doing what I was told.",
])
def test_taken_with_other_things_said(text: str) -> None:
    assert adherence(text) == {"adherence": "full", "missed": []}


@pytest.mark.parametrize("text, missed", [
    ("I missed my morning dose twice.", None),
    ("Forgot the evening one on Sunday.", None),
    ("I missed the bisoprolol on Sunday.", ["Bisoprolol 2.5 mg"]),
    ("Couldn't get my repeat prescription so went without the apixaban for two days.", ["Apixaban 5 mg"]),
])
def test_a_miss_of_a_medicine_is_still_a_miss(text: str, missed: list[str] | None) -> None:
    got = adherence(text)
    assert got is not None and got["adherence"] == "partial"
    if missed is not None:
        assert got["missed"] == missed


def test_a_drug_never_started_is_missed_and_mostly_is_asked_again() -> None:
    got = adherence("I haven't started the cholesterol one, didn't like the sound of it.")
    assert got is not None and got["adherence"] == "partial"
    assert adherence("Mostly, yes.") is None


def test_a_relative_watching_every_pill_is_taken() -> None:
    meds = [{"name": "阿司匹林肠溶片", "generic_name": "阿司匹林", "drug_class": "antiplatelet"}]
    value = parse_field("medication_adherence", normalize("我妈吃药我盯着呢，一片不少"), "zh", {"medications": meds}).value
    assert value == {"adherence": "full", "missed": []}
