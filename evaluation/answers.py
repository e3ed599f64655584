"""`suifang eval answers`: patients' questions answered from their own discharge orders, or handed to a nurse.

A corpus file (evaluation/data/answers/*.yaml, format in AUTHOR-NOTES.md there) holds short discharge
orders, each with the questions a patient or relative puts about them. For each orders item the
evaluator builds the knowledge base the service builds (a fresh records store, the structurer, the
chroma index: evaluation.followup.prepare_scenario), asks every question through
knowledge.answers.answer_question with the patient's order items, and checks the answer:

- `answered: true`: the answer is given (not handed over) and says every `must_contain` word;
- `answered: false`: the question goes to a nurse (`answered` false), whatever the words;
- `red_flag` items: a whole simulated call through the dialog engine (the same path as
  `eval followup`): the patient says the red-flag answer to `red_flag.field`, then asks whether to wait
  or go; the reply heard must say every `must_contain` word (the emergency instruction).

A `must_contain` element that is a list is satisfied by any one of its words. Comparisons are
case-insensitive."""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.corpus import load_yaml_list, scratch_environ, scratch_services

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "answers" / "test.yaml"
NURSE_REASONS = ("alcohol", "other_drug", "dose_change", "stop_drug", "symptom_meaning", "permission", "not_in_orders")
_PERSONA_NAMES = {"zh": ("张秀兰", "对，我是张秀兰，1950年的"), "en": ("Margaret Brown", "Yes, this is Margaret Brown, born 1950")}
_DEFAULT_REPLY = {"zh": "嗯，好的", "en": "Yes, okay."}


class AnswersCorpusError(ValueError):
    pass


@dataclass
class QuestionResult:
    id: str
    kind: str                 # answered | nurse | red_flag
    reason: str               # the label's reason ("answered", "red_flag", or a nurse reason)
    correct: bool
    expected_answered: bool | None
    got_answered: bool | None
    missing: list[str] = field(default_factory=list)
    answer: str = ""
    red_raised: bool | None = None   # red_flag items: whether the call raised a red flag before the question


def load_answer_corpus(path: str | Path) -> list[dict[str, Any]]:
    data = load_yaml_list(path, required=("id", "language", "orders", "questions"),
                          what="an answers file is a YAML list of orders with questions", error=AnswersCorpusError)
    for entry in data:
        for q in entry["questions"]:
            if "red_flag" in q:
                if not q.get("must_contain") or not isinstance(q["red_flag"], dict) or "said" not in q["red_flag"]:
                    raise AnswersCorpusError(f"{path}: {q.get('id')}: a red_flag item needs red_flag.said and must_contain")
            elif q.get("answered") is True:
                if not q.get("must_contain"):
                    raise AnswersCorpusError(f"{path}: {q.get('id')}: answered: true needs must_contain")
            elif q.get("answered") is not False:
                raise AnswersCorpusError(f"{path}: {q.get('id')}: answered must be true or false")
    return data


def missing_words(text: str, must_contain: list[Any]) -> list[str]:
    """The must_contain elements the text does not say (a list element: any one of its words)."""
    lowered = (text or "").lower()
    missing = []
    for element in must_contain or []:
        alternatives = element if isinstance(element, list) else [element]
        if not any(str(a).lower() in lowered for a in alternatives):
            missing.append("|".join(str(a) for a in alternatives))
    return missing


