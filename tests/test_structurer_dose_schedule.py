"""Discharge prescriptions in the Indian style: the dose schedule morning-noon-night ("1-0-1"), SOS for as
needed, and common Indian brands mapped to their generic (Telma, Ecosprin, Glycomet, Atorva…)."""

from __future__ import annotations

import pytest

from knowledge.structurer import structure_orders


def med(line: str):  # noqa: ANN201
    items = [i for i in structure_orders(line, language="en").items if i.kind == "medication"]
    assert len(items) == 1, items
    return items[0]


@pytest.mark.parametrize("line, generic, frequency", [
    ("Tab. Metformin 500 mg 1-0-1 after food x 30 days", "metformin", "bid"),
    ("Tab. Telma 40 mg 1-0-0", "telmisartan", "qd"),
    ("Tab. Atorva 20 mg 0-0-1 HS", "atorvastatin", "qn"),
    ("Tab. Glycomet 500 mg 1-1-1", "metformin", "tid"),
    ("Tab. Ecosprin 75 mg 0-1-0 A/F", "aspirin", "qd"),
    ("Metoprolol 25 mg 1/2-0-1/2", "metoprolol", "bid"),
    ("Tab. Paracetamol 650 mg SOS for fever", "acetaminophen", "prn"),
])
def test_dose_schedule_and_brand(line: str, generic: str, frequency: str) -> None:
    item = med(line)
    assert item.generic_name == generic and item.frequency == frequency


def test_a_date_is_no_dose_schedule() -> None:
    assert med("Warfarin 3 mg once daily from 1-1-2027").frequency == "qd"   # a date (d-m-y) is no 1-1-2 schedule


@pytest.mark.parametrize("line, generic", [
    ("Tab. Dolo 650 SOS", "acetaminophen"),                  # a strength without its unit
    ("Tab. Telma 40 (Telmisartan) 1-0-0", "telmisartan"),
    ("Cap. Omez 20 BD x 5 days", "omeprazole"),
])
def test_an_indian_brand_with_a_bare_strength_is_a_medication(line: str, generic: str) -> None:
    assert med(line).generic_name == generic


@pytest.mark.parametrize("line, name, generic, dose", [
    ("Lipitor 20 mg (atorvastatin) once daily", "Lipitor", "atorvastatin", 20.0),
    ("Xtandi 160 mg (enzalutamide) once daily", "Xtandi", "enzalutamide", 160.0),
    ("波立维 75mg（硫酸氢氯吡格雷片）每日一次", "波立维", "氯吡格雷", 75.0),
])
def test_a_brand_with_its_generic_in_brackets_after_the_strength(line: str, name: str, generic: str, dose: float) -> None:
    item = [i for i in structure_orders(line).items if i.kind == "medication"]
    assert len(item) == 1
    assert (item[0].name, item[0].generic_name, item[0].dose, item[0].frequency) == (name, generic, dose, "qd")
