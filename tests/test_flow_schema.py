"""One flow schema and one navigation core for follow-up calls and pre-consultation chat."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialogs.flow_schema import (END, Condition, FlowError, Transition, check_texts, holds, next_index, parse_condition,
                                 runnable_index)
from dialogs.flows import FLOWS_DIR, FOLLOWUP_GRAMMAR, load_flows
from dialogs.preconsult import FLOW_PATH, PRECONSULT_GRAMMAR, PreconsultFlowError, load_preconsult_flow


@dataclass(frozen=True)
class _Step:
    id: str
    condition: Condition | None = None
    next: tuple[Transition, ...] = ()


def test_both_flow_kinds_share_one_condition_grammar_core() -> None:
    raw = {"any": [{"not": {"symptom": "fever"}}, {"field": "pain_score", "known": True}]}
    followup = parse_condition("x", raw, FOLLOWUP_GRAMMAR)
    assert followup == Condition("any", (Condition("not", Condition("symptom", "fever")),
                                         Condition("field", ("pain_score", "known", True))))
    chat = parse_condition("x", {"any": [{"not": {"symptom": "发热"}}, {"field": "age", "known": True}]}, PRECONSULT_GRAMMAR)
    assert chat.kind == "any" and chat.value[0].kind == "not" and chat.value[1] == Condition("field", ("age", True))


@pytest.mark.parametrize(("grammar", "raw", "message"), [
    (FOLLOWUP_GRAMMAR, {"child": True}, "unknown condition 'child'"),          # a chat leaf in a call flow
    (PRECONSULT_GRAMMAR, {"has": "medications"}, "unknown condition 'has'"),  # a call leaf in a chat flow
    (FOLLOWUP_GRAMMAR, {"eval": "__import__('os')"}, "unknown condition 'eval'"),
    (FOLLOWUP_GRAMMAR, {"any": []}, "non-empty list"),
    (FOLLOWUP_GRAMMAR, {"symptom": "fever", "colour": "red"}, "takes no"),
    (PRECONSULT_GRAMMAR, {"child": "yes"}, "true or false"),
    (FOLLOWUP_GRAMMAR, {"field": "shoe_size", "known": True}, "collectable field"),
])
def test_each_flow_kind_refuses_conditions_it_cannot_read(grammar, raw, message) -> None:  # noqa: ANN001
    with pytest.raises(FlowError, match=message):
        parse_condition("flow.yaml:step.if", raw, grammar)


@pytest.mark.parametrize(("raw", "message"), [
    ({"zh": "您好"}, "missing en translation"),
    ({"zh": "您好", "en": "   "}, "missing en translation"),
    ({"zh": "您好", "en": "Hello", "fr": "Bonjour"}, "unknown language"),
    ({"zh": "您好{hospital}", "en": "Hello"}, "differ in placeholder"),
    ({"zh": "您好{secret}", "en": "Hello"}, "unknown placeholder"),
    ("您好", "expected a mapping"),
])
def test_texts_need_both_languages_and_known_placeholders(raw, message) -> None:  # noqa: ANN001
    with pytest.raises(FlowError, match=message):
        check_texts("messages.yaml:greeting", raw, frozenset({"hospital"}))


def test_navigation_core_follows_next_and_skips_false_ifs() -> None:
    seen = {"fever"}
    leaf = lambda c: c.value in seen  # noqa: E731 - a leaf test over a toy state
    steps = [
        _Step("a", next=(Transition(Condition("symptom", "fever"), "c"), Transition(None, "b"))),
        _Step("b"),
        _Step("c", condition=Condition("symptom", "cough")),
        _Step("d", next=(Transition(None, END),)),
        _Step("e"),
    ]
    assert next_index(steps, 0, leaf) == 2               # fever → c
    assert runnable_index(steps, 2, leaf) == 3           # c's if is false → d
    assert next_index(steps, 3, leaf) == len(steps)      # END
    assert next_index(steps, 1, leaf) == 2               # no next → the following step
    seen.clear()
    assert next_index(steps, 0, leaf) == 1               # else → b
    assert holds(None, leaf) and not holds(Condition("all", (Condition("symptom", "x"),)), leaf)


def test_both_loaders_report_unknown_keys_the_same_way(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    general = flows / "general.yaml"
    general.write_text(general.read_text(encoding="utf-8").replace("  - use: symptoms\n", "  - use: symptoms\n    colour: red\n", 1),
                       encoding="utf-8")
    with pytest.raises(FlowError, match=r"unknown key\(s\) \['colour'\]; valid: .*collect"):
        load_flows(flows)
    chat = tmp_path / "preconsult.yaml"
    chat.write_text(FLOW_PATH.read_text(encoding="utf-8").replace("    collect: chief_complaint\n",
                                                                  "    collect: chief_complaint\n    colour: red\n", 1),
                    encoding="utf-8")
    with pytest.raises(PreconsultFlowError, match=r"unknown key\(s\) \['colour'\]; valid: .*collect"):
        load_preconsult_flow(chat)


def test_shipped_flows_of_both_kinds_load() -> None:
    assert load_flows().flows["general"].steps[0].collect == "identity_verified"
    assert load_preconsult_flow().steps[0].collect == "chief_complaint"
