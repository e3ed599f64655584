"""Discharge-order structuring: throughput (documents/s) and quality on the dev and extra gold sets.

Usage: python bench/bench_structurer.py [FILE.jsonl ...]"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.discharge import evaluate_discharge, load_gold  # noqa: E402
from knowledge.structurer import structure_orders  # noqa: E402

DEFAULT_FILES = [ROOT.parent / "shared" / "eval" / "discharge-dev.jsonl", ROOT / "tests" / "data" / "discharge-extra.jsonl"]


def main() -> None:
    files = [Path(a) for a in sys.argv[1:]] or [f for f in DEFAULT_FILES if f.exists()]
    texts = [r["text"] for f in files for r in load_gold(f)]
    structure_orders(texts[0])  # lexicon load, once
    per_doc = []
    began = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for text in texts:
            t = time.perf_counter()
            structure_orders(text)
            per_doc.append((time.perf_counter() - t) * 1000)
    elapsed = time.perf_counter() - began
    print(f"structuring: {len(texts)} documents x {rounds} rounds: {len(per_doc) / elapsed:.0f} documents/s, "
          f"p50 {statistics.median(per_doc):.2f} ms, p95 {statistics.quantiles(per_doc, n=20)[18]:.2f} ms per document")
    for f in files:
        report = evaluate_discharge(f)
        print(f"{f.name}: " + json.dumps({k: report[k] for k in ("medications", "revisits", "reexams", "warning_signs",
                                                                   "route_accuracy", "duration_accuracy")}))


if __name__ == "__main__":
    main()