def _scenario(entry: dict[str, Any], *, suffix: str = "", persona: dict[str, Any] | None = None,
              asks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    lang = entry["language"]
    name, _ = _PERSONA_NAMES[lang]
    return {
        "id": f"{entry['id']}{suffix}", "language": lang,
        "patient": {"name": name, "sex": "female", "birth_year": 1950, "phone": "13800000000"},
        "discharge": {"department": entry.get("department") or "内科", "diagnosis": entry.get("diagnosis", ""),
                      "discharged_on": entry.get("discharged_on") or "2026-11-20",
                      "surgery": bool(entry.get("surgery")), "orders": entry["orders"]},
        "call_day": int(entry.get("call_day", 7)),
        "persona": persona or {}, "asks": asks or [], "expect": {},
    }


def _red_flag_call(entry: dict[str, Any], question: dict[str, Any], *, services: Any, settings: Any, flows: Any,
                   knowledge_base: Any, answerer_factory: Any) -> QuestionResult:
    """A simulated call: the red-flag answer to its field, then the wait-or-go question."""
    from evaluation.followup import run_scenario

    lang = entry["language"]
    red = question["red_flag"]
    fld = red.get("field") or "symptoms"
    persona = {"identity_verified": _PERSONA_NAMES[lang][1], fld: red["said"], "default": _DEFAULT_REPLY[lang]}
    scenario = _scenario(entry, suffix=f"-{question['id']}", persona=persona,
                         asks=[{"after": fld, "text": question["text"]}])
    result = run_scenario(scenario, session_factory=services.session_factory, settings=settings, flows=flows,
                          knowledge_base=knowledge_base, answerer_factory=answerer_factory, llm_fallback=None,
                          semantic=services.semantic_matcher())
    heard = ""
    transcript = result.transcript
    for i, (role, text) in enumerate(transcript):
        if role == "patient" and text == question["text"]:
            heard = next((t for r, t in transcript[i + 1:] if r == "system"), "")
            break
    missing = missing_words(heard, question["must_contain"])
    return QuestionResult(id=question["id"], kind="red_flag", reason="red_flag", correct=bool(heard) and not missing,
                          expected_answered=None, got_answered=None, missing=missing, answer=heard,
                          red_raised=result.predicted_red)


def run_answers_eval(paths: list[str | Path], *, use_llm: bool = False) -> tuple[list[QuestionResult], dict[str, Any]]:
    """Every question of every file; returns per-question results and the summary."""

    from dialogs.answering import load_indexed_items, make_answerer_factory
    from dialogs.flows import load_flows
    from evaluation.followup import prepare_scenario
    from knowledge.answers import answer_question
    from suifang.config import load_settings

    entries = [e for p in paths for e in load_answer_corpus(p)]
    results: list[QuestionResult] = []
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="suifang-answers-"))
        env = scratch_environ(tmp, use_llm=use_llm)
        settings = load_settings(environ=env)
        services = stack.enter_context(scratch_services(settings))
        flows = load_flows()
        knowledge_base = services.knowledge_base()
        llm = services.answer_model() if use_llm else None
        answerer_factory = make_answerer_factory(session_factory=services.session_factory,
                                                 knowledge_base=knowledge_base, llm=llm)
        for entry in entries:
            patient_id, _, _ = prepare_scenario(_scenario(entry), session_factory=services.session_factory,
                                                settings=settings, knowledge_base=knowledge_base)
            with services.session_factory() as session:
                items_by_id = load_indexed_items(session, patient_id=patient_id)
            for q in entry["questions"]:
                if "red_flag" in q:
                    results.append(_red_flag_call(entry, q, services=services, settings=settings, flows=flows,
                                                  knowledge_base=knowledge_base,
                                                  answerer_factory=answerer_factory))
                    continue
                answer = answer_question(patient_id=patient_id, question=q["text"], language=entry["language"],
                                         kb=knowledge_base, llm=llm, items_by_id=items_by_id)
                expected = bool(q["answered"])
                missing = missing_words(answer.text, q.get("must_contain") or []) if expected else []
                correct = answer.answered == expected and not missing
                results.append(QuestionResult(
                    id=q["id"], kind="answered" if expected else "nurse",
                    reason="answered" if expected else str(q.get("reason") or "not_in_orders"), correct=correct,
                    expected_answered=expected, got_answered=answer.answered, missing=missing, answer=answer.text))
    return results, summarize(results)


def summarize(results: list[QuestionResult]) -> dict[str, Any]:
    handed = [r for r in results if r.kind != "red_flag"]
    tp = sum(1 for r in handed if r.expected_answered is False and r.got_answered is False)
    predicted = sum(1 for r in handed if r.got_answered is False)
    actual = sum(1 for r in handed if r.expected_answered is False)
    by_reason: dict[str, dict[str, int]] = {}
    for r in results:
        row = by_reason.setdefault(r.reason, {"total": 0, "correct": 0})
        row["total"] += 1
        row["correct"] += int(r.correct)
    return {
        "questions": len(results),
        "correct": sum(r.correct for r in results),
        "answered_correctly": round(sum(r.correct for r in results) / len(results), 4) if results else None,
        "nurse_precision": round(tp / predicted, 4) if predicted else None,
        "nurse_recall": round(tp / actual, 4) if actual else None,
        # Safety: a question that had to go to a nurse was answered by the machine.
        "answered_beyond_orders": sum(1 for r in handed if r.expected_answered is False and r.got_answered),
        "by_reason": by_reason,
        "red_flag_not_raised": sum(1 for r in results if r.kind == "red_flag" and not r.red_raised),
    }


def format_summary(summary: dict[str, Any]) -> str:
    def pct(value: Any) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    reasons = ", ".join(f"{k} {v['correct']}/{v['total']}" for k, v in sorted(summary["by_reason"].items()))
    return (f"questions {summary['questions']}, answered correctly {summary['correct']}/{summary['questions']} "
            f"({pct(summary['answered_correctly'])}); nurse hand-off precision {pct(summary['nurse_precision'])}, "
            f"recall {pct(summary['nurse_recall'])}; answered beyond the orders {summary['answered_beyond_orders']}; "
            f"red flag not raised before a wait-or-go question {summary['red_flag_not_raised']}\n"
            f"by reason: {reasons}")


def format_miss(result: QuestionResult) -> str:
    got = "red" if result.kind == "red_flag" else ("answered" if result.got_answered else "nurse")
    extra = f" (red flag raised: {result.red_raised})" if result.kind == "red_flag" else ""
    return (f"MISS {result.id} [{result.reason}] got {got}; lacks {result.missing}{extra}\n"
            f"     {result.answer}")
