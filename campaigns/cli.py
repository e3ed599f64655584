"""`suifang campaigns run`: the dispatcher loop (kept out of suifang/cli.py to keep that file small)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def run_dispatcher(settings: Any, *, once: bool = False, echo: Callable[[str], None] = print) -> None:
    from suifang.services import Services
    from campaigns.worker import CampaignContext, InProcessQueue, build_queue, dispatch_tick
    from records.db import upgrade

    upgrade(settings.database.url)
    services = Services.build(settings)
    ctx = CampaignContext.from_services(services)
    queue = build_queue(ctx)
    try:
        while True:
            report = dispatch_tick(ctx, queue)
            if report.dispatched or report.recovered:
                echo(f"dispatched {report.dispatched}, recovered {report.recovered}, cancelled {report.cancelled}")
            if once:
                if isinstance(queue, InProcessQueue):
                    queue.wait()
                return
            time.sleep(settings.campaigns.tick_seconds)
    finally:
        queue.close()
        services.close()
