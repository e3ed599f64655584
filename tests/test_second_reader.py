"""The second reader: the model's additions after a call are validated by the patient's words and the
rules, never remove anything, and the stored outcome shows them as the model's."""

from __future__ import annotations

import json

from dialogs.second_reader import SecondReading, merge, validate
from dialogs.clinical_rules import default_rules

T = default_rules()


def _read(symptoms, turns, lang="zh", callback=None, outcome=None):
    raw = json.dumps({"symptoms": symptoms, "callback": callback}, ensure_ascii=False)
    return validate(raw, patient_turns=turns, language=lang, outcome=outcome or {"symptoms": []}, rules=T)


def test_a_symptom_quoted_from_the_patient_is_added_with_the_rules_level() -> None:
    reading = _read([{"code": "syncope", "quote": "一下子就倒地上了"}], ["还行吧，前天早上起来一下子就倒地上了，过了一会儿才起来"])
    assert reading.symptoms == ("syncope",)
    assert [(f["level"], f["source"]) for f in reading.flags] == [("red", "model")]
    assert reading.flags[0]["evidence"] == "一下子就倒地上了"


def test_a_code_the_quoted_words_name_otherwise_is_rejected() -> None:
    # Seen from the packaged model: chest pain "quoted" as swollen feet.
    turns = ["脚有点肿，别的没啥。"]
    reading = _read([{"code": "chest_pain", "quote": "脚有点肿"}], turns)
    assert reading.empty and reading.rejected == ("chest_pain: the words name edema",)
    assert _read([{"code": "edema", "quote": "脚有点肿"}], turns).symptoms == ("edema",)
    # Words the lexicon cannot read stay the model's to add (the rules' level still applies).
    assert _read([{"code": "insomnia", "quote": "老是瞪着天花板到天亮"}], ["夜里老是瞪着天花板到天亮"]).symptoms == ("insomnia",)


def test_a_quote_the_patient_never_said_is_rejected() -> None:
    reading = _read([{"code": "chest_pain", "quote": "胸口很痛"}], ["挺好的，没什么不舒服"])
    assert reading.empty and reading.rejected


def test_a_denied_symptom_is_not_added_even_when_quoted() -> None:
    reading = _read([{"code": "chest_pain", "quote": "胸痛"}], ["胸痛胸闷这些都没有"])
    assert reading.symptoms == () and "read as negated" in reading.rejected[0]
    reading = _read([{"code": "cough", "quote": "cough"}], ["My wife has a cough, I'm fine"], lang="en")
    assert reading.symptoms == ()


def test_unknown_codes_and_broken_json_change_nothing() -> None:
    assert _read([{"code": "cancer", "quote": "我"}], ["我"]).empty
    assert validate("not json", patient_turns=["x"], language="zh", outcome={}, rules=T).empty


def test_merge_adds_and_never_removes() -> None:
    outcome = {"symptoms": ["dizziness"], "flags": [{"level": "yellow", "code": "symptom_dizziness", "reason": "r",
                                                    "evidence": "e", "source": "rule"}],
               "risk_grade": "yellow", "needs_callback": True, "evidence": {}}
    reading = SecondReading(symptoms=("melena",), flags=({"level": "red", "code": "symptom_melena", "reason": "black stools",
                                                          "evidence": "黑乎乎的", "source": "model"},))
    merged = merge(outcome, reading)
    assert merged["symptoms"] == ["dizziness", "melena"]
    assert [f["source"] for f in merged["flags"]] == ["rule", "model"]
    assert merged["risk_grade"] == "red" and merged["needs_callback"] is True
    assert merge(outcome, SecondReading()) == outcome


def test_a_callback_reason_alone_sets_needs_callback() -> None:
    reading = _read([], ["我想让医生再给我看看片子"], callback="wants the doctor to review the scan")
    merged = merge({"symptoms": [], "flags": [], "needs_callback": False, "evidence": {}}, reading)
    assert merged["needs_callback"] is True and merged["evidence"]["second_reader"].startswith("wants")


def test_the_stored_outcome_shows_the_model_additions_after_the_call(client, nurse_card, monkeypatch) -> None:  # noqa: ANN001
    """A reader that adds what the rules cannot see; the outcome API shows it with source model."""
    import time

    from tests.test_calls_api import _say, _start

    import os
    import threading

    seen: list[list[tuple[str, str]]] = []
    niceness: list[int] = []

    def reader(transcript, *, language, outcome, post_surgery=False, days_since_discharge=None):  # noqa: ANN001
        seen.append(transcript)
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        raw = json.dumps({"symptoms": [{"code": "insomnia", "quote": "夜里老是瞪着天花板到天亮"}], "callback": None},
                         ensure_ascii=False)
        return validate(raw, patient_turns=[t for s, t in transcript if s == "patient"], language=language,
                        outcome=outcome, rules=T)

    monkeypatch.setattr(client.app.state.services, "second_reader", lambda: reader)
    call_id = _start(client, nurse_card, "DEMO0001")["call_id"]
    _say(client, nurse_card, call_id, "对，我是王建国，62年的")
    _say(client, nurse_card, call_id, "还行吧，就是夜里老是瞪着天花板到天亮")
    client.post(f"/calls/{call_id}/turns", json={"hangup": True}, headers=nurse_card)
    for _ in range(200):   # the reader runs after the call, on its own thread
        outcome = client.get(f"/outcomes/{call_id}", headers=nurse_card).json()
        if any(f.get("source") == "model" for f in outcome["flags"]):
            break
        time.sleep(0.05)
    assert seen and any(t == "还行吧，就是夜里老是瞪着天花板到天亮" for _, t in seen[0])
    model_flags = [f for f in outcome["flags"] if f.get("source") == "model"]
    assert [(f["level"], f["code"]) for f in model_flags] == [("yellow", "symptom_insomnia")]
    assert "insomnia" in outcome["symptoms"] and outcome["needs_callback"] is True
    # It reads at a lower CPU priority than the calls in progress (their turns come first).
    from models.priority import BACKGROUND_NICE

    assert niceness == [min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + BACKGROUND_NICE)]


def test_a_shutdown_waits_for_the_second_readers_still_running(tmp_path) -> None:  # noqa: ANN001
    """Services.close waits for the post-call work (its additions are written, and the language model
    is not freed under a running generation), bounded by the model's time limit."""
    import threading
    import time

    from dialogs.runner import POST_CALL_WORK, PostCallWork
    from records.db import upgrade
    from suifang.services import Services
    from tests.conftest import make_settings

    work = PostCallWork()
    release = threading.Event()
    work.start(lambda: release.wait(5), name="blocked")
    assert work.wait(0.1) == 1                   # still running after the bound
    release.set()
    assert work.wait(5) == 0

    settings = make_settings(f"sqlite:///{tmp_path}/close.db", tmp_path, SUIFANG__MODELS__LLM__TIMEOUT_S="5")
    upgrade(settings.database.url)
    services = Services.build(settings)
    written: list[float] = []
    POST_CALL_WORK.start(lambda: (time.sleep(0.5), written.append(time.monotonic())), name="second-reader-test")
    services.close()
    assert written   # close returned only after the reader had finished
