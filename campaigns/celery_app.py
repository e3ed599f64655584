"""Celery workers for call campaigns (`campaigns.workers: celery`), Redis as the broker.

Start with `suifang campaigns worker` (or `celery -A campaigns.celery_app worker`). Messages are
acknowledged on receipt: the database lease, not the broker, decides whether a try is recovered,
so a killed worker's try is retried by the sweep once and never redelivered behind its back."""

from __future__ import annotations

import threading

from celery import Celery

from suifang.config import load_settings

RUN_ATTEMPT = "suifang.campaigns.run_attempt"


def make_celery(broker_url: str) -> Celery:
    app = Celery("suifang", broker=broker_url)
    app.conf.update(task_ignore_result=True, worker_prefetch_multiplier=1, task_acks_late=False,
                    broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)
    return app


celery_app = make_celery(load_settings().campaigns.broker_url)
_context = None
_context_lock = threading.Lock()
context_factory = None  # a bench may set a factory of the worker's CampaignContext before the worker starts


def _worker_context():  # noqa: ANN202
    # Built in the worker process on first use, so no database connection crosses a fork.
    global _context
    with _context_lock:
        if _context is None:
            from suifang.services import Services
            from campaigns.worker import CampaignContext

            _context = context_factory() if context_factory else \
                CampaignContext.from_services(Services.build(load_settings()))
        return _context


@celery_app.task(name=RUN_ATTEMPT)
def run_attempt_task(key: str) -> str | None:
    from campaigns.worker import run_attempt

    return run_attempt(_worker_context(), key=key)
