"""Call campaigns (issue #8 A): calling windows and the retry ladder with injected time, idempotent
dispatch under racing dispatcher processes, a killed worker's try recovered once, the Twilio adapter
against a local fake of Twilio's REST API, loopback calls through real Celery workers."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import create_engine, func, select, text

from campaigns.telephony import LoopbackTelephony, TwilioTelephony, twilio_call_status
from campaigns.windows import CallingPolicy, parse_window
from campaigns.worker import CampaignContext, dispatch_tick, run_attempt
from records import campaigns as store
from records.db import make_engine, make_session_factory, upgrade
from records.schema import (
    CallAttempt,
    CallSession,
    FollowupPlan,
    Outcome,
    Patient,
    ReviewItem,
    ScheduledCall,
    Turn,
    Ward,
)
from tests.conftest import PG_ADMIN_URL, make_settings

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
EXTRA = ROOT / "tests" / "data" / "followup-extra.yaml"
DEV = ROOT.parent / "shared" / "eval" / "followup-dev.yaml"


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ).astimezone(dt.timezone.utc)


def policy(**overrides: Any) -> CallingPolicy:
    options = {"timezone": "Asia/Shanghai", "windows": ["09:00-11:30", "14:30-20:00"],
               "holidays": [dt.date(2026, 12, 2)], "retry_minutes": [30, 60, 120], "max_tries": 4,
               "lease_seconds": 120}
    options.update(overrides)
    return CallingPolicy.build(**options)


def scenarios(path: Path) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in yaml.safe_load(path.read_text(encoding="utf-8"))}


# ----- windows and ladder (pure) --------------------------------------------------------------------

def test_calling_windows_follow_hospital_time_and_skip_holidays() -> None:
    p = policy()
    assert p.next_calling_time(local(2026, 12, 1, 8, 59)) == local(2026, 12, 1, 9, 0)
    assert p.next_calling_time(local(2026, 12, 1, 10, 0)) == local(2026, 12, 1, 10, 0)
    assert p.next_calling_time(local(2026, 12, 1, 11, 30)) == local(2026, 12, 1, 14, 30)  # end is exclusive
    assert p.next_calling_time(local(2026, 12, 1, 20, 0)) == local(2026, 12, 3, 9, 0)     # 12-02 is a holiday
    assert p.may_call(local(2026, 12, 1, 19, 59)) and not p.may_call(local(2026, 12, 1, 12, 0))
    assert not p.may_call(local(2026, 12, 2, 10, 0))
    # 01:00 UTC is 09:00 in Shanghai: the window is in hospital time, not the server's.
    assert p.may_call(dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.timezone.utc))
    assert parse_window("00:00-24:00").end_minute == 1440
    for bad in ("9-11", "11:30-09:00", "09:00-25:00"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_retry_ladder_moves_into_the_next_window() -> None:
    p = policy()
    assert p.retry_at(tries_done=1, ended_at=local(2026, 12, 1, 9, 5)) == local(2026, 12, 1, 9, 35)
    assert p.retry_at(tries_done=2, ended_at=local(2026, 12, 1, 9, 40)) == local(2026, 12, 1, 10, 40)
    assert p.retry_at(tries_done=2, ended_at=local(2026, 12, 1, 11, 0)) == local(2026, 12, 1, 14, 30)
    assert p.retry_at(tries_done=3, ended_at=local(2026, 12, 1, 19, 0)) == local(2026, 12, 3, 9, 0)
    assert p.retry_at(tries_done=7, ended_at=local(2026, 12, 1, 15, 0)) == local(2026, 12, 1, 17, 0)  # last step repeats


def test_campaign_settings_come_from_config_and_environment(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/s.db", tmp_path, SUIFANG__CAMPAIGNS__WINDOWS='["08:00-12:00"]',
                             SUIFANG__CAMPAIGNS__HOLIDAYS="[2026-10-01]", SUIFANG_TWILIO_AUTH_TOKEN="twilio-secret-7f3a")
    p = CallingPolicy.from_settings(settings)
    assert p.windows == (parse_window("08:00-12:00"),) and p.holidays == {dt.date(2026, 10, 1)}
    assert p.retry_minutes == (30, 60, 120) and settings.campaigns.workers == "inprocess"
    assert settings.twilio_auth_token == "twilio-secret-7f3a" and "7f3a" not in settings.model_dump_json()


# ----- the record store ------------------------------------------------------------------------------

class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class InlineQueue:
    """Runs each claimed try at once in this thread: the worker code path, deterministic."""

    def __init__(self, ctx: CampaignContext) -> None:
        self.ctx, self.decisions = ctx, []

    def submit(self, keys: list[str]) -> None:
        self.decisions += [run_attempt(self.ctx, key=key) for key in keys]

    def close(self) -> None:
        pass


def seed_scenario(session_factory: Any, settings: Any, scenario: dict[str, Any], *, phone: str,
                  discharged_on: dt.date, days: tuple[int, ...] = (3,)) -> tuple[int, list[int]]:
    """A patient, discharge (structured by the real ingest) and scheduled calls on the given days."""
    from knowledge.ingest import ingest_discharge
    from records import store as records_store

    d = scenario["discharge"]
    with session_factory() as session:
        ward = Ward(code=f"CP-{uuid.uuid4().hex[:8]}", name="ward", department=d["department"], team_name="team")
        session.add(ward)
        session.flush()
        p = scenario["patient"]
        patient = records_store.create_patient(session, ward=ward, name=p["name"], phone=phone, sex=p.get("sex"),
                                               birth_year=p.get("birth_year"), language=scenario["language"])
        discharge = records_store.create_discharge(session, patient=patient, department=d["department"],
                                                   diagnosis=d.get("diagnosis", ""), discharged_on=discharged_on,
                                                   order_text=d["orders"], language=scenario["language"],
                                                   surgery=bool(d.get("surgery")))
        plan = ingest_discharge(session, discharge=discharge, settings=settings)
        plan.calls = [ScheduledCall(patient_id=patient.id, day_offset=day,
                                    due_date=discharged_on + dt.timedelta(days=day)) for day in days]
        session.commit()
        return patient.id, [c.id for c in plan.calls]


def persona(scenario: dict[str, Any], phone: str) -> dict[str, Any]:
    copied = copy.deepcopy(scenario)
    copied["patient"]["phone"] = phone
    return copied


@pytest.fixture(scope="module")
def campaign_db(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    settings = make_settings(database_url, tmp_path_factory.mktemp("campaigns"))
    engine = make_engine(database_url)
    yield settings, make_session_factory(engine)
    engine.dispose()


def context(campaign_db: tuple[Any, Any], telephony: Any, clock: FakeClock, **policy_overrides: Any) -> CampaignContext:
    from dialogs.flows import load_flows

    settings, session_factory = campaign_db
    return CampaignContext(session_factory=session_factory, settings=settings, flows=load_flows(),
                           policy=policy(**policy_overrides), telephony=telephony, clock=clock)


def test_no_answer_ladder_then_outcome_and_nurse_task(campaign_db: tuple[Any, Any]) -> None:
    settings, session_factory = campaign_db
    scenario = scenarios(EXTRA)["extra-en-no-answer"]
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    patient_id, (call_id,) = seed_scenario(session_factory, settings, scenario, phone=phone,
                                           discharged_on=dt.date(2026, 11, 28))  # due 2026-12-01
    clock = FakeClock(local(2026, 11, 30, 10, 0))
    ctx = context(campaign_db, LoopbackTelephony(scenarios=[persona(scenario, phone)]), clock)
    queue = InlineQueue(ctx)

    def tick(*moment: int) -> int:
        clock.now = local(*moment)
        return dispatch_tick(ctx, queue).dispatched

    assert tick(2026, 11, 30, 10, 0) == 0           # not due yet
    assert tick(2026, 12, 1, 8, 59) == 0            # due, but before the window
    assert tick(2026, 12, 1, 9, 0) == 1             # try 1: no answer → +30 min
    assert tick(2026, 12, 1, 9, 29) == 0
    assert tick(2026, 12, 1, 9, 30) == 1            # try 2 → +60 min
    assert tick(2026, 12, 1, 10, 29) == 0
    assert tick(2026, 12, 1, 10, 30) == 1           # try 3 → +120 min = 12:30, outside: next window 14:30
    assert tick(2026, 12, 1, 12, 30) == 0
    assert tick(2026, 12, 1, 14, 30) == 1           # try 4, the last
    assert tick(2026, 12, 3, 10, 0) == 0            # nothing left
    assert queue.decisions == ["retry", "retry", "retry", "unreached"]
    with session_factory() as session:
        attempts = session.scalars(select(CallAttempt).where(CallAttempt.scheduled_call_id == call_id)
                                   .order_by(CallAttempt.try_number)).all()
        assert [(a.try_number, a.status, a.call_status) for a in attempts] == \
            [(n, "done", "no_answer") for n in (1, 2, 3, 4)]
        assert session.get(ScheduledCall, call_id).status == "done"
        outcome = session.scalar(select(Outcome).where(Outcome.patient_id == patient_id))
        assert outcome.call_status == "no_answer" and outcome.needs_callback is True
        task = session.scalar(select(ReviewItem).where(ReviewItem.patient_id == patient_id))
        assert task.level == "task" and task.status == "open" and "4 tries" in task.reason


def test_busy_and_holiday_wait_for_the_next_window(campaign_db: tuple[Any, Any]) -> None:
    settings, session_factory = campaign_db
    scenario = copy.deepcopy(scenarios(EXTRA)["extra-en-no-answer"])
    scenario["events"] = [{"unreached": "busy"}]
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    _, (call_id,) = seed_scenario(session_factory, settings, scenario, phone=phone,
                                  discharged_on=dt.date(2026, 11, 28))
    clock = FakeClock(local(2026, 12, 1, 19, 45))
    ctx = context(campaign_db, LoopbackTelephony(scenarios=[persona(scenario, phone)]), clock, max_tries=2)
    queue = InlineQueue(ctx)
    assert dispatch_tick(ctx, queue).dispatched == 1   # busy at 19:45; +30 min is after 20:00
    with session_factory() as session:
        scheduled = session.get(ScheduledCall, call_id)
        assert scheduled.status == "scheduled"
        assert scheduled.next_attempt_at.replace(tzinfo=dt.timezone.utc) == local(2026, 12, 3, 9, 0)  # 12-02 holiday
    clock.now = local(2026, 12, 2, 10, 0)
    assert dispatch_tick(ctx, queue).dispatched == 0
    clock.now = local(2026, 12, 3, 9, 0)
    assert dispatch_tick(ctx, queue).dispatched == 1
    assert queue.decisions == ["retry", "unreached"]


def test_a_patient_who_refused_is_not_called_again(campaign_db: tuple[Any, Any]) -> None:
    settings, session_factory = campaign_db
    scenario = scenarios(EXTRA)["extra-zh-refusal"]
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    patient_id, call_ids = seed_scenario(session_factory, settings, scenario, phone=phone,
                                         discharged_on=dt.date(2026, 11, 24), days=(7, 30))
    clock = FakeClock(local(2026, 12, 1, 9, 0))
    ctx = context(campaign_db, LoopbackTelephony(scenarios=[persona(scenario, phone)]), clock)
    queue = InlineQueue(ctx)
    assert dispatch_tick(ctx, queue).dispatched == 1
    clock.now = local(2027, 1, 5, 9, 0)                # the day-30 call is due now
    assert dispatch_tick(ctx, queue).dispatched == 0
    with session_factory() as session:
        assert session.get(Patient, patient_id).do_not_call is True
        assert [session.get(ScheduledCall, i).status for i in call_ids] == ["done", "cancelled"]
        assert session.scalar(select(CallAttempt.call_status).where(CallAttempt.scheduled_call_id == call_ids[0])) \
            == "refused"


def test_a_duplicate_delivery_does_not_call_twice(campaign_db: tuple[Any, Any]) -> None:
    settings, session_factory = campaign_db
    scenario = scenarios(EXTRA)["extra-zh-refusal"]
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    seed_scenario(session_factory, settings, scenario, phone=phone, discharged_on=dt.date(2026, 11, 24), days=(7,))
    clock = FakeClock(local(2026, 12, 1, 9, 0))
    ctx = context(campaign_db, LoopbackTelephony(scenarios=[persona(scenario, phone)]), clock)
    with session_factory() as session:
        tickets = store.claim_due_calls(session, policy=ctx.policy, now=clock.now, worker_id="w1", limit=50)
    mine = [t for t in tickets if t.try_number == 1]
    assert mine
    key = mine[-1].key
    assert run_attempt(ctx, key=key) == "done"
    assert run_attempt(ctx, key=key) is None           # the broker delivered it again: nothing happens
    with session_factory() as session:
        call_ids = session.scalars(select(CallAttempt.scheduled_call_id).where(CallAttempt.key == key)).all()
        assert session.scalar(select(func.count()).select_from(CallSession)
                              .where(CallSession.scheduled_call_id == call_ids[0])) == 1


# ----- Twilio REST adapter against a local fake of Twilio's API ---------------------------------------

class FakeTwilio(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []
    sid, token = "AC" + "0" * 32, "secret-token"

    def do_POST(self) -> None:  # noqa: N802
        body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        expected = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        if self.path != f"/2010-04-01/Accounts/{self.sid}/Calls.json":
            return self._reply(404, {"code": 20404, "message": "not found"})
        if self.headers.get("Authorization") != expected:
            return self._reply(401, {"code": 20003, "message": "Authenticate"})
        if not {"To", "From", "StatusCallback"} <= set(body) or not ({"Url", "Twiml"} & set(body)):
            return self._reply(400, {"code": 21201, "message": "missing parameter"})
        sid = f"CA{uuid.uuid4().hex}"
        FakeTwilio.calls.append({k: v[0] for k, v in body.items()} | {"sid": sid})
        return self._reply(201, {"sid": sid, "status": "queued"})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def fake_twilio() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_twilio_adapter_places_the_call_and_the_status_callback_finishes_it(
        campaign_db: tuple[Any, Any], fake_twilio: str) -> None:
    from campaigns.call_tokens import read_call_token

    settings, session_factory = campaign_db
    scenario = scenarios(EXTRA)["extra-en-no-answer"]
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    _, (call_id,) = seed_scenario(session_factory, settings, scenario, phone=phone, discharged_on=dt.date(2026, 11, 28))
    clock = FakeClock(local(2026, 12, 1, 9, 0))
    twilio = TwilioTelephony(account_sid=FakeTwilio.sid, auth_token=FakeTwilio.token, from_number="+15550000000",
                             public_base_url="https://suifang.hospital.example", token_secret=settings.secret_key,
                             api_base=fake_twilio)
    ctx = context(campaign_db, twilio, clock)
    with session_factory() as session:
        tickets = store.claim_due_calls(session, policy=ctx.policy, now=clock.now, worker_id="d", limit=50)
    key = next(t.key for t in tickets if t.scheduled_call_id == call_id)
    assert run_attempt(ctx, key=key) == "placed"
    placed = FakeTwilio.calls[-1]
    assert placed["To"] == phone and placed["From"] == "+15550000000"
    webhook = urlparse(placed["Url"])
    assert webhook.path == "/twilio/voice"
    claims = read_call_token(parse_qs(webhook.query)["call_token"][0], secret=settings.secret_key)
    assert claims["scheduled_call_id"] == call_id
    assert parse_qs(urlparse(placed["StatusCallback"]).query)["attempt"] == [key]
    with session_factory() as session:
        attempt = session.scalar(select(CallAttempt).where(CallAttempt.key == key))
        assert (attempt.status, attempt.telephony_sid) == ("placed", placed["sid"])
        # Twilio reports no-answer: the try goes on the ladder; a repeated callback changes nothing.
        status = twilio_call_status("no-answer")
        assert store.record_result(session, key=key, call_status=status, now=clock.now, policy=ctx.policy) == "retry"
        assert store.record_result(session, key=key, call_status=status, now=clock.now, policy=ctx.policy) is None
    assert twilio_call_status("completed", "machine_end_beep") == "voicemail"
    assert twilio_call_status("completed", "human") is None and twilio_call_status("busy") == "busy"

    # Wrong credentials: Twilio answers 401, the try counts as failed and is retried.
    ctx.telephony = TwilioTelephony(account_sid=FakeTwilio.sid, auth_token="wrong", from_number="+15550000000",
                                    public_base_url="https://x.example", token_secret=settings.secret_key,
                                    api_base=fake_twilio)
    clock.now = local(2026, 12, 1, 9, 30)
    with session_factory() as session:
        tickets = store.claim_due_calls(session, policy=ctx.policy, now=clock.now, worker_id="d", limit=50)
    key2 = next(t.key for t in tickets if t.scheduled_call_id == call_id)
    calls_before = len(FakeTwilio.calls)
    assert run_attempt(ctx, key=key2) == "retry"
    assert len(FakeTwilio.calls) == calls_before


# ----- PostgreSQL: racing dispatchers, a killed worker -------------------------------------------------

@pytest.fixture()
def fresh_pg(postgres_url: str) -> str:
    name = f"c{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{postgres_url.rsplit('/', 1)[0]}/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


RACER = r"""
import datetime as dt, json, os, sys, time
from campaigns.windows import CallingPolicy
from records import campaigns as store
from records.db import make_engine, make_session_factory
url, go, worker = sys.argv[1], sys.argv[2], sys.argv[3]
policy = CallingPolicy.build(timezone="Asia/Shanghai", windows=["00:00-24:00"])
factory = make_session_factory(make_engine(url))
now = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
while not os.path.exists(go):
    time.sleep(0.005)
