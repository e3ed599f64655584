"""The Chinese review page shows every flag and review-item reason in Chinese: each reason the flag
rules can write has its Chinese wording, and the pages carry no English reason."""

from __future__ import annotations

import re

import pytest

from api.web.reasons import _UNKNOWN_ZH, reason_text
from dialogs.flags import evaluate_flags
from language.lexicon import SYMPTOM_CODES
from dialogs.clinical_rules import default_rules

T = default_rules()
_ENGLISH = re.compile(r"(?<![A-Za-z])(?!mmHg|mmol)[A-Za-z]{3,}")
CUE_VARIANTS = [{}, {"at_rest": True}, {"duration_min": 30}, {"persistent": True}, {"relieved": True},
                {"chronic": True}, {"heavy": True}, {"gradual": True}]


def every_reason() -> list[str]:
    reasons = set()
    for cues in CUE_VARIANTS:
        hits = evaluate_flags({"symptoms": list(SYMPTOM_CODES)}, evidence={}, cues={c: cues for c in SYMPTOM_CODES},
                              rules=T)
        reasons |= {h.reason for h in hits}
    readings = [
        {"blood_pressure": {"systolic": 190, "diastolic": 100}}, {"blood_pressure": {"systolic": 165, "diastolic": 90}},
        {"blood_pressure": {"systolic": 85, "diastolic": 50}}, {"blood_glucose": 18.0}, {"blood_glucose": 3.0},
        {"blood_glucose": 14.5}, {"temperature": 39.4}, {"temperature": 38.0}, {"pain_score": 9}, {"pain_score": 6},
        {"wound": "dehiscence"}, {"wound": "redness"}, {"wound": "swelling"}, {"wound": "discharge"}, {"wound": "bleeding"},
        {"overall_condition": "worse"}, {"satisfaction": 1},
        {"missed_medications": ["阿司匹林肠溶片"], "medication_adherence": "partial"},
        {"medication_adherence": "none"},
    ]
    for outcome in readings:
        hits = evaluate_flags(outcome, evidence={}, cues={"wound": {"heavy": True}}, rules=T,
                              post_surgery=True, days_since_discharge=5,
                              missed_classes={"阿司匹林肠溶片": "antiplatelet", "x": "insulin"})
        reasons |= {h.reason for h in hits}
    return sorted(reasons)


@pytest.mark.parametrize("reason", every_reason())
def test_every_flag_reason_has_chinese_wording(reason: str) -> None:
    zh = reason_text(f"red: {reason}", "zh")
    assert _UNKNOWN_ZH not in zh, reason
    assert not _ENGLISH.search(zh), (reason, zh)
    assert reason_text(reason, "en") == reason


@pytest.mark.parametrize("reason", ["answer not understood, confirm by phone: symptoms, blood_pressure",
                                    "patient question handed to a nurse", "call partial: finish the follow-up by phone",
                                    "nurse callback requested", "no answer after 4 tries: call the patient",
                                    "number not in service (try 1): check the patient's phone number"])
def test_task_reasons_have_chinese_wording(reason: str) -> None:
    zh = reason_text(reason, "zh")
    assert _UNKNOWN_ZH not in zh and not _ENGLISH.search(zh), zh


def test_the_chinese_review_pages_show_no_english_reason(client, nurse_card) -> None:  # noqa: ANN001
    from tests.test_calls_api import _say, _start
    from tests.test_review_api import web_login

    headers = nurse_card
    call_id = _start(client, headers, "DEMO0001")["call_id"]
    _say(client, headers, call_id, "对，我是王建国，62年的")
    _say(client, headers, call_id, "不好，今天早上胸口疼了半个多小时，刚量血压一百八十五、一百")
    client.post(f"/calls/{call_id}/turns", json={"hangup": True}, headers=headers)
    browser, _csrf = web_login(client, "nurse_card", "card-demo-2026")
    browser.get("/ui/lang/zh?next=/ui/queue")
    for page in (browser.get(f"/ui/calls/{call_id}").text, browser.get("/ui/queue").text):
        for cell in re.findall(r'class="reason">([^<]*)<', page):
            assert not _ENGLISH.search(cell), cell
    call_page = browser.get(f"/ui/calls/{call_id}").text
    assert "胸痛" in call_page and "chest pain" not in call_page


@pytest.mark.parametrize(("field", "value", "zh"), [
    ("pain_score", "11", "疼痛评分须在 0 到 10 之间"),
    ("blood_pressure", "180", "血压须为两个整数"),
    ("symptoms", "chest_pain, unicorn", "症状：未知的症状代码 unicorn"),
    ("missed_medications", "unobtainium", "漏服药物须为出院医嘱中的药物"),
    ("flags", "none", "flags不是可更正的随访结果项目"),
])
def test_a_refused_correction_is_explained_in_chinese(client, nurse_card, field, value, zh) -> None:  # noqa: ANN001
    from tests.test_calls_api import _start
    from tests.test_review_api import web_login

    call_id = _start(client, nurse_card, "DEMO0001")["call_id"]
    client.post(f"/calls/{call_id}/turns", json={"hangup": True}, headers=nurse_card)  # the outcome to correct
    browser, csrf = web_login(client, "nurse_card", "card-demo-2026")
    browser.get("/ui/lang/zh?next=/ui/queue")
    page = browser.post(f"/ui/calls/{call_id}/correct", data={"csrf": csrf, "field": field, "value": value})
    notice = re.search(r'id="error-notice">([^<]*)<', page.text)
    code = 409 if field == "missed_medications" else 422  # the call's orders decide: a conflict with the record
    assert page.status_code == code and notice and zh in notice.group(1), page.text[:200]
    shown = notice.group(1)
    for typed in [*re.split(r"[,\s]+", value), field]:  # what the nurse typed is quoted as typed
        shown = shown.replace(typed, "")
    assert not _ENGLISH.search(shown), notice.group(1)


def test_every_refusal_has_chinese_wording() -> None:
    from api.web.reasons import notice_text
    from records.reasons import ERRORS

    catalog = ERRORS.catalog
    samples = {"field": "pain_score", "max_length": "2000", "low": "0", "high": "10", "choices": "better, same, worse",
               "codes": "x", "listed": "none on the orders"}
    for key in catalog:
        english = catalog.text(key, "en", **samples)
        assert notice_text(english, "zh") == catalog.text(key, "zh", **{**samples, "field": "疼痛评分",
                                                                        "listed": "医嘱中没有药物"}), key
        assert notice_text(english, "en") == english
    assert notice_text("call not found", "zh") == "请求未能完成，请检查后重试"
