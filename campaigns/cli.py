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
    start = getattr(ctx.telephony, "start", None)
    if start is not None:
        start()   # the SIP line registers with the PBX or trunk and answers calls to the service's number
        echo(f"SIP line up: {settings.campaigns.sip.max_channels} channels, "
             f"inbound {'on' if settings.campaigns.sip.inbound else 'off'}")
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
        if start is not None:
            from campaigns.sip import SipEndpoint

            SipEndpoint.shutdown_shared()
        services.close()
