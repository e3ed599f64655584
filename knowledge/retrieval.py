"""The knowledge base: each patient's discharge-order items, and vetted general education, in chromadb.

Two collections in an embedded (on-disk) chromadb at `knowledge.chroma_dir`:
- `order_items`: one document per order item, metadata patient_id (int), discharge_id, item_id, kind,
  name, language and the structured fields. Every search is filtered by patient_id inside the
  chroma query itself, so another patient's items are never candidates, not merely dropped later.
- `education`: short vetted department articles from knowledge/education/*.md (zh + en), general
  education, never a patient's orders.

Embeddings are always ours (models.embeddings): chromadb's default embedding function downloads a
model, which this offline service must never do. The collection records which embedder built it;
opening it with a different one is an error (vectors of two models are not comparable).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from models.embeddings import Embedder
from models.weights import enforce_offline

log = logging.getLogger(__name__)

ORDER_ITEMS = "order_items"
EDUCATION = "education"
EDUCATION_DIR = Path(__file__).resolve().parent / "education"
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class IndexedItem:
    """One discharge-order item as callers pass it from the order_items table."""

    item_id: int
    kind: str  # medication | revisit | reexam | warning_sign | instruction
    text: str  # the source span of the orders, verbatim
    name: str | None
    generic_name: str | None
    dose: float | None
    dose_text: str | None
    unit: str | None
    route: str | None
    frequency: str | None
    duration: str | None
    when: str | None
    due_date: str | None  # ISO date


@dataclass(frozen=True)
class RetrievedItem(IndexedItem):
    """An order item found for a query: the item's fields plus where it came from and how close."""

    patient_id: int
    discharge_id: int
    score: float  # cosine similarity, higher is closer


@dataclass(frozen=True)
class EducationArticle:
    article_id: str
    department: str
    language: str
    title: str
    body: str


@dataclass(frozen=True)
class RetrievedArticle:
    article: EducationArticle
    score: float


_ITEM_FIELDS = tuple(f.name for f in fields(IndexedItem))


# ---- drug lexicon -------------------------------------------------------------------------------
# Patients say "water pill" or 降压药, orders say Furosemide or 苯磺酸氨氯地平片. A small hand-written
# map (common discharge drugs, zh + en; no third-party word lists) links the two. Retrieval appends
# the class words to the text it embeds; knowledge.answers uses it to match questions to items and
# to spot drug names that are not in a patient's orders.

@dataclass(frozen=True)
class DrugClass:
    key: str
    words_en: tuple[str, ...]  # what patients call it
    words_zh: tuple[str, ...]
    members: tuple[str, ...]  # lowercase name fragments of member drugs (generic, zh and en)


