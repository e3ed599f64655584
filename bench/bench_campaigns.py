"""Call campaign load run on one machine: N simulated patients (the personas of the follow-up eval
scenarios, answering by text over the loopback telephony) called through Celery workers with a
Redis broker and PostgreSQL, dispatched by the real dispatcher tick. Prints calls/hour and turn
latency percentiles (a turn: the patient's words in, the reply computed and committed).

Needs Redis at 127.0.0.1:6379 and PostgreSQL at 127.0.0.1:5432 (user postgres, trust); a scratch
database is created and dropped. The language model is off (rules), so this measures the campaign
machinery, dialog engine and record store, not speech or model time.

Usage: python bench/bench_campaigns.py [--patients 200] [--workers 2] [--concurrency 2]
                                       [--answer-delay 0] [--keep]"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("SUIFANG_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BROKER = os.environ.get("SUIFANG_BENCH_BROKER", "redis://127.0.0.1:6379/13")
LATENCY_LIST = "suifang:bench:turn_ms"
SCENARIO_FILES = [ROOT.parent / "shared" / "eval" / "followup-dev.yaml", ROOT / "tests" / "data" / "followup-extra.yaml"]


def worker_main() -> None:
    """A Celery worker whose loopback calls push each turn's latency to Redis (`--worker` mode)."""
    import redis

    from suifang.services import Services
    from campaigns import celery_app as module
    from campaigns.telephony import LoopbackTelephony
    from campaigns.worker import CampaignContext
    from suifang.config import load_settings

    settings = load_settings()
    sink = redis.Redis.from_url(settings.campaigns.broker_url)

    def context() -> CampaignContext:
        loop = LoopbackTelephony.from_file(settings.campaigns.loopback.personas_file,
                                           answer_delay_s=settings.campaigns.loopback.answer_delay_s,
                                           on_turn=lambda ms: sink.rpush(LATENCY_LIST, f"{ms:.3f}"))
        return CampaignContext.from_services(Services.build(settings), telephony=loop)

    module.context_factory = context
    module.celery_app.worker_main(["worker", "--loglevel=WARNING", f"--concurrency={os.environ['BENCH_CONCURRENCY']}",
                                   "--pool=threads", "--without-gossip", "--without-mingle"])


