"""Language models behind one small interface, chosen once from `models.llm.backend`.

- `local`: llama.cpp over the packaged Qwen2.5-Coder-0.5B-Instruct GGUF (or a configured GGUF).
- `openai`: any OpenAI-compatible /chat/completions server (vLLM, Ollama, a hospital gateway).
- `off`: no model; every call raises LLMUnavailable.

Every failure (load error, timeout, HTTP error, malformed reply) is raised as LLMUnavailable so that
callers have exactly one thing to catch before falling back to their rule-based path. Calls are
blocking; async callers wrap them in asyncio.to_thread. Prompts and replies carry patient data and
are never logged.
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx

from models.weights import enforce_offline, local_llm_path

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]
LLM_BACKENDS = ("local", "openai", "off")
DEFAULT_SEED = 20260101  # fixed: same prompt, same answer (temperature is 0 as well)


class LLMUnavailable(RuntimeError):
    """The model could not produce a usable reply; use the rule-based path instead."""


@runtime_checkable
class LanguageModel(Protocol):
    name: str

    def generate(self, messages: Messages, *, max_tokens: int | None = None, json_mode: bool = False,
                 timeout_s: float | None = None) -> str:
        """The assistant reply to `messages`. With json_mode the reply is one JSON object (as text).
        timeout_s overrides the configured limit for this reply (work after a call may take longer)."""
        ...


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def _checked_json(text: str) -> str:
    """The reply as a JSON object text, or LLMUnavailable (servers that ignore response_format
    sometimes wrap JSON in a markdown fence; that is unwrapped)."""
    match = _FENCE.match(text)
    candidate = match.group(1) if match else text.strip()
    try:
        value = json.loads(candidate)
    except ValueError:
        raise LLMUnavailable("model reply is not valid JSON") from None
    if not isinstance(value, dict):
        raise LLMUnavailable("model reply is JSON but not an object")
    return candidate


class LocalLlamaModel:
    """llama.cpp (llama-cpp-python) in-process; loaded on the first call, one generation at a time.

    Greedy decoding (temperature 0) with a fixed seed, so a prompt always gets the same reply.
    Each call is bounded by max_tokens and by timeout_s of wall time (including the wait for
    another call to finish): generation is streamed and abandoned when the deadline passes."""

    def __init__(self, model_path: Path | str | Callable[[], Path], *, n_ctx: int = 4096, n_threads: int = 2,
                 max_tokens: int = 256, timeout_s: float = 20.0, seed: int = DEFAULT_SEED,
                 name: str | None = None) -> None:
        # A callable path defers assembling/verifying the packaged weights to the first load.
        self._model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.seed = seed
        self.name = name or "local-gguf"
        self.load_seconds: float | None = None
        self._llama: Any = None
        self._load_error: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> LocalLlamaModel:  # noqa: ANN001 - suifang.config.Settings
        cfg = settings.models.llm
        label = Path(cfg.local.gguf_path).name if cfg.local.gguf_path else "qwen2.5-coder-0.5b-instruct-q4_k_m"
        return cls(lambda: local_llm_path(settings), n_ctx=cfg.local.n_ctx, n_threads=cfg.local.threads,
                   max_tokens=cfg.max_tokens, timeout_s=cfg.timeout_s, name=f"local:{label}")

    def warm_up(self) -> float:
        """Load now (e.g. at startup, in a thread); returns the load time in seconds."""
        with self._lock:
            self._ensure_loaded()
        return self.load_seconds or 0.0

    def _ensure_loaded(self) -> Any:
        if self._llama is not None:
            return self._llama
        if self._load_error is not None:
            # Fail fast: retrying a broken 400 MB load on every call would stall each caller.
            raise LLMUnavailable(self._load_error)
        started = time.monotonic()
        try:
            enforce_offline()
            from llama_cpp import Llama

            path = self._model_path() if callable(self._model_path) else Path(self._model_path)
            self._llama = Llama(model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                n_threads_batch=self.n_threads, seed=self.seed, verbose=False)
        except Exception as exc:  # noqa: BLE001 - any load failure means "no model"
            self._load_error = f"local model failed to load: {exc.__class__.__name__}: {exc}"
            log.error("%s", self._load_error)
            raise LLMUnavailable(self._load_error) from exc
        self.load_seconds = time.monotonic() - started
        # Free llama.cpp's memory while the interpreter is intact (its __del__ at shutdown errors).
        atexit.register(self.close)
        log.info("local LLM %s loaded in %.2f s", self.name, self.load_seconds)
        return self._llama

    def close(self) -> None:
        """Release the model (it is loaded again on the next call)."""
        if not self._lock.acquire(timeout=2):  # a generation still running at exit: leave it
            return
        try:
            llama, self._llama = self._llama, None
        finally:
            self._lock.release()
        if llama is not None:
            llama.close()

    def generate(self, messages: Messages, *, max_tokens: int | None = None, json_mode: bool = False,
                 timeout_s: float | None = None) -> str:
        # Callers may ask for more than the configured default (a long extraction), never more
        # than half the context.
        limit = max(1, min(max_tokens or self.max_tokens, self.n_ctx // 2))
        limit_s = timeout_s or self.timeout_s
        if not self._lock.acquire(timeout=limit_s):
            raise LLMUnavailable("local model busy past the timeout")
        try:
            llama = self._ensure_loaded()
            # The time bound is on generation: a first call also pays the one-off load.
            deadline = time.monotonic() + limit_s
            text, finish = self._stream(llama, messages, limit, json_mode, deadline, limit_s)
        finally:
            self._lock.release()
        if json_mode:
            if finish == "length":
                raise LLMUnavailable("JSON reply cut off at max_tokens")
            return _checked_json(text)
        return text.strip()

    def _stream(self, llama: Any, messages: Messages, limit: int, json_mode: bool,
                deadline: float, limit_s: float) -> tuple[str, str | None]:
        kwargs: dict[str, Any] = {}
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}  # grammar-constrained decoding
        pieces: list[str] = []
        finish: str | None = None
        try:
            stream = llama.create_chat_completion(messages=messages, temperature=0.0, top_k=1, seed=self.seed,
                                                  max_tokens=limit, stream=True, **kwargs)
            try:
                for chunk in stream:
                    choice = chunk["choices"][0]
                    pieces.append(choice.get("delta", {}).get("content") or "")
                    finish = choice.get("finish_reason") or finish
                    if time.monotonic() > deadline:
                        raise LLMUnavailable(f"local model timed out after {limit_s:g} s")
            finally:
                stream.close()
        except LLMUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. prompt longer than the context
            raise LLMUnavailable(f"local generation failed: {exc.__class__.__name__}") from exc
        return "".join(pieces), finish


class OpenAICompatibleModel:
    """POST {base_url}/chat/completions (OpenAI wire format) with httpx; temperature 0.

    The whole request, including reading the body, is bounded by timeout_s."""

    def __init__(self, *, base_url: str, model: str, api_key: str = "", max_tokens: int = 256,
                 timeout_s: float = 20.0, transport: httpx.BaseTransport | None = None) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers,
                                    timeout=httpx.Timeout(timeout_s), transport=transport)

    @classmethod
    def from_settings(cls, settings) -> OpenAICompatibleModel:  # noqa: ANN001
        cfg = settings.models.llm
        return cls(base_url=cfg.openai.base_url, model=cfg.openai.model, api_key=settings.llm_api_key,
                   max_tokens=cfg.max_tokens, timeout_s=cfg.timeout_s)

    def generate(self, messages: Messages, *, max_tokens: int | None = None, json_mode: bool = False,
                 timeout_s: float | None = None) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0,
                                "max_tokens": max_tokens or self.max_tokens, "stream": False}
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        limit_s = timeout_s or self.timeout_s
        deadline = time.monotonic() + limit_s
        try:
            with self._client.stream("POST", "chat/completions", json=body,
                                     timeout=httpx.Timeout(limit_s)) as response:
                chunks = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise LLMUnavailable(f"LLM server timed out after {limit_s:g} s")
                if response.status_code != 200:
                    log.warning("LLM server answered HTTP %d", response.status_code)
                    raise LLMUnavailable(f"LLM server answered HTTP {response.status_code}")
            data = json.loads(b"".join(chunks))
            content = data["choices"][0]["message"]["content"]
        except LLMUnavailable:
            raise
        except httpx.TimeoutException as exc:
            raise LLMUnavailable(f"LLM server timed out after {limit_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"LLM server unreachable: {exc.__class__.__name__}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMUnavailable("LLM server reply is not a chat completion") from exc
        if not isinstance(content, str):
            raise LLMUnavailable("LLM server reply has no text content")
        return _checked_json(content) if json_mode else content.strip()

    def close(self) -> None:
        self._client.close()


class DisabledModel:
    """backend: off. Callers catch LLMUnavailable and use their rules, as for any failure."""

    name = "off"

    def generate(self, messages: Messages, *, max_tokens: int | None = None, json_mode: bool = False,
                 timeout_s: float | None = None) -> str:
        raise LLMUnavailable("language model is switched off (models.llm.backend: off)")


def build_language_model(settings) -> LanguageModel:  # noqa: ANN001 - suifang.config.Settings
    """The configured backend. Building never loads weights; the local model loads on first use."""
    backend = settings.models.llm.backend
    if backend == "local":
        return LocalLlamaModel.from_settings(settings)
    if backend == "openai":
        return OpenAICompatibleModel.from_settings(settings)
    if backend == "off":
        return DisabledModel()
    raise ValueError(f"unknown models.llm.backend {backend!r}; valid: {', '.join(LLM_BACKENDS)}")
