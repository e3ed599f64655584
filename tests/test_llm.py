"""Language models and packaged weights: the OpenAI-compatible client against a real local fake
server, the off switch, the local llama.cpp model (offline, deterministic), and SHA-256 checks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from models import weights
from models.llm import (
    DisabledModel,
    LanguageModel,
    LLMUnavailable,
    LocalLlamaModel,
    OpenAICompatibleModel,
    build_language_model,
)
from suifang.config import Settings, load_settings

# ---- a fake OpenAI-compatible server on 127.0.0.1 ------------------------------------------------

SLOW_SECONDS = 3.0


def _fake_app(received: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        received.append({"body": body, "authorization": request.headers.get("authorization")})
        mode = body["model"]
        if mode == "error500":
            return JSONResponse({"error": "boom"}, status_code=500)
        if mode == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        if mode == "garbage":
            return JSONResponse({"unexpected": True})
        content = {
            "fenced": '```json\n{"dose": 100}\n```',
            "notjson": "sure, the dose is 100 mg",
            "jsonlist": "[1, 2]",
        }.get(mode, '{"dose": 100, "unit": "mg"}' if body.get("response_format") else "  Take it in the morning.  ")
        return JSONResponse({"id": "x", "object": "chat.completion",
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                          "finish_reason": "stop"}]})

    return app


@pytest.fixture(scope="module")
def fake_server() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_fake_app(received), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "fake LLM server did not start"
    yield f"http://127.0.0.1:{port}/v1", received
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _client(base_url: str, model: str = "ok", **kwargs) -> OpenAICompatibleModel:
    options = {"api_key": "test-key", "max_tokens": 64, "timeout_s": 1.0} | kwargs
    return OpenAICompatibleModel(base_url=base_url, model=model, **options)


MESSAGES = [{"role": "user", "content": "When do I take it?"}]


def test_openai_client_sends_deterministic_bounded_request(fake_server) -> None:
    base_url, received = fake_server
    model = _client(base_url)
    assert isinstance(model, LanguageModel)
    assert model.generate(MESSAGES) == "Take it in the morning."
    request = received[-1]
    assert request["authorization"] == "Bearer test-key"
    assert request["body"]["temperature"] == 0
    assert request["body"]["max_tokens"] == 64
    assert request["body"]["messages"] == MESSAGES
    assert "response_format" not in request["body"]


def test_openai_client_json_mode(fake_server) -> None:
    base_url, received = fake_server
    reply = _client(base_url).generate(MESSAGES, json_mode=True, max_tokens=20)
    assert json.loads(reply) == {"dose": 100, "unit": "mg"}
    assert received[-1]["body"]["response_format"] == {"type": "json_object"}
    assert received[-1]["body"]["max_tokens"] == 20
    # Servers that ignore response_format and fence the JSON still work.
    assert json.loads(_client(base_url, "fenced").generate(MESSAGES, json_mode=True)) == {"dose": 100}


@pytest.mark.parametrize("mode", ["error500", "garbage"])
def test_openai_client_http_error_or_bad_reply_is_unavailable(fake_server, mode: str) -> None:
    base_url, _ = fake_server
    with pytest.raises(LLMUnavailable):
        _client(base_url, mode).generate(MESSAGES)


@pytest.mark.parametrize("mode", ["notjson", "jsonlist"])
def test_openai_client_json_mode_rejects_non_objects(fake_server, mode: str) -> None:
    base_url, _ = fake_server
    with pytest.raises(LLMUnavailable):
        _client(base_url, mode).generate(MESSAGES, json_mode=True)


def test_openai_client_timeout_is_unavailable(fake_server) -> None:
    base_url, _ = fake_server
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="timed out"):
        _client(base_url, "slow", timeout_s=0.5).generate(MESSAGES)
    assert time.monotonic() - started < SLOW_SECONDS - 1


def test_a_reply_may_be_given_longer_than_the_configured_limit(fake_server) -> None:
    # Work after a call (the second reader) waits longer than a turn may.
    base_url, _ = fake_server
    assert _client(base_url, "slow", timeout_s=0.5).generate(MESSAGES, timeout_s=SLOW_SECONDS + 5) == \
        "Take it in the morning."


class _SlowLlama:
    """llama.cpp's streaming chat completion, one chunk every 0.1 s."""

    def create_chat_completion(self, **kwargs):  # noqa: ANN003, ANN201
        for piece in ("Take ", "it ", "at ", "night."):
            time.sleep(0.1)
            yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}