DRUG_CLASSES: tuple[DrugClass, ...] = (
    # "water bill": how speech recognition often hears "water pill" over the phone.
    DrugClass("diuretic", ("water pill", "water bill", "water tablet", "diuretic", "fluid pill"),
              ("利尿药", "利尿剂", "利尿的药", "排尿的药", "消肿的药"),
              ("furosemide", "呋塞米", "torsemide", "托拉塞米", "bumetanide", "布美他尼", "hydrochlorothiazide",
               "氢氯噻嗪", "indapamide", "吲达帕胺", "spironolactone", "螺内酯", "chlorthalidone", "lasix",
               "bendroflumethiazide", "苄氟噻嗪", "metolazone", "美托拉宗", "eplerenone", "依普利酮", "amiloride")),
    DrugClass("antiplatelet", ("blood thinner", "antiplatelet"), ("抗血小板药", "抗血小板的药", "抗栓药"),
              ("aspirin", "阿司匹林", "clopidogrel", "氯吡格雷", "ticagrelor", "替格瑞洛", "prasugrel", "普拉格雷",
               "plavix", "brilinta")),
    DrugClass("anticoagulant", ("blood thinner", "anticoagulant"), ("抗凝药", "抗凝的药", "抗凝血药"),
              ("warfarin", "华法林", "rivaroxaban", "利伐沙班", "apixaban", "阿哌沙班", "dabigatran", "达比加群",
               "edoxaban", "艾多沙班", "enoxaparin", "依诺肝素", "heparin", "肝素", "eliquis", "xarelto",
               "dalteparin", "达肝素", "tinzaparin", "nadroparin", "那屈肝素", "lovenox", "fragmin")),
    DrugClass("statin", ("statin", "cholesterol pill", "cholesterol medicine", "cholesterol medication"),
              ("他汀", "降脂药", "降血脂的药", "调脂药", "降胆固醇的药"),
              ("atorvastatin", "阿托伐他汀", "rosuvastatin", "瑞舒伐他汀", "simvastatin", "辛伐他汀",
               "pravastatin", "普伐他汀", "pitavastatin", "匹伐他汀", "lipitor", "crestor")),
    DrugClass("antihypertensive", ("blood pressure pill", "blood pressure medicine", "blood pressure medication",
                                   "bp pill", "bp medicine"),
              ("降压药", "降血压的药", "血压药", "降压的药"),
              ("amlodipine", "氨氯地平", "nifedipine", "硝苯地平", "felodipine", "非洛地平", "valsartan", "缬沙坦",
               "losartan", "氯沙坦", "irbesartan", "厄贝沙坦", "telmisartan", "替米沙坦", "candesartan", "坎地沙坦",
               "olmesartan", "奥美沙坦", "enalapril", "依那普利", "benazepril", "贝那普利", "lisinopril", "赖诺普利",
               "perindopril", "培哚普利", "ramipril", "雷米普利")),
    DrugClass("beta_blocker", ("beta blocker", "heart rate pill"), ("β受体阻滞剂", "控制心率的药", "减慢心率的药"),
              ("metoprolol", "美托洛尔", "bisoprolol", "比索洛尔", "carvedilol", "卡维地洛", "atenolol", "阿替洛尔",
               "propranolol", "普萘洛尔")),
    DrugClass("heart_failure", ("heart failure pill", "heart pill"), ("心衰药", "治心衰的药"),
              ("sacubitril", "沙库巴曲", "entresto", "digoxin", "地高辛", "dapagliflozin", "达格列净",
               "empagliflozin", "恩格列净")),
    DrugClass("antidiabetic", ("diabetes pill", "diabetes medicine", "diabetes medication", "sugar pill",
                               "blood sugar medicine"),
              ("降糖药", "降血糖的药", "糖尿病药", "降糖的药"),
              ("metformin", "二甲双胍", "glimepiride", "格列美脲", "gliclazide", "格列齐特", "glipizide", "格列吡嗪",
               "acarbose", "阿卡波糖", "sitagliptin", "西格列汀", "linagliptin", "利格列汀", "empagliflozin",
               "恩格列净", "dapagliflozin", "达格列净", "insulin", "胰岛素")),
    DrugClass("antibiotic", ("antibiotic", "antibiotics"), ("抗生素", "消炎药", "抗菌药"),
              ("cefuroxime", "头孢", "cephalexin", "amoxicillin", "阿莫西林", "clavulanate", "克拉维酸",
               "levofloxacin", "左氧氟沙星", "moxifloxacin", "莫西沙星", "azithromycin", "阿奇霉素",
               "doxycycline", "多西环素", "augmentin", "cefixime", "ceftriaxone", "cefalexin", "cefdinir",
               "clarithromycin", "克拉霉素", "erythromycin", "红霉素", "flucloxacillin", "氟氯西林", "penicillin",
               "青霉素", "co-trimoxazole", "trimethoprim", "sulfamethoxazole", "复方新诺明", "nitrofurantoin",
               "呋喃妥因", "metronidazole", "甲硝唑", "ciprofloxacin", "环丙沙星", "clindamycin", "克林霉素",
               "minocycline", "米诺环素", "linezolid", "利奈唑胺", "vancomycin", "万古霉素")),
    DrugClass("painkiller", ("painkiller", "pain pill", "pain medicine", "pain medication", "pain reliever"),
              ("止痛药", "止疼药", "镇痛药", "止痛的药", "止疼的药", "止痛的", "止疼的", "止痛片", "止疼片"),
              ("ibuprofen", "布洛芬", "acetaminophen", "paracetamol", "对乙酰氨基酚", "扑热息痛", "celecoxib",
               "塞来昔布", "tramadol", "曲马多", "naproxen", "萘普生", "diclofenac", "双氯芬酸", "loxoprofen",
               "洛索洛芬", "tylenol", "advil", "motrin", "芬必得", "泰诺", "oxycodone", "羟考酮", "codeine",
               "可待因", "morphine", "吗啡", "hydrocodone", "co-codamol", "aleve", "dolo", "crocin", "panadol")),
    DrugClass("stomach", ("stomach pill", "stomach medicine", "acid pill", "antacid"), ("胃药", "护胃药", "保护胃的药"),
              ("omeprazole", "奥美拉唑", "pantoprazole", "泮托拉唑", "esomeprazole", "艾司奥美拉唑", "rabeprazole",
               "雷贝拉唑", "lansoprazole", "兰索拉唑")),
    DrugClass("steroid", ("steroid", "steroids"), ("激素", "激素药"),
              ("prednisone", "泼尼松", "prednisolone", "泼尼松龙", "methylprednisolone", "甲泼尼龙", "dexamethasone",
               "地塞米松")),
    DrugClass("inhaler", ("inhaler", "puffer"), ("吸入剂", "喷雾剂", "吸的药"),
              ("tiotropium", "噻托溴铵", "albuterol", "salbutamol", "沙丁胺醇", "budesonide", "布地奈德",
               "salmeterol", "沙美特罗", "formoterol", "福莫特罗")),
    DrugClass("potassium", ("potassium pill", "potassium supplement"), ("补钾药", "钾片", "补钾的药"),
              ("potassium chloride", "氯化钾", "枸橼酸钾")),
    DrugClass("nitrate", ("nitro", "nitroglycerin"), ("硝酸甘油", "扩血管的药"),
              ("nitroglycerin", "硝酸甘油", "isosorbide", "单硝酸异山梨酯", "硝酸异山梨酯")),
)

