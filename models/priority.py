"""Work that must not slow the turns of calls in progress (prompts rendered ahead, the second reader
after a call) runs in threads at a lower CPU priority."""

from __future__ import annotations

import os
import threading

BACKGROUND_NICE = 10  # background work yields the CPU to the turns of calls in progress


def lower_this_thread() -> None:
    """Lower the calling thread's priority (and that of the threads it starts, which inherit it): on
    Linux a thread's nice value is its own."""
    try:
        process = os.getpriority(os.PRIO_PROCESS, os.getpid())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, process + BACKGROUND_NICE))
    except (AttributeError, OSError):  # not Linux, or not allowed: it still works, at normal priority
        pass
