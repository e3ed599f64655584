"""Shared fixtures: the record store on SQLite and on the machine's PostgreSQL, and an app client.

Tests that take `database_url` run once per backend. PostgreSQL tests are skipped, with the
reason shown, only where no server answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from suifang.config import Settings, load_settings

PG_ADMIN_URL = os.environ.get("SUIFANG_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SHARED = Path(__file__).resolve().parents[2] / "shared"


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    name = f"suifang_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# The PostgreSQL run of each database test carries the `postgres` mark, so the fast lane leaves it out.
@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from records.db import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'suifang.db'}"
    else:
        base = request.getfixturevalue("postgres_url")
        # A schema-free way to isolate modules: a fresh database per module.
        name = f"m{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = f"{base.rsplit('/', 1)[0]}/{name}"
    upgrade(url)
    yield url
    if request.param == "postgresql":
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


def make_settings(database_url: str, data_dir: Path, **overrides: str) -> Settings:
    env = {
        "SUIFANG__DATABASE__URL": database_url,
        "SUIFANG__SERVICE__DATA_DIR": str(data_dir),
        "SUIFANG__KNOWLEDGE__CHROMA_DIR": str(data_dir / "chroma"),
        "SUIFANG__MODELS__LLM__BACKEND": "off",
        "SUIFANG__SERVICE__WARM_MODELS": "false",  # test_hardening covers the warm-up
        "SUIFANG__SERVICE__WARM_VOICE": "false",   # …and test_voice_models the voice's
        "SUIFANG_SECRET_KEY": "test-secret-key-not-for-production-0123456789",
    }
    env.update({k: v for k, v in overrides.items()})
    return load_settings(environ=env)


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"),
                         SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing")


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    from api.app import create_app
    from suifang.demo import load_demo

    app = create_app(settings)
    with TestClient(app) as test_client:
        with app.state.session_factory() as session:
            load_demo(session, settings=settings)
        yield test_client


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def nurse_card(client: TestClient) -> dict[str, str]:
    return login(client, "nurse_card", "card-demo-2026")


@pytest.fixture(scope="module")
def nurse_surg(client: TestClient) -> dict[str, str]:
    return login(client, "nurse_surg", "surg-demo-2026")


@pytest.fixture(scope="module")
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin", "admin-demo-2026")


def demo_services(data_dir, name: str, **env: str):  # noqa: ANN001, ANN201
    """Services over a fresh SQLite database holding the demo records (no calls), for module fixtures."""
    from records.db import upgrade
    from suifang.demo import load_demo
    from suifang.services import Services

    settings = make_settings(f"sqlite:///{data_dir}/{name}.db", data_dir, **env)
    upgrade(settings.database.url)
    services = Services.build(settings)
    with services.session_factory() as session:
        load_demo(session, settings=settings, calls=False)
    return services


def step_engine(fields: tuple[str, ...], lang: str = "zh", *, read_back: bool = False, **context: object):  # noqa: ANN201
    """A started FollowupEngine over a flow of just these steps of dialogs/flows/steps.yaml (no conditions),
    for a demo patient; `context` overrides CallContext fields (patient_name, medications, …)."""
    import datetime as dt

    from dialogs.clinical_rules import default_rules
    from dialogs.context import CallContext
    from dialogs.engine import FollowupEngine
    from dialogs.flows import Flow, load_flows

    flows = load_flows()
    steps = tuple(type(s)(id=s.id, collect=s.collect, ask=s.ask, say=None, condition=None, next=(), reask=s.reask)
                  for s in (flows.steps[name] for name in fields))
    values = dict(patient_id=1, patient_name="王建国", sex="male", birth_year=1962, id_last4=None, phone_last4=None,
                  language=lang, hospital="医院", ward_team="心内科", department="心内科", diagnosis="",
                  discharged_on=dt.date(2026, 11, 1), call_date=dt.date(2026, 11, 8), post_surgery=False,
                  medications=())
    values.update(context)
    engine = FollowupEngine(flows=flows, flow=Flow(id="steps", description="", priority=0, match={}, steps=steps),
                            context=CallContext(**values), rules=default_rules(), read_back=read_back)
    engine.start()
    return engine