# Other drugs patients commonly ask about: not classed, but recognised as drug names.
OTHER_DRUG_NAMES: tuple[str, ...] = (
    "感冒药", "安眠药", "安定", "地西泮", "艾司唑仑", "佐匹克隆", "中药", "中成药", "保健品", "维生素", "钙片", "鱼油",
    "银杏", "阿胶", "人参", "复方丹参滴丸", "速效救心丸", "连花清瘟", "板蓝根", "止咳药", "退烧药", "抗过敏药",
    "sleeping pill", "melatonin", "vitamin", "fish oil", "supplement", "herbal", "cold medicine", "cough syrup",
    "antihistamine", "benadryl", "ginkgo", "viagra", "sildenafil", "西地那非",
)


def drug_classes_of(*texts: str | None) -> tuple[DrugClass, ...]:
    """The classes with a member named in any of `texts` (item name, generic name, order text)."""
    haystack = " ".join(t for t in texts if t).lower()
    return tuple(c for c in DRUG_CLASSES if any(contains_term(haystack, m) for m in c.members))


def class_words_for(*texts: str | None) -> list[str]:
    words: list[str] = []
    for drug_class in drug_classes_of(*texts):
        words.extend(w for w in drug_class.words_zh + drug_class.words_en if w not in words)
    return words


def contains_term(haystack: str, term: str) -> bool:
    """Substring match, at word boundaries (plural allowed) for Latin terms: "pain pill" is not in
    "painkiller"; "water pills" contains "water pill"."""
    if _CJK.search(term):
        return term in haystack
    return re.search(rf"(?<![a-z]){re.escape(term)}(?:s|es)?(?![a-z])", haystack) is not None


def item_language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def _embedding_text(item: IndexedItem) -> str:
    parts = [item.text]
    for extra in (item.name, item.generic_name):
        if extra and extra not in item.text:
            parts.append(extra)
    parts.extend(class_words_for(item.name, item.generic_name, item.text))
    return " ".join(parts)


def _item_metadata(item: IndexedItem, *, patient_id: int, discharge_id: int, language: str) -> dict[str, Any]:
    # chroma metadata cannot hold None: absent fields are simply left out.
    meta: dict[str, Any] = {"patient_id": int(patient_id), "discharge_id": int(discharge_id), "language": language}
    for name in _ITEM_FIELDS:
        value = getattr(item, name)
        if value is not None:
            meta[name] = float(value) if name == "dose" else value
    return meta


def _item_from_metadata(meta: dict[str, Any], score: float) -> RetrievedItem:
    values = {name: meta.get(name) for name in _ITEM_FIELDS}
    return RetrievedItem(**values, patient_id=int(meta["patient_id"]), discharge_id=int(meta["discharge_id"]),
                         score=score)


class _ChromaEmbeddingFunction:
    """Our Embedder as a chromadb EmbeddingFunction (documents vs queries kept apart for e5).

    We also pass embeddings explicitly on every add and query; this adapter exists so chromadb
    never falls back to its downloading default and records which embedder built a collection."""

    def __init__(self, embedder: Embedder | None) -> None:
        self._embedder = embedder

    def __call__(self, input: Sequence[str]) -> list[list[float]]:  # noqa: A002 - chromadb's signature
        if self._embedder is None:
            raise RuntimeError("embedding function rebuilt from config has no embedder attached")
        return self._embedder.embed_documents(list(input))

    def embed_query(self, input: Sequence[str]) -> list[list[float]]:  # noqa: A002
        if self._embedder is None:
            raise RuntimeError("embedding function rebuilt from config has no embedder attached")
        return [self._embedder.embed_query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "suifang-unbound"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.name()}

    @classmethod
    def build_from_config(cls, config: dict[str, Any]) -> _ChromaEmbeddingFunction:
        return cls(None)

    @classmethod
    def for_embedder(cls, embedder: Embedder) -> _ChromaEmbeddingFunction:
        """An instance whose class name()s the embedder: chromadb persists that name with the
        collection and refuses a different one later, which is the check we want."""
        label = f"suifang-{embedder.name}-{embedder.dim}"
        subclass = type(f"SuifangEmbedding_{re.sub(r'[^0-9A-Za-z]', '_', label)}", (cls,),
                        {"name": staticmethod(lambda: label)})
        return subclass(embedder)

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        return None


