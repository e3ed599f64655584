"""No control characters in source or data: a regular expression written as "\\bword\\b" inside a plain
(not raw) string once turned into backspaces, and the English patterns of two tables silently matched
nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "campaigns", "dialogs", "evaluation", "knowledge", "language", "models", "records", "suifang", "bench")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def test_no_control_characters_in_code_or_data() -> None:
    bad = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if path.suffix in (".py", ".yaml", ".yml") and path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                bad += [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}" for m in _CONTROL.finditer(text)]
    assert not bad, f"control characters (a \\b in a non-raw string?) at {bad[:10]}"