def percentile(values: list[float], q: int) -> float:
    return round(statistics.quantiles(sorted(values), n=100, method="inclusive")[q - 1], 2) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="threads (calls at a time) per worker")
    parser.add_argument("--answer-delay", type=float, default=0.0, help="seconds the patient takes per answer")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main()
        return

    import redis
    import yaml
    from sqlalchemy import create_engine, func, select, text

    from campaigns.telephony import LoopbackTelephony
    from campaigns.windows import CallingPolicy
    from campaigns.worker import CampaignContext, CeleryQueue, dispatch_tick
    from evaluation.followup import load_scenarios
    from dialogs.flows import load_flows
    from knowledge.ingest import ingest_discharge
    from records import store
    from records.db import make_engine, make_session_factory, upgrade
    from records.schema import CallAttempt, ScheduledCall, Turn, Ward
    from suifang.config import load_settings

    try:
        broker = redis.Redis.from_url(BROKER)
        broker.flushdb()
    except redis.RedisError as exc:
        sys.exit(f"Redis not reachable at {BROKER}: {exc}")
    name = f"suifang_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    tmp = Path(tempfile.mkdtemp(prefix="suifang-bench-"))
    workers: list[subprocess.Popen] = []
    try:
        upgrade(url)
        # Personas: every scenario that answers the phone, repeated with a unique number each.
        pool = [s for f in SCENARIO_FILES if f.exists() for s in load_scenarios(f)
                if not any(isinstance(e, dict) and e.get("no_answer") for e in s.get("events") or [])]
        people = []
        for i in range(args.patients):
            person = copy.deepcopy(pool[i % len(pool)])
            person["patient"]["phone"] = f"1390{i:07d}"
            people.append(person)
        personas = tmp / "personas.yaml"
        personas.write_text(yaml.safe_dump(people, allow_unicode=True), encoding="utf-8")
        env = dict(os.environ, SUIFANG__DATABASE__URL=url, SUIFANG__SERVICE__DATA_DIR=str(tmp),
                   SUIFANG__KNOWLEDGE__CHROMA_DIR=str(tmp / "chroma"), SUIFANG__MODELS__LLM__BACKEND="off",
                   SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing", SUIFANG__CAMPAIGNS__WORKERS="celery",
                   SUIFANG__CAMPAIGNS__BROKER_URL=BROKER, SUIFANG__CAMPAIGNS__WINDOWS='["00:00-24:00"]',
                   SUIFANG__CAMPAIGNS__MAX_TRIES="1", SUIFANG__CAMPAIGNS__LOOPBACK__PERSONAS_FILE=str(personas),
                   SUIFANG__CAMPAIGNS__LOOPBACK__ANSWER_DELAY_S=str(args.answer_delay),
                   SUIFANG_SECRET_KEY=uuid.uuid4().hex * 2, BENCH_CONCURRENCY=str(args.concurrency),
                   PYTHONPATH=str(ROOT))
        settings = load_settings(environ=env)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        today = dt.datetime.now(CallingPolicy.from_settings(settings).timezone).date()
        began = time.perf_counter()
        with factory() as session:
            for person in people:
                d = person["discharge"]
                ward = Ward(code=f"B-{uuid.uuid4().hex[:8]}", name="ward", department=d["department"], team_name="team")
                session.add(ward)
                session.flush()
                patient = store.create_patient(session, ward=ward, name=person["patient"]["name"],
                                               phone=person["patient"]["phone"], sex=person["patient"].get("sex"),
                                               birth_year=person["patient"].get("birth_year"),
                                               language=person["language"])
                discharge = store.create_discharge(session, patient=patient, department=d["department"],
                                                   diagnosis=d.get("diagnosis", ""),
                                                   discharged_on=today - dt.timedelta(days=int(person.get("call_day", 7))),
                                                   order_text=d["orders"], language=person["language"],
                                                   surgery=bool(d.get("surgery")))
                plan = ingest_discharge(session, discharge=discharge, settings=settings)
                plan.calls = [ScheduledCall(patient_id=patient.id, day_offset=int(person.get("call_day", 7)),
                                            due_date=today)]
            session.commit()
        print(f"seeded {args.patients} patients in {time.perf_counter() - began:.1f} s; "
              f"starting {args.workers} Celery workers x {args.concurrency} threads")

        workers = [subprocess.Popen([sys.executable, __file__, "--worker"], env=env, cwd=ROOT) for _ in range(args.workers)]
        ctx = CampaignContext(session_factory=factory, settings=settings, flows=load_flows(),
                              policy=CallingPolicy.from_settings(settings), telephony=LoopbackTelephony(scenarios=[]))
        queue = CeleryQueue(broker_url=BROKER)
        batch = 2 * args.workers * args.concurrency
        time.sleep(3)  # let the workers connect, so start-up is not counted as call time
        started = time.perf_counter()
        while True:
            dispatch_tick(ctx, queue, batch=batch)
            with factory() as session:
                left = session.scalar(select(func.count()).select_from(ScheduledCall)
                                      .where(ScheduledCall.status.in_(("scheduled", "dispatched"))))
            if not left:
                break
            if any(w.poll() is not None for w in workers):
                sys.exit("a worker exited")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        queue.close()
        with factory() as session:
            statuses = dict(session.execute(select(CallAttempt.call_status, func.count())
                                            .group_by(CallAttempt.call_status)).all())
            duplicates = session.scalar(select(func.count()).select_from(CallAttempt)) - args.patients
            engine_ms = [t for t in session.scalars(select(Turn.latency_ms).where(Turn.speaker == "system",
                                                                                  Turn.latency_ms.is_not(None)))]
        turns = [float(v) for v in broker.lrange(LATENCY_LIST, 0, -1)]
        report = {
            "patients": args.patients, "workers": args.workers, "threads_per_worker": args.concurrency,
            "answer_delay_s": args.answer_delay, "elapsed_s": round(elapsed, 1),
            "calls_per_hour": round(args.patients / elapsed * 3600),
            "turns": len(turns), "turn_p50_ms": percentile(turns, 50), "turn_p95_ms": percentile(turns, 95),
            "engine_turn_p95_ms": percentile(engine_ms, 95), "extra_attempts": duplicates, "call_status": statuses,
        }
        print(f"{args.patients} calls in {elapsed:.1f} s → {report['calls_per_hour']} calls/hour; "
              f"turn latency p50 {report['turn_p50_ms']} ms, p95 {report['turn_p95_ms']} ms "
              f"({len(turns)} turns; engine alone p95 {report['engine_turn_p95_ms']} ms); "
              f"extra attempts {duplicates}; outcomes {statuses}")
        print(json.dumps(report, ensure_ascii=False))
        engine.dispose()
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=20)
            except subprocess.TimeoutExpired:
                w.kill()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