class PatientItemsRetriever(BaseRetriever):
    """langchain retriever over one patient's order items in the chroma `order_items` collection.

    The patient filter is part of the chroma query (`where={"patient_id": ...}`); results that
    nevertheless carry another patient_id are a broken index and raise, never silently dropped."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    collection: Any
    embedder: Any
    patient_id: int
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        if self.k <= 0:
            return []
        result = self.collection.query(
            query_embeddings=[self.embedder.embed_query(query)], n_results=self.k,
            where={"patient_id": int(self.patient_id)}, include=["documents", "metadatas", "distances"],
        )
        documents = []
        for doc_id, text, meta, distance in zip(result["ids"][0], result["documents"][0], result["metadatas"][0],
                                                result["distances"][0], strict=True):
            if int(meta.get("patient_id", -1)) != int(self.patient_id):
                raise RuntimeError(f"order_items index returned document {doc_id} of another patient")
            documents.append(Document(page_content=text or "", id=doc_id,
                                      metadata={**meta, "score": 1.0 - float(distance)}))
        return documents


@contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock between processes on `directory` (POSIX flock), held while it is opened."""
    import fcntl

    with open(directory / ".suifang-open.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class KnowledgeBase:
    """Order items and education articles in an embedded chromadb; safe to share between threads."""

    def __init__(self, persist_dir: str | Path, embedder: Embedder, *, retrieval_k: int = 4,
                 education_dir: str | Path | None = EDUCATION_DIR) -> None:
        enforce_offline()
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.embedder = embedder
        self.retrieval_k = retrieval_k
        self.persist_dir = Path(persist_dir)
        self.persist_dir.mkdir(parents=True, exist_ok=True)
        # Worker processes starting together (Celery) would race to create chromadb's tables.
        with _directory_lock(self.persist_dir):
            self._client = chromadb.PersistentClient(
                path=str(self.persist_dir), settings=ChromaSettings(anonymized_telemetry=False))
            function = _ChromaEmbeddingFunction.for_embedder(embedder)
            try:
                self._items = self._client.get_or_create_collection(
                    ORDER_ITEMS, embedding_function=function, configuration={"hnsw": {"space": "cosine"}})
                self._education = self._client.get_or_create_collection(
                    EDUCATION, embedding_function=function, configuration={"hnsw": {"space": "cosine"}})
            except ValueError as exc:
                if "conflict" in str(exc).lower():
                    raise RuntimeError(
                        f"the knowledge base at {self.persist_dir} was built with another embedder; "
                        f"re-index it for {function.name()} (or point knowledge.chroma_dir elsewhere): {exc}"
                    ) from exc
                raise
            # Replacing a discharge's items is delete + add: readers must not see the gap.
            self._lock = threading.RLock()
            if education_dir is not None:
                self.sync_education(education_dir)

    @classmethod
    def from_settings(cls, settings, embedder: Embedder) -> KnowledgeBase:  # noqa: ANN001
        return cls(settings.resolve_path(settings.knowledge.chroma_dir), embedder,
                   retrieval_k=settings.knowledge.retrieval_k)

    # ---- order items -------------------------------------------------------------------------

    def index_patient_items(self, *, patient_id: int, discharge_id: int, items: Iterable[IndexedItem],
                            language: str | None = None) -> int:
        """Replace the indexed items of one discharge with `items`; returns how many were indexed."""
        items = list(items)
        ids = [f"item-{item.item_id}" for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate item_id in one discharge")
        documents = [_embedding_text(item) for item in items]
        metadatas = [_item_metadata(item, patient_id=patient_id, discharge_id=discharge_id,
                                    language=language or item_language(item.text)) for item in items]
        embeddings = self.embedder.embed_documents(documents) if items else []
        with self._lock:
            self._items.delete(where={"$and": [{"patient_id": int(patient_id)}, {"discharge_id": int(discharge_id)}]})
            if items:
                # upsert: an item id moved from an older discharge replaces its old document.
                self._items.upsert(ids=ids, documents=documents, metadatas=metadatas, embeddings=embeddings)
        log.info("indexed %d order items for discharge %s", len(items), discharge_id)
        return len(items)

    def delete_patient(self, *, patient_id: int) -> None:
        """Remove every indexed item of a patient (record erasure)."""
        with self._lock:
            self._items.delete(where={"patient_id": int(patient_id)})

    def retriever(self, *, patient_id: int, k: int | None = None) -> PatientItemsRetriever:
        return PatientItemsRetriever(collection=self._items, embedder=self.embedder, patient_id=int(patient_id),
                                     k=self.retrieval_k if k is None else k)

    def retrieve(self, *, patient_id: int, query: str, k: int | None = None) -> list[RetrievedItem]:
        """The patient's order items closest to `query`, best first ([] when they have none)."""
        retriever = self.retriever(patient_id=patient_id, k=k)
        with self._lock:
            documents = retriever.invoke(query)
        return [_item_from_metadata(doc.metadata, doc.metadata["score"]) for doc in documents]

    def patient_item_count(self, *, patient_id: int) -> int:
        with self._lock:
            return len(self._items.get(where={"patient_id": int(patient_id)}, include=[])["ids"])

    # ---- education ---------------------------------------------------------------------------

    def sync_education(self, education_dir: str | Path = EDUCATION_DIR) -> int:
        """Make the `education` collection match the vetted articles on disk; returns the count."""
        articles = load_education_articles(education_dir)
        wanted = {a.article_id: (a, _sha(a)) for a in articles}
        with self._lock:
            existing = self._education.get(include=["metadatas"])
            current = {doc_id: (meta or {}).get("content_sha")
                       for doc_id, meta in zip(existing["ids"], existing["metadatas"], strict=True)}
            stale = [doc_id for doc_id in current if doc_id not in wanted]
            if stale:
                self._education.delete(ids=stale)
            changed = [a for doc_id, (a, sha) in wanted.items() if current.get(doc_id) != sha]
            if changed:
                texts = [f"{a.title}\n{a.body}" for a in changed]
                self._education.upsert(
                    ids=[a.article_id for a in changed], documents=texts,
                    embeddings=self.embedder.embed_documents(texts),
                    metadatas=[{"department": a.department, "language": a.language, "title": a.title,
                                "vetted": True, "kind": "general_education", "content_sha": _sha(a)}
                               for a in changed],
                )
        if stale or changed:
            log.info("education articles synced: %d updated, %d removed", len(changed), len(stale))
        return len(wanted)

    def retrieve_education(self, *, query: str, language: str | None = None, department: str | None = None,
                           k: int = 3) -> list[RetrievedArticle]:
        """General education (not patient-specific) closest to `query`."""
        conditions: list[dict[str, Any]] = [{"vetted": True}]
        if language:
            conditions.append({"language": language})
        if department:
            conditions.append({"department": department})
        where = conditions[0] if len(conditions) == 1 else {"$and": conditions}
        with self._lock:
            result = self._education.query(query_embeddings=[self.embedder.embed_query(query)], n_results=k,
                                           where=where, include=["documents", "metadatas", "distances"])
        found = []
        for doc_id, text, meta, distance in zip(result["ids"][0], result["documents"][0], result["metadatas"][0],
                                                result["distances"][0], strict=True):
            title, _, body = (text or "").partition("\n")
            article = EducationArticle(article_id=doc_id, department=meta["department"], language=meta["language"],
                                       title=meta.get("title", title), body=body)
            found.append(RetrievedArticle(article=article, score=1.0 - float(distance)))
        return found


def _sha(article: EducationArticle) -> str:
    payload = "\x1f".join([article.department, article.language, article.title, article.body])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.DOTALL)


def load_education_articles(education_dir: str | Path = EDUCATION_DIR) -> list[EducationArticle]:
    """Parse knowledge/education/*.md; only articles whose front matter says `vetted: true` count."""
    articles = []
    for path in sorted(Path(education_dir).glob("*.md")):
        match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
        if not match:
            log.warning("education article %s has no front matter; skipped", path.name)
            continue
        front = yaml.safe_load(match.group(1)) or {}
        if front.get("vetted") is not True:
            log.warning("education article %s is not vetted; skipped", path.name)
            continue
        missing = [key for key in ("department", "language", "title") if not front.get(key)]
        if missing:
            log.warning("education article %s lacks %s; skipped", path.name, ", ".join(missing))
            continue
        articles.append(EducationArticle(article_id=f"edu-{path.stem}", department=str(front["department"]),
                                         language=str(front["language"]), title=str(front["title"]),
                                         body=match.group(2).strip()))
    return articles
