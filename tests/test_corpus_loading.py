"""Evaluation corpora with a fault are refused with a message that names the file and the item."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.answers import AnswersCorpusError, load_answer_corpus
from evaluation.followup import ScenarioError, load_scenarios


@pytest.mark.parametrize(("text", "says"), [
    ("a: 1\n", "YAML list"),
    ("- {id: x, language: zh}\n", "lacks"),
    ("- id: x\n  language: fr\n  patient: {}\n  discharge: ''\n  expect: {}\n", "language must be zh or en"),
    ("- [unclosed\n", "not valid YAML"),
])
def test_a_faulty_scenario_file_is_refused(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=says):
        load_scenarios(path)


def test_a_faulty_answers_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("- {id: o1, language: en, orders: x}\n", encoding="utf-8")
    with pytest.raises(AnswersCorpusError, match="lacks 'questions'"):
        load_answer_corpus(path)
    path.write_text("- {id: o1, language: en, orders: x, questions: [{id: q1, answered: true}]}\n", encoding="utf-8")
    with pytest.raises(AnswersCorpusError, match="needs must_contain"):
        load_answer_corpus(path)


def test_the_shipped_corpora_load() -> None:
    root = Path(__file__).resolve().parent.parent / "evaluation" / "data"
    assert all(load_scenarios(p) for p in sorted((root / "scenarios").glob("*.yaml")))
    assert all(load_answer_corpus(p) for p in sorted((root / "answers").glob("*.yaml")))
