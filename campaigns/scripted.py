"""Scripted callees for the loopback phone network: a patient who answers each question from a persona
(a scenario of ../shared/spec/scenario-format.md — answers keyed by the outcome field asked), puts
questions after the field they follow, and goes silent or hangs up when the scenario says so.

Used by the loopback telephony (load runs of campaigns) and by `suifang eval`; it reads a scenario's
patient and persona only, never the expected outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ScriptedCallee:
    """Answers with persona[expecting] (or the default); puts the scenario's questions after the
    field they follow; honours silence_on / hangup_after events."""

    def __init__(self, scenario: dict[str, Any]) -> None:
        self.persona = scenario.get("persona") or {}
        self.asks = list(scenario.get("asks") or [])
        events = scenario.get("events") or {}
        if isinstance(events, list):
            merged: dict[str, Any] = {}
            for event in events:
                if isinstance(event, dict):
                    merged.update(event)
            events = merged
        self.events = events
        self.pending_questions: list[dict[str, Any]] = []
        self.asked_questions: list[dict[str, Any]] = []
        self.hang_up_next = False

    @property
    def unreachable(self) -> bool:
        return bool(self.events.get("no_answer"))

    def respond(self, expecting: str | None) -> tuple[str, Any]:
        """('say', text) | ('silence', None) | ('hangup', None) | ('ask', ask)"""
        if self.hang_up_next:
            return "hangup", None
        if self.pending_questions:
            ask = self.pending_questions.pop(0)
            self.asked_questions.append(ask)
            return "ask", ask
        if expecting and self.events.get("silence_on") == expecting:
            return "silence", None
        answer = self.persona.get(expecting) if expecting else None
        if answer is None:
            answer = self.persona.get("default")
        if answer is None:
            return "silence", None
        if expecting:
            self.pending_questions.extend(a for a in self.asks if a.get("after") == expecting
                                          and a not in self.asked_questions and a not in self.pending_questions)
            if self.events.get("hangup_after") == expecting:
                self.hang_up_next = True
        return "say", str(answer)



def load_callees(path: str | Path) -> dict[str, dict[str, Any]]:
    """Scenarios by the patient's phone number, from a scenario file (YAML list)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: a scenario file is a YAML list of scenarios")
    return {str(s["patient"].get("phone")): s for s in data if isinstance(s, dict) and s.get("patient")}
