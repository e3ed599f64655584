"""Discharge-order structuring with a hard time bound.

knowledge.structurer is pure Python regular expressions: a pathological text can keep it busy far
longer than a request should last (a 20 000-character line without breaks took ≈ 12 s, and a
thread running a regular expression can be neither interrupted nor killed, so it would keep a core
and the GIL after the request gave up). Here structuring runs in small worker processes instead: a
text not structured within the timeout gets its worker killed and the caller a StructuringTimeout.

Workers are started with `spawn` (a clean interpreter that imports only the structurer), on first
use, and kept for the next text."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0  # a worker's first import on a loaded machine; not part of a text's budget


class StructuringTimeout(Exception):
    """The text was not structured within the time bound (or no worker was free in time)."""


class StructuringFailed(RuntimeError):
    """The structurer raised, or its worker died; the message names the exception."""


def _serve(conn: Connection) -> None:  # pragma: no cover - runs in the worker process
    from knowledge.structurer import structure_orders

    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        text, language = request
        try:
            conn.send(("ok", structure_orders(text, language=language)))
        except Exception as exc:  # noqa: BLE001 - reported to the caller, the worker stays
            conn.send(("error", f"{exc.__class__.__name__}: {exc}"))


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), name="suifang-structurer", daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(START_TIMEOUT_S):
            self.kill()
            raise StructuringFailed(f"structuring worker did not start within {START_TIMEOUT_S:g} s")
        self.conn.recv()

    def run(self, text: str, language: str | None, timeout_s: float) -> Any:
        self.conn.send((text, language))
        if not self.conn.poll(timeout_s):
            raise StructuringTimeout(f"not structured within {timeout_s:g} s")
        kind, value = self.conn.recv()
        if kind != "ok":
            raise StructuringFailed(value)
        return value

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class StructuringWorkers:
    """At most `max_workers` texts are structured at once; a caller waits for a free worker within
    its own timeout."""

    def __init__(self, *, max_workers: int = 2) -> None:
        self.max_workers = max_workers
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._running = 0
        self._closed = False
        self._cond = threading.Condition()

    def structure(self, text: str, *, language: str | None, timeout_s: float) -> Any:
        """knowledge.structurer.structure_orders(text, language=language) within timeout_s (blocking:
        call it from a thread). Raises StructuringTimeout or StructuringFailed."""
        worker = self._acquire(time.monotonic() + timeout_s)
        healthy = False
        try:
            result = worker.run(text, language, timeout_s)
            healthy = True
            return result
        except StructuringTimeout:
            log.warning("structuring took longer than %.1f s (%d characters); worker stopped", timeout_s, len(text))
            raise
        except (EOFError, OSError, BrokenPipeError) as exc:
            raise StructuringFailed(f"structuring worker died ({exc.__class__.__name__})") from None
        except StructuringFailed:
            healthy = worker.process.is_alive()
            raise
        finally:
            self._release(worker, healthy=healthy)

    def _acquire(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise StructuringFailed("structuring workers are shut down")
                if self._idle:
                    self._running += 1
                    return self._idle.pop()
                if self._running + len(self._idle) < self.max_workers:
                    self._running += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StructuringTimeout("every structuring worker stayed busy past the time bound")
                self._cond.wait(remaining)
        try:
            return _Worker(self._ctx)
        except BaseException:
            with self._cond:
                self._running -= 1
                self._cond.notify()
            raise

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        with self._cond:
            self._running -= 1
            keep = healthy and not self._closed
            if keep:
                self._idle.append(worker)
            self._cond.notify()
        if not keep:
            worker.kill()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            worker.kill()
