"""Layers point one way: models and the language layer at the bottom; dialogs, knowledge and records
above; campaigns, api and the CLI on top. Nothing outside api/ imports api/, and production code
never imports the evaluation package (evaluation/ may import anything; the `suifang eval` commands load it).
The composition root, suifang/services.py, wires the layers together for the API, the CLI and the workers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {  # package -> top-level packages it may not import, at module level or inside functions
    "language": {"models", "records", "knowledge", "dialogs", "campaigns", "api", "evaluation", "suifang"},
    "models": {"language", "records", "knowledge", "dialogs", "campaigns", "api", "evaluation"},
    "records": {"knowledge", "dialogs", "api", "evaluation"},
    "knowledge": {"campaigns", "api", "evaluation"},
    "dialogs": {"campaigns", "api", "evaluation"},
    "campaigns": {"api", "evaluation"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_points_up_a_layer(package: str) -> None:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for lineno, module in _imports(path):
            if module.split(".")[0] in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {module}")
    assert bad == []
