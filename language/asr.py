"""Speech-recognition homophones of medical words (language/data/asr_homophones.yaml)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "asr_homophones.yaml"


@functools.lru_cache(maxsize=1)
def _table() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    data = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8")) or {}
    mapping = {str(k): str(v) for k, v in (data.get("zh") or {}).items()}
    if not mapping:
        return None, {}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)))
    return pattern, mapping


def fix_homophones(text: str) -> str:
    pattern, mapping = _table()
    if pattern is None or not re.search(r"[\u4e00-\u9fff]", text):
        return text
    return pattern.sub(lambda m: mapping[m.group(0)], text)