def test_local_model_timeout_can_be_lengthened_for_one_reply() -> None:
    model = LocalLlamaModel(Path("/nonexistent.gguf"), timeout_s=0.15)
    model._llama = _SlowLlama()
    with pytest.raises(LLMUnavailable, match="timed out after 0.15 s"):
        model.generate(MESSAGES)
    assert model.generate(MESSAGES, timeout_s=5) == "Take it at night."


def test_openai_client_unreachable_server_is_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LLMUnavailable, match="unreachable"):
        _client(f"http://127.0.0.1:{port}/v1").generate(MESSAGES)


# ---- backend choice ------------------------------------------------------------------------------

def _settings(llm: dict | None = None, **env: str) -> Settings:
    base = load_settings(environ={"SUIFANG_CONFIG": "/nonexistent.yaml", **env})
    if llm is None:
        return base
    data = base.model_dump()
    data["models"]["llm"].update(llm)
    return Settings.model_validate({**data, "llm_api_key": base.llm_api_key, "secret_key": "x"})


def test_build_language_model_follows_config() -> None:
    assert isinstance(build_language_model(_settings({"backend": "off"})), DisabledModel)
    local = build_language_model(_settings())
    assert isinstance(local, LocalLlamaModel) and local._llama is None  # building never loads weights
    remote = build_language_model(_settings({"backend": "openai", "openai": {"base_url": "http://127.0.0.1:9/v1",
                                                                           "model": "m1"}},
                                            SUIFANG_LLM_API_KEY="k"))
    assert isinstance(remote, OpenAICompatibleModel) and remote.name == "openai:m1"


def test_build_language_model_rejects_unknown_backend() -> None:
    settings = SimpleNamespace(models=SimpleNamespace(llm=SimpleNamespace(backend="gpt5")))
    with pytest.raises(ValueError, match="local, openai, off"):
        build_language_model(settings)


def test_disabled_model_raises_unavailable() -> None:
    with pytest.raises(LLMUnavailable):
        DisabledModel().generate(MESSAGES)


def test_local_model_load_failure_is_unavailable_and_fails_fast(tmp_path: Path) -> None:
    calls = []

    def broken_path() -> Path:
        calls.append(1)
        raise weights.WeightsError("SHA-256 mismatch")

    model = LocalLlamaModel(broken_path)
    for _ in range(2):
        with pytest.raises(LLMUnavailable, match="SHA-256 mismatch"):
            model.generate(MESSAGES)
    assert len(calls) == 1  # the broken load is not retried on every call


# ---- weights -------------------------------------------------------------------------------------

def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_verify_sha256_and_sidecar_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    weights.verify_sha256(path, _sha(b"weights"))
    assert (tmp_path / "w.bin.sha256.json").exists()

    # A restart trusts the sidecar: no rehash.
    monkeypatch.setattr(weights, "sha256_file", lambda p: pytest.fail("rehashed a verified file"))
    weights.verify_sha256(path, _sha(b"weights"))
    monkeypatch.undo()

    # A changed file (size/mtime) is rehashed and fails.
    path.write_bytes(b"tampered!")
    with pytest.raises(weights.WeightsError, match="SHA-256 mismatch"):
        weights.verify_sha256(path, _sha(b"weights"))
    with pytest.raises(weights.WeightsError, match="not found"):
        weights.verify_sha256(tmp_path / "missing.bin", _sha(b""))


