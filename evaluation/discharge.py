"""`suifang eval discharge`: the structurer scored against gold records (../shared/spec/discharge-orders.md).

A medication is right when generic name, dose, unit and frequency all match (keys the gold leaves
out are not scored; units compare by meaning: IU = U, ml = mL, mcg = μg, 滴 = drop, 片 = tablet);
route and duration are scored on their own as accuracy over the matched
drugs. Revisits match on department and when, re-exams on item and when, warning signs on code.
Precision, recall and F1 are micro-averaged over all documents."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

from knowledge.structurer import generic_name, structure_orders, unit_key

CATEGORIES = ("medications", "revisits", "reexams", "warning_signs")


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    records = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
        if "text" not in record or "expect" not in record:
            raise ValueError(f"{path}:{n}: a gold record needs 'text' and 'expect'")
        records.append(record)
    return records


def _date(value: Any) -> dt.date | None:
    """A record may give its discharge date (ISO); dates written without a year are placed after it."""
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _dept(name: Any) -> str:
    text = str(name or "").strip().lower()
    text = re.sub(r"门诊$|\s*clinic$|\s*department$", "", text)
    return text


def _item(name: Any) -> str:
    return re.sub(r"\s+", " ", str(name or "").strip().lower())


def _med_key_matches(gold: dict[str, Any], item: Any) -> bool:
    if generic_name(str(gold.get("name", ""))) != (item.generic_name or generic_name(item.name or "")):
        return False
    if "dose" in gold and (item.dose is None or abs(float(gold["dose"]) - float(item.dose)) > 1e-9):
        return False
    if "unit" in gold and unit_key(gold["unit"]) != unit_key(item.unit):     # IU = U, ml = mL, 滴 = drop
        return False
    if "frequency" in gold and gold["frequency"] != item.frequency:
        return False
    return True


def _match(golds: list[Any], predicted: list[Any], same: Any) -> tuple[int, list[tuple[Any, Any]]]:
    """Greedy one-to-one matching; returns true positives and the matched pairs."""
    used: set[int] = set()
    pairs = []
    for g in golds:
        for i, p in enumerate(predicted):
            if i not in used and same(g, p):
                used.add(i)
                pairs.append((g, p))
                break
    return len(pairs), pairs


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    precision = tp / n_pred if n_pred else (1.0 if not n_gold else 0.0)
    recall = tp / n_gold if n_gold else (1.0 if not n_pred else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate_discharge(path: str | Path) -> dict[str, Any]:
    records = load_gold(path)
    counts = {c: [0, 0, 0] for c in CATEGORIES}  # tp, predicted, gold
    route_right = route_total = duration_right = duration_total = 0
    documents = []
    began = time.perf_counter()
    structured = [structure_orders(r["text"], language=r.get("language"), discharge_date=_date(r.get("discharge_date")))
                  for r in records]
    elapsed = time.perf_counter() - began
    for record, result in zip(records, structured):
        expect = record["expect"]
        misses: list[str] = []
        by_kind = {k: [i for i in result.items if i.kind == k] for k in ("medication", "revisit", "reexam", "warning_sign")}

        if "medications" in expect:
            gold = expect["medications"]
            tp, pairs = _match(gold, by_kind["medication"], _med_key_matches)
            counts["medications"][0] += tp
            counts["medications"][1] += len(by_kind["medication"])
            counts["medications"][2] += len(gold)
            for g in gold:
                if not any(g is pg for pg, _ in pairs):
                    misses.append(f"medication missed: {g}")
            for g, p in pairs:
                if "route" in g:
                    route_total += 1
                    route_right += g["route"] == p.route
                    if g["route"] != p.route:
                        misses.append(f"route of {g['name']}: expected {g['route']}, got {p.route}")
                if "duration" in g:
                    duration_total += 1
                    duration_right += g["duration"] == p.duration
                    if g["duration"] != p.duration:
                        misses.append(f"duration of {g['name']}: expected {g['duration']}, got {p.duration}")
            for p in by_kind["medication"]:
                if not any(p is pp for _, pp in pairs):
                    misses.append(f"medication extra or wrong: {p.name} {p.dose} {p.unit} {p.frequency}")

        def score(category: str, kind: str, same: Any, describe: Any) -> None:
            if category not in expect:
                return
            gold = expect[category]
            tp, pairs = _match(gold, by_kind[kind], same)
            counts[category][0] += tp
            counts[category][1] += len(by_kind[kind])
            counts[category][2] += len(gold)
            for g in gold:
                if not any(g is pg for pg, _ in pairs):
                    misses.append(f"{category} missed: {g}")
            for p in by_kind[kind]:
                if not any(p is pp for _, pp in pairs):
                    misses.append(f"{category} extra: {describe(p)}")

        score("revisits", "revisit",
              lambda g, p: _dept(g.get("department")) == _dept(p.name) and ("when" not in g or g["when"] == p.when),
              lambda p: f"{p.name} {p.when}")
        score("reexams", "reexam",
              lambda g, p: _item(g.get("item")) == _item(p.name) and ("when" not in g or g["when"] == p.when),
              lambda p: f"{p.name} {p.when}")
        if "warning_signs" in expect:
            gold_codes = list(dict.fromkeys(expect["warning_signs"]))
            predicted = list(dict.fromkeys(i.symptom_code for i in by_kind["warning_sign"]))
            tp = len(set(gold_codes) & set(predicted))
            counts["warning_signs"][0] += tp
            counts["warning_signs"][1] += len(predicted)
            counts["warning_signs"][2] += len(gold_codes)
            misses += [f"warning sign missed: {c}" for c in gold_codes if c not in predicted]
            misses += [f"warning sign extra: {c}" for c in predicted if c not in gold_codes]
        documents.append({"id": record.get("id"), "misses": misses, "unparsed": list(result.unparsed_lines)})

    report: dict[str, Any] = {c: _prf(*counts[c]) for c in CATEGORIES}
    report["route_accuracy"] = round(route_right / route_total, 4) if route_total else None
    report["duration_accuracy"] = round(duration_right / duration_total, 4) if duration_total else None
    report["documents"] = len(records)
    report["docs_per_second"] = round(len(records) / elapsed, 1) if elapsed > 0 else None
    report["per_document"] = documents
    return report


def format_discharge_report(report: dict[str, Any]) -> str:
    lines = []
    for doc in report["per_document"]:
        status = "ok" if not doc["misses"] else f"{len(doc['misses'])} issue(s)"
        lines.append(f"{doc['id']}: {status}")
        lines += [f"    {m}" for m in doc["misses"]]
        lines += [f"    unparsed: {u}" for u in doc["unparsed"]]
    for c in CATEGORIES:
        r = report[c]
        lines.append(f"{c:14} precision {r['precision']:.3f}  recall {r['recall']:.3f}  F1 {r['f1']:.3f}")
    lines.append(f"route accuracy {report['route_accuracy']}, duration accuracy {report['duration_accuracy']}, "
                 f"{report['documents']} documents, {report['docs_per_second']} documents/s")
    return "\n".join(lines)