keys = []
while True:
    with factory() as session:
        batch = store.claim_due_calls(session, policy=policy, now=now, worker_id=worker, limit=7)
    if not batch:
        with factory() as session:
            if not store.claim_due_calls(session, policy=policy, now=now, worker_id=worker, limit=1):
                break
            raise SystemExit("a call was left behind")
    keys += [t.key for t in batch]
    time.sleep(0.002)
print(json.dumps(keys))
"""


def _seed_bulk(url: str, count: int) -> None:
    from records import store as records_store

    factory = make_session_factory(make_engine(url))
    with factory() as session:
        ward = Ward(code="RACE", name="ward", department="dept", team_name="team")
        session.add(ward)
        session.flush()
        for i in range(count):
            patient = records_store.create_patient(session, ward=ward, name=f"p{i}", phone=f"1300000{i:04d}")
            discharge = records_store.create_discharge(session, patient=patient, department="dept", diagnosis="dx",
                                                       discharged_on=dt.date(2026, 11, 20), order_text="-",
                                                       language="zh")
            session.add(FollowupPlan(discharge_id=discharge.id, patient_id=patient.id, kind="medical",
                                     calls=[ScheduledCall(patient_id=patient.id, day_offset=7,
                                                          due_date=dt.date(2026, 11, 27))]))
        session.commit()


def _child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.mark.postgres
def test_200_due_calls_two_racing_dispatcher_processes_no_duplicates(fresh_pg: str, tmp_path: Path) -> None:
    _seed_bulk(fresh_pg, 200)
    go = tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, fresh_pg, str(go), f"w{i}"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_child_env(), cwd=ROOT) for i in (1, 2)]
    time.sleep(1.5)  # both processes import and wait at the start line
    go.touch()
    results = [p.communicate(timeout=60) for p in racers]
    assert all(p.returncode == 0 for p in racers), [err for _, err in results]
    claimed = [json.loads(out) for out, _ in results]
    assert all(claimed), "both dispatchers should have won some calls"
    assert len(claimed[0]) + len(claimed[1]) == 200
    assert not set(claimed[0]) & set(claimed[1])
    engine = create_engine(fresh_pg)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM call_attempts")) == 200
        assert conn.scalar(text("SELECT count(DISTINCT scheduled_call_id) FROM call_attempts")) == 200
        assert conn.scalar(text("SELECT count(*) FROM scheduled_calls WHERE status = 'dispatched' AND attempts = 1")) == 200
    engine.dispose()


@pytest.mark.postgres
def test_killed_worker_loses_no_answer_and_its_try_is_retried_once(fresh_pg: str, tmp_path: Path) -> None:
    scenario = scenarios(DEV)["dev-zh-pci"] if DEV.exists() else scenarios(EXTRA)["extra-zh-surgery-clean"]
    phone = "13912345678"
    personas_file = tmp_path / "personas.yaml"
    personas_file.write_text(yaml.safe_dump([persona(scenario, phone)], allow_unicode=True), encoding="utf-8")
    overrides = {"SUIFANG__CAMPAIGNS__WINDOWS": '["00:00-24:00"]', "SUIFANG__CAMPAIGNS__LEASE_SECONDS": "5",
                 "SUIFANG__CAMPAIGNS__LOOPBACK__PERSONAS_FILE": str(personas_file),
                 "SUIFANG__CAMPAIGNS__LOOPBACK__ANSWER_DELAY_S": "0.4",
                 "SUIFANG__MODELS__EMBEDDINGS__BACKEND": "hashing"}
    settings = make_settings(fresh_pg, tmp_path, **overrides)
    engine = make_engine(fresh_pg)
    factory = make_session_factory(engine)
    today = dt.datetime.now(TZ).date()
    _, (call_id,) = seed_scenario(factory, settings, scenario, phone=phone, discharged_on=today - dt.timedelta(days=7),
                                  days=(7,))
    env = _child_env(SUIFANG__DATABASE__URL=fresh_pg, SUIFANG__SERVICE__DATA_DIR=str(tmp_path),
                     SUIFANG__KNOWLEDGE__CHROMA_DIR=str(tmp_path / "chroma"), SUIFANG__MODELS__LLM__BACKEND="off",
                     SUIFANG_SECRET_KEY=settings.secret_key, **overrides)
    worker = subprocess.Popen([sys.executable, "-m", "suifang.cli", "campaigns", "run", "--once"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def patient_turns() -> list[tuple[int, str]]:
        with factory() as session:
            return [(t.seq, t.text) for t in session.scalars(
                select(Turn).join(CallSession).where(CallSession.scheduled_call_id == call_id,
                                                     Turn.speaker == "patient").order_by(Turn.seq))]

    deadline = time.monotonic() + 30
    while len(patient_turns()) < 3:
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the worker never got into the call"
        time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    killed_at = dt.datetime.now(dt.timezone.utc)
    before = patient_turns()
    assert len(before) >= 3

    clock = FakeClock(killed_at)
    from suifang.services import Services

    services = Services.build(settings)
    ctx = CampaignContext.from_services(services, clock=clock, answer_questions=False)
    queue = InlineQueue(ctx)
    # The lease is still live: nothing is recovered, nothing dispatched again.
    report = dispatch_tick(ctx, queue)
    assert (report.recovered, report.dispatched) == (0, 0)
    with factory() as session:
        assert session.scalar(select(CallAttempt.status).where(CallAttempt.scheduled_call_id == call_id)) == "calling"
    # Past the lease: the sweep recovers the try, and the same tick dispatches the retry, which resumes the call.
    clock.now = killed_at + dt.timedelta(seconds=6)
    report = dispatch_tick(ctx, queue)
    assert (report.recovered, report.dispatched) == (1, 1)
    assert queue.decisions == ["done"]
    assert dispatch_tick(ctx, queue).dispatched == 0
    services.close()
    with factory() as session:
        attempts = session.scalars(select(CallAttempt).where(CallAttempt.scheduled_call_id == call_id)
                                   .order_by(CallAttempt.try_number)).all()
        assert [(a.try_number, a.status) for a in attempts] == [(1, "lost"), (2, "done")]
        assert attempts[0].call_id == attempts[1].call_id      # the cut-off call was continued
        sessions = session.scalars(select(CallSession).where(CallSession.scheduled_call_id == call_id)).all()
        assert len(sessions) == 1 and sessions[0].status == "ended"
        outcome = session.scalar(select(Outcome).where(Outcome.call_id == sessions[0].id))
        assert outcome.call_status == "completed"
        assert outcome.identity_verified is True                # answered before the kill, kept
    after = patient_turns()
    assert after[:len(before)] == before and len(after) > len(before)
    engine.dispose()


@pytest.mark.postgres
def test_loopback_calls_through_a_real_celery_worker(fresh_pg: str, tmp_path: Path) -> None:
    import redis

    from campaigns.worker import CeleryQueue

    broker = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(broker).flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable: {exc.__class__.__name__}")
    extra = scenarios(EXTRA)
    picked = [extra[i] for i in ("extra-zh-surgery-clean", "extra-en-low-satisfaction", "extra-zh-refusal",
                                 "extra-en-no-answer")] * 2
    people = [persona(s, f"1370000{i:04d}") for i, s in enumerate(picked)]
    personas_file = tmp_path / "personas.yaml"
    personas_file.write_text(yaml.safe_dump(people, allow_unicode=True), encoding="utf-8")
    overrides = {"SUIFANG__CAMPAIGNS__WINDOWS": '["00:00-24:00"]', "SUIFANG__CAMPAIGNS__WORKERS": "celery",
                 "SUIFANG__CAMPAIGNS__BROKER_URL": broker, "SUIFANG__CAMPAIGNS__MAX_TRIES": "1",
                 "SUIFANG__CAMPAIGNS__LOOPBACK__PERSONAS_FILE": str(personas_file),
                 "SUIFANG__MODELS__EMBEDDINGS__BACKEND": "hashing"}
    settings = make_settings(fresh_pg, tmp_path, **overrides)
    engine = make_engine(fresh_pg)
    factory = make_session_factory(engine)
    today = dt.datetime.now(TZ).date()
    call_ids = [seed_scenario(factory, settings, s, phone=s["patient"]["phone"],
                              discharged_on=today - dt.timedelta(days=7), days=(7,))[1][0] for s in people]
    env = _child_env(SUIFANG__DATABASE__URL=fresh_pg, SUIFANG__SERVICE__DATA_DIR=str(tmp_path),
                     SUIFANG__KNOWLEDGE__CHROMA_DIR=str(tmp_path / "chroma"), SUIFANG__MODELS__LLM__BACKEND="off",
                     SUIFANG_SECRET_KEY=settings.secret_key, **overrides)
    worker = subprocess.Popen([sys.executable, "-m", "suifang.cli", "campaigns", "worker", "--concurrency", "2"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from dialogs.flows import load_flows

        ctx = CampaignContext(session_factory=factory, settings=settings, flows=load_flows(),
                              policy=CallingPolicy.from_settings(settings), telephony=LoopbackTelephony(scenarios=[]))
        queue = CeleryQueue(broker_url=broker)
        assert dispatch_tick(ctx, queue, batch=50).dispatched == len(call_ids)
        assert dispatch_tick(ctx, queue, batch=50).dispatched == 0    # claimed once, not again
        deadline = time.monotonic() + 40
        while True:
            with factory() as session:
                statuses = session.scalars(select(ScheduledCall.status).where(ScheduledCall.id.in_(call_ids))).all()
            if all(s == "done" for s in statuses):
                break
            assert worker.poll() is None and time.monotonic() < deadline, statuses
            time.sleep(0.2)
        queue.close()
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    with factory() as session:
        attempts = session.scalars(select(CallAttempt).where(CallAttempt.scheduled_call_id.in_(call_ids))).all()
        assert len(attempts) == len(call_ids) and all(a.status == "done" for a in attempts)
        by_phone = {p["patient"]["phone"]: p["expect"]["call_status"] for p in people}
        for attempt in attempts:
            phone = session.get(Patient, attempt.patient_id).phone
            assert attempt.call_status == by_phone[phone]
        assert session.scalar(select(func.count()).select_from(CallSession)
                              .where(CallSession.scheduled_call_id.in_(call_ids))) == len(call_ids)
    engine.dispose()


def test_twilio_status_callback_is_signed_and_finishes_the_try(
        campaign_db: tuple[Any, Any], fake_twilio: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from campaigns.telephony import twilio_signature
    from dialogs.runner import CallRunner

    base_settings, session_factory = campaign_db
    public = "https://suifang.hospital.example"
    settings = make_settings(base_settings.database.url, tmp_path, SUIFANG_TWILIO_AUTH_TOKEN=FakeTwilio.token,
                             SUIFANG__SERVICE__PUBLIC_BASE_URL=public, SUIFANG__CAMPAIGNS__WINDOWS='["00:00-24:00"]')
    scenario = scenarios(EXTRA)["extra-en-no-answer"]
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    patient_id, (call_id,) = seed_scenario(session_factory, settings, scenario, phone=phone,
                                           discharged_on=dt.date(2026, 11, 20))
    twilio = TwilioTelephony(account_sid=FakeTwilio.sid, auth_token=FakeTwilio.token, from_number="+15550000000",
                             public_base_url=public, token_secret=settings.secret_key, api_base=fake_twilio)
    # The status callback finishes the try on the real clock, so this test runs on it too: no calling window
    # and no holiday of the module's fixed calendar may depend on the day the suite runs.
    clock = FakeClock(dt.datetime.now(dt.timezone.utc))
    ctx = context((settings, session_factory), twilio, clock, windows=["00:00-24:00"], holidays=[])

    def place() -> str:
        with session_factory() as session:
            tickets = store.claim_due_calls(session, policy=ctx.policy, now=clock.now, worker_id="d", limit=50)
        key = next(t.key for t in tickets if t.scheduled_call_id == call_id)
        assert run_attempt(ctx, key=key) == "placed"
        return FakeTwilio.calls[-1]["StatusCallback"]

    def scheduled() -> ScheduledCall:
        with session_factory() as session:
            return session.get(ScheduledCall, call_id)

    with TestClient(create_app(settings)) as client:
        callback = place()
        params = {"CallSid": FakeTwilio.calls[-1]["sid"], "CallStatus": "no-answer"}
        path = callback.removeprefix(public)
        forged = client.post(path, data=params, headers={"X-Twilio-Signature": "forged"})
        assert forged.status_code == 403 and scheduled().status == "dispatched"
        signed = {"X-Twilio-Signature": twilio_signature(auth_token=FakeTwilio.token, url=callback, params=params)}
        assert client.post(path, data=params, headers=signed).status_code == 204
        assert scheduled().status == "scheduled" and scheduled().attempts == 1   # on the ladder
        assert client.post(path, data=params, headers=signed).status_code == 204   # Twilio retries: no change
        assert scheduled().attempts == 1

        # Try 2 is answered by the patient; the phone line's dialog (here driven by text) hangs up part-way.
        clock.now = scheduled().next_attempt_at.replace(tzinfo=dt.timezone.utc)
        callback = place()
        runner = CallRunner.open(session_factory=session_factory, flows=ctx.flows, settings=settings,
                                 patient_id=patient_id, channel="phone", scheduled_call_id=call_id, language="en")
        runner.start()
        runner.handle("Yes, this is Peter Wang, born in 1970")
        runner.hangup()
        params = {"CallSid": FakeTwilio.calls[-1]["sid"], "CallStatus": "completed", "AnsweredBy": "human"}
        signed = {"X-Twilio-Signature": twilio_signature(auth_token=FakeTwilio.token, url=callback, params=params)}
        assert client.post(callback.removeprefix(public), data=params, headers=signed).status_code == 204
    with session_factory() as session:
        attempt = session.scalar(select(CallAttempt).where(CallAttempt.scheduled_call_id == call_id,
                                                           CallAttempt.try_number == 2))
        assert (attempt.status, attempt.call_status, attempt.call_id) == ("done", "partial", runner.call_id)
        assert session.get(ScheduledCall, call_id).status == "done"