def test_assemble_parts_in_order_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = []
    for i, chunk in enumerate([b"alpha-", b"beta-", b"gamma"]):
        part = tmp_path / f"part{i:02d}.bin"
        part.write_bytes(chunk)
        parts.append(part)
    dest = tmp_path / "models" / "joined.gguf"
    expected = _sha(b"alpha-beta-gamma")
    assert weights.assemble_parts(parts, dest, expected) == dest
    assert dest.read_bytes() == b"alpha-beta-gamma"

    # Present and verified: left alone (not rewritten).
    mtime = dest.stat().st_mtime_ns
    weights.assemble_parts(parts, dest, expected)
    assert dest.stat().st_mtime_ns == mtime

    # Wrong order → wrong hash → clear error, and no half-written file under the final name.
    other = tmp_path / "models" / "other.gguf"
    with pytest.raises(weights.WeightsError, match="SHA-256 mismatch after joining 3 parts"):
        weights.assemble_parts(list(reversed(parts)), other, expected)
    assert not other.exists()
    assert [p.name for p in other.parent.iterdir() if p.name.endswith(".part")] == []


def test_packaged_weights_are_found_in_site_packages() -> None:
    paths = weights.QWEN25_CODER_05B_Q4KM.part_paths()
    assert [p.name for p in paths] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert all("site-packages" in str(p) for p in paths)
    with pytest.raises(weights.WeightsError, match="not installed"):
        weights.packaged_file("no_such_weights_package_xyz", "data/part01.bin")


# ---- the real local model (packaged Qwen2.5-Coder-0.5B) -----------------------------------------

@contextlib.contextmanager
def network_forbidden() -> Iterator[None]:
    """Any connection to a non-loopback address raises: weights must come from disk."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address) -> None:  # noqa: ANN001
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6) \
                and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(self, address)

    socket.socket.connect = guarded
    try:
        yield
    finally:
        socket.socket.connect = real_connect


@pytest.fixture()
def no_network() -> Iterator[None]:
    with network_forbidden():
        yield


@functools.lru_cache(maxsize=1)
def shared_local_model() -> LocalLlamaModel:
    """One loaded local model per test process (also used by test_answers), loaded offline."""
    model = build_language_model(load_settings(environ={"SUIFANG_CONFIG": "/nonexistent.yaml"}))
    assert isinstance(model, LocalLlamaModel)
    # The tests check what the model says, not how fast: a loaded CI machine must not turn a slow reply
    # into a timeout (the time bound itself is tested against a fake server in this file).
    model.timeout_s = 600.0
    with network_forbidden():
        model.warm_up()
    return model


EXTRACTION = [
    {"role": "system", "content": 'Extract the medications as JSON: {"medications": [{"name": string, '
                                  '"dose": number, "unit": string}]}. Output JSON only.'},
    {"role": "user", "content": "阿司匹林肠溶片 100mg 口服 每日一次 长期服用"},
]


@pytest.mark.models
def test_local_model_loads_offline_and_extracts_json_deterministically(no_network: None) -> None:
    model = shared_local_model()
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert model.load_seconds is not None
    first = model.generate(EXTRACTION, json_mode=True, max_tokens=120)
    second = model.generate(EXTRACTION, json_mode=True, max_tokens=120)
    assert first == second  # temperature 0, fixed seed
    medications = json.loads(first)["medications"]
    assert medications[0]["name"].startswith("阿司匹林")
    assert float(medications[0]["dose"]) == 100


@pytest.mark.models
def test_local_model_wall_time_and_token_bounds() -> None:
    model = shared_local_model()
    original = model.timeout_s
    model.timeout_s = 0.05
    try:
        with pytest.raises(LLMUnavailable, match="timed out"):
            model.generate([{"role": "user", "content": "Count from 1 to 200, one number per line."}], max_tokens=400)
    finally:
        model.timeout_s = original
    # A JSON reply cut off by max_tokens is not valid JSON: unavailable, not a broken string.
    with pytest.raises(LLMUnavailable, match="max_tokens"):
        model.generate(EXTRACTION, json_mode=True, max_tokens=5)
