"""The API's edge and sessions (issue 15), on SQLite and PostgreSQL: a scrape token on /metrics,
tokens that end at logout and at a password change, bounded ids and texts, conflicts as 409, work
per request held to a time bound, a short signing key refused at start, and a schemathesis run
over the served OpenAPI document (no server error, every answer as documented)."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings as hypothesis_settings
from sqlalchemy import func, select
from starlette.requests import Request

from api.security import hash_password
from records.schema import AuditEvent, AuthToken, Discharge, Patient, User, Ward
from suifang.config import ConfigError, load_settings
from tests.conftest import login, make_settings
from tests.fuzzing import ENDS_TOKEN, without_fake_link_token

METRICS_TOKEN = "metrics-scrape-token-for-tests-0123"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def settings(database_url, tmp_path_factory):  # noqa: ANN001, ANN201
    # The shared settings, plus a scrape token, and no lockout: the fuzz run below sends wrong
    # current passwords to POST /auth/password, which would otherwise lock the admin out.
    return make_settings(database_url, tmp_path_factory.mktemp("data"), SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing",
                         SUIFANG_METRICS_TOKEN=METRICS_TOKEN, SUIFANG__AUTH__MAX_FAILED_LOGINS="1000000")


def _db(client: TestClient):  # noqa: ANN202
    return client.app.state.session_factory()


def _staff_user(client: TestClient, username: str, password: str) -> None:
    """A nurse of CARD-1 of this test's own (the demo accounts stay as they are)."""
    with _db(client) as session:
        if session.scalar(select(User).where(User.username == username)) is None:
            ward = session.scalar(select(Ward).where(Ward.code == "CARD-1"))
            session.add(User(username=username, display_name=username, role="nurse",
                             password_hash=hash_password(password), wards=[ward]))
            session.commit()


def _web_login(client: TestClient, username: str, password: str) -> TestClient:
    browser = TestClient(client.app, base_url="http://testserver")
    token = CSRF.search(browser.get("/ui/login").text).group(1)
    response = browser.post("/ui/login", data={"username": username, "password": password, "csrf": token,
                                               "next": "/ui/queue"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert browser.get("/ui/queue", follow_redirects=False).status_code == 200
    return browser


# ----- /metrics ---------------------------------------------------------------------------------

def test_metrics_need_the_scrape_token(client: TestClient, admin) -> None:  # noqa: ANN001
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
    assert client.get("/metrics", headers=admin).status_code == 401  # a staff token is not a scrape token
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200 and "suifang_calls_total" in scraped.text


def test_tokenless_scrapes_only_on_loopback_and_only_when_configured(settings) -> None:  # noqa: ANN001
    from api.routers.metrics import scrape_allowed

    def request(client_host: str, headers: dict[str, str] | None = None) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/metrics", "client": (client_host, 50000),
                        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]})

    def configured(host: str, allow: bool) -> Any:
        return settings.model_copy(update={
            "service": settings.service.model_copy(update={"host": host}),
            "metrics": settings.metrics.model_copy(update={"allow_loopback_without_token": allow})})

    assert not scrape_allowed(request("127.0.0.1"), configured("127.0.0.1", False))
    assert scrape_allowed(request("127.0.0.1"), configured("127.0.0.1", True))
    assert not scrape_allowed(request("10.1.2.3"), configured("127.0.0.1", True))   # not from loopback
    assert not scrape_allowed(request("127.0.0.1"), configured("0.0.0.0", True))    # not bound to loopback
    assert scrape_allowed(request("10.1.2.3", {"Authorization": f"Bearer {METRICS_TOKEN}"}), configured("0.0.0.0", False))


# ----- sessions ---------------------------------------------------------------------------------

def test_a_token_used_after_logout_is_401(client: TestClient) -> None:
    first = login(client, "nurse_card", "card-demo-2026")
    second = login(client, "nurse_card", "card-demo-2026")
    assert client.get("/auth/me", headers=first).status_code == 200
    assert client.post("/auth/logout", headers=first).status_code == 204
    assert client.get("/auth/me", headers=first).status_code == 401
    assert client.get("/patients", headers=first).status_code == 401
    assert client.post("/auth/logout", headers=first).status_code == 401
    assert client.get("/auth/me", headers=second).status_code == 200  # only that token ended
    with _db(client) as session:
        logouts = session.scalars(select(AuditEvent).where(AuditEvent.action == "logout",
                                                           AuditEvent.username == "nurse_card")).all()
    assert logouts


def test_web_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    _staff_user(client, "nurse_web", "web-nurse-pass-2026")
    browser = _web_login(client, "nurse_web", "web-nurse-pass-2026")
    cookie = browser.cookies.get("suifang_session")
    csrf = CSRF.search(browser.get("/ui/queue").text).group(1)
    assert browser.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(client.app, base_url="http://testserver")
    replay.cookies.set("suifang_session", cookie, path="/ui")  # a copy of the cookie taken before logout
    page = replay.get("/ui/queue", follow_redirects=False)
    assert page.status_code == 303 and "/ui/login" in page.headers["location"]


def test_password_change_ends_every_token_and_web_session(client: TestClient) -> None:
    _staff_user(client, "nurse_pw", "old-password-2026")
    one = login(client, "nurse_pw", "old-password-2026")
    two = login(client, "nurse_pw", "old-password-2026")
    browser = _web_login(client, "nurse_pw", "old-password-2026")

    wrong = client.post("/auth/password", json={"current_password": "not-it", "new_password": "new-password-2026"},
                        headers=one)
    assert wrong.status_code == 403 and "current_password" in wrong.json()["detail"]
    short = client.post("/auth/password", json={"current_password": "old-password-2026", "new_password": "short"},
                        headers=one)
    assert short.status_code == 422
    assert client.get("/auth/me", headers=one).status_code == 200  # refused changes end nothing

    changed = client.post("/auth/password", json={"current_password": "old-password-2026",
                                                  "new_password": "new-password-2026"}, headers=one)
    assert changed.status_code == 204
    for old in (one, two):
        assert client.get("/auth/me", headers=old).status_code == 401
    page = browser.get("/ui/queue", follow_redirects=False)
    assert page.status_code == 303 and "/ui/login" in page.headers["location"]
    assert client.post("/auth/login", json={"username": "nurse_pw", "password": "old-password-2026"}).status_code == 401
    assert client.get("/auth/me", headers=login(client, "nurse_pw", "new-password-2026")).status_code == 200
    with _db(client) as session:
        user_id = session.scalar(select(User.id).where(User.username == "nurse_pw"))
        reasons = set(session.scalars(select(AuthToken.revoked_reason).where(AuthToken.user_id == user_id)))
    assert "password_change" in reasons


def test_secret_key_length_is_checked_at_start(settings) -> None:  # noqa: ANN001
    from api.app import create_app

    with pytest.raises(ConfigError, match="at least 32"):
        load_settings(environ={"SUIFANG_SECRET_KEY": "too-short-a-key"})
    with pytest.raises(ConfigError, match="at least 32"):
        create_app(settings.model_copy(update={"secret_key": "x" * 31}))
    with pytest.raises(ConfigError, match="SUIFANG_METRICS_TOKEN"):
        load_settings(environ={"SUIFANG_SECRET_KEY": "k" * 40, "SUIFANG_METRICS_TOKEN": "short"})
    assert load_settings(environ={"SUIFANG_SECRET_KEY": "k" * 32}).secret_key == "k" * 32


# ----- the edge ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/patients/9223372036854775808", None),
    ("get", "/patients/99999999999999999999999999", None),
    ("get", "/patients?offset=9223372036854775807", None),
    ("get", "/calls?offset=9223372036854775807", None),
    ("get", "/calls/2147483648", None),
    ("get", "/discharges/-1", None),
    ("get", "/review/items/9223372036854775807", None),
    ("get", "/review/items?date_to=9999-12-31", None),
    ("post", "/calls", {"patient_id": 9223372036854775807}),
    ("post", "/calls/phone-token", {"patient_id": 2**40}),
    ("post", "/discharges", {"patient_id": 2**63, "department": "x", "diagnosis": "y", "discharged_on": "2026-11-01",
                             "order_text": "阿司匹林"}),
    ("post", "/review/patients/9223372036854775808/unmask", {"reason": "calling back"}),
    ("post", "/chats", {"patient_id": 2**31}),
])
def test_huge_integers_are_422_not_500(client: TestClient, admin, method, path, body) -> None:  # noqa: ANN001
    response = client.request(method, path, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list) and response.json()["detail"][0]["loc"]
    assert "input" not in response.json()["detail"][0]  # what was sent is not echoed back


def test_a_second_patient_with_an_existing_mrn_is_409(client: TestClient, admin) -> None:
    with _db(client) as session:
        before = session.scalar(select(func.count()).select_from(Patient))
    response = client.post("/patients", json={"ward_code": "CARD-1", "name": "重复病历号", "phone": "13900000123",
                                              "mrn": "DEMO0001"}, headers=admin)
    assert response.status_code == 409
    assert "DEMO0001" in response.json()["detail"] and "already" in response.json()["detail"]
    with _db(client) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == before


@pytest.mark.parametrize("bundle", [
    {"resourceType": "Bundle", "type": "batch", "entry": -25226418530895731712468189184},  # found by the fuzz run: a 500
    {"resourceType": "Bundle", "type": "batch", "entry": [5]},
    {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": {"resourceType": "Patient", "name": "x" * 1001}}]},
    {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": {"resourceType": "Patient", "name": "a\u0000"}}]},
    {"resourceType": "Bundle", "type": "batch", "entry": [{}] * 501},
])
def test_a_malformed_or_oversized_fhir_bundle_is_422(client: TestClient, admin, bundle) -> None:  # noqa: ANN001
    response = client.post("/fhir/Bundle", json=bundle, headers=admin)
    assert response.status_code == 422 and isinstance(response.json()["detail"], str), response.text


def test_an_unknown_record_is_404_with_the_reason(client: TestClient, admin) -> None:
    assert client.get("/patients/2147483647", headers=admin).json() == {"detail": "patient not found"}
    assert client.get("/discharges/2147483647", headers=admin).json() == {"detail": "discharge not found"}
    assert client.post("/review/patients/2147483647/unmask", json={"reason": "x"}, headers=admin).status_code == 404


def _patient_id(client: TestClient, mrn: str) -> int:
    with _db(client) as session:
        return session.scalar(select(Patient.id).where(Patient.mrn == mrn))


@pytest.mark.parametrize(("order_text", "reason"), [
    ("阿司匹林肠溶片 100mg 口服 每日一次；" * 1200, "the limit is 20,000"),
    ("Take " * 300, "line of 1,499 characters"),  # 1 500 less the trailing space
    ("1. 阿司匹林\x00", "NUL"),
])
def test_over_long_order_text_is_422_with_the_reason(client: TestClient, admin, order_text, reason) -> None:  # noqa: ANN001
    with _db(client) as session:
        before = session.scalar(select(func.count()).select_from(Discharge))
    response = client.post("/discharges", json={
        "patient_id": _patient_id(client, "DEMO0001"), "department": "心血管内科", "diagnosis": "冠心病",
        "discharged_on": "2026-11-01", "order_text": order_text}, headers=admin)
    assert response.status_code == 422 and reason in response.text, response.text
    with _db(client) as session:
        assert session.scalar(select(func.count()).select_from(Discharge)) == before


def test_structuring_is_stopped_at_its_time_bound() -> None:
    from api.structuring import StructuringTimeout, StructuringWorkers

    workers = StructuringWorkers(max_workers=1)
    try:
        assert workers.structure("1. 阿司匹林肠溶片 100mg 口服 每日一次", language="zh", timeout_s=60).items
        worker = workers._idle[0]
        # 200 order lines cannot be structured in a millisecond: the bound stops the worker mid-text.
        text = "\n".join(f"{i}. 阿司匹林肠溶片 100mg 口服 每日一次，出院后{i}周心内科门诊复诊" for i in range(1, 201))
        with pytest.raises(StructuringTimeout):
            workers.structure(text, language="zh", timeout_s=0.001)
        assert not worker.process.is_alive()  # stopped, not left running in the background
        assert workers.structure("Aspirin 81 mg daily", language="en", timeout_s=60).items  # a fresh worker
    finally:
        workers.close()


def test_a_question_past_its_budget_is_handed_to_a_nurse(client: TestClient, admin, monkeypatch) -> None:  # noqa: ANN001
    services = client.app.state.services
    settings = services.settings
    monkeypatch.setattr(services, "settings", settings.model_copy(update={
        "knowledge": settings.knowledge.model_copy(update={"answer_budget_s": 0.5})}))
    release = threading.Event()

    def stuck_knowledge_base() -> Any:
        release.wait(10)
        raise RuntimeError("released")

    monkeypatch.setattr(services, "knowledge_base", stuck_knowledge_base)
    started = time.monotonic()
    try:
        response = client.post(f"/patients/{_patient_id(client, 'DEMO0001')}/questions",
                                json={"question": "阿司匹林怎么吃？"}, headers=admin)
    finally:
        release.set()
    assert time.monotonic() - started < 8  # ≈ 0.5 s; the stuck retrieval would hold it 10 s
    assert response.status_code == 200
    body = response.json()
    assert body["answered"] is False and body["reason"] == "answer_timeout" and "护士" in body["text"]


def test_slow_indexing_goes_on_after_the_answer(client: TestClient, admin, monkeypatch) -> None:  # noqa: ANN001
    services = client.app.state.services
    settings = services.settings
    monkeypatch.setattr(services, "settings", settings.model_copy(update={
        "knowledge": settings.knowledge.model_copy(update={"index_wait_s": 0.3})}))
    release = threading.Event()
    real_knowledge_base = services.knowledge_base

    def slow_knowledge_base() -> Any:  # embedding long items: seconds each on a CPU
        release.wait(10)
        return real_knowledge_base()

    monkeypatch.setattr(services, "knowledge_base", slow_knowledge_base)
    started = time.monotonic()
    try:
        response = client.post("/discharges", json={
            "patient_id": _patient_id(client, "DEMO0002"), "department": "心血管内科", "diagnosis": "心衰",
            "discharged_on": "2026-11-02", "order_text": "1. 呋塞米片 20mg 口服 每日一次\n2. 两周后心内科门诊复诊"},
            headers=admin)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert response.status_code == 201 and len(response.json()["items"]) == 2
    assert elapsed < 8  # ≈ 0.3 s of waiting; the stuck indexing would hold it 10 s


def test_a_question_in_a_call_past_its_budget_goes_to_a_nurse() -> None:
    from suifang.services import budgeted_answerer_factory

    def factory(context: Any) -> Any:
        def answer(question: str, language: str) -> str:
            time.sleep(10)
            return "too late"
        return answer

    answer = budgeted_answerer_factory(factory, budget_s=0.2)(None)
    started = time.monotonic()
    with pytest.raises(TimeoutError):  # the dialog engine hands the question to a nurse on any error
        answer("阿司匹林怎么吃？", "zh")
    assert time.monotonic() - started < 8  # ≈ 0.2 s; the answer itself takes 10 s


def test_a_slow_model_reply_gives_way_to_the_rules() -> None:
    from suifang.services import BudgetedModel
    from models.llm import LLMUnavailable

    class SlowModel:
        name = "slow"

        def generate(self, messages, *, max_tokens=None, json_mode=False, timeout_s=None):  # noqa: ANN001, ANN201
            time.sleep(10)
            return "too late"

    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="budget"):
        BudgetedModel(SlowModel(), budget_s=0.3).generate([{"role": "user", "content": "hi"}])
    assert time.monotonic() - started < 8  # ≈ 0.3 s; the reply itself takes 10 s


def test_the_document_says_what_each_operation_returns(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    public = {("/health", "get"), ("/auth/login", "post"), ("/auth/token", "post"), ("/twilio/voice", "post"),
              ("/metrics", "get")}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if (path, method) not in public:
                assert "401" in codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= codes, (method, path)
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    assert "application/json" in response.get("content", {}), (method, path, code)
    assert "409" in spec["paths"]["/patients"]["post"]["responses"]
    assert spec["paths"]["/patients/{patient_id}"]["get"]["parameters"][0]["schema"]["maximum"] == 2**31 - 1


def test_models_are_warmed_at_start_not_in_the_first_call(tmp_path) -> None:  # noqa: ANN001
    # A first start embeds the phrase bank (tens of seconds on a CPU): in the background at start,
    # so the first text call after it does not wait past its time bound.
    from api.app import create_app

    settings = make_settings(f"sqlite:///{tmp_path}/warm.db", tmp_path, SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing",
                             SUIFANG__SERVICE__WARM_MODELS="true")
    from records.db import upgrade

    upgrade(settings.database.url)
    with TestClient(create_app(settings)) as client:
        services = client.app.state.services
        deadline = time.monotonic() + 120
        while (services._semantic is None or services._knowledge_base is None) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert services._knowledge_base is not None and services._semantic  # loaded without a request
    assert not make_settings(f"sqlite:///{tmp_path}/x.db", tmp_path).service.warm_models  # the suite's clients do not


def test_the_oauth2_form_is_bounded_as_the_login_body(client: TestClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    signed = client.post("/auth/token", headers=form,  # as /docs' Authorize sends it
                         content="grant_type=password&username=admin&password=admin-demo-2026&scope=&client_id=")
    assert signed.status_code == 200 and signed.json()["username"] == "admin"
    for body in ("username=&password=x", "username=admin&password=", "username=admin&password=x&grant_type=code",
                 "username=" + "a" * 65 + "&password=x"):
        assert client.post("/auth/token", headers=form, content=body).status_code == 422, body
    assert client.post("/auth/token", headers=form, content="username=nobody&password=x").status_code == 401
    schema = client.get("/openapi.json").json()["components"]["schemas"]["TokenForm"]
    assert schema["properties"]["username"]["minLength"] == 1 and schema["properties"]["password"]["minLength"] == 1
    assert all("anyOf" not in field for field in schema["properties"].values())  # no null in a form


def test_an_undeclared_query_parameter_is_422(client: TestClient, admin) -> None:  # noqa: ANN001
    # As a body's unknown field: a misspelt filter must not silently list everything.
    response = client.get("/calls?patient_id=1&stauts=ended", headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["query", "stauts"], "msg": "unknown query parameter",
                                           "type": "extra_forbidden"}]
    assert client.get("/calls?patient_id=1&status=ended", headers=admin).status_code == 200
    assert client.get("/health?x=1").status_code == 422 and client.get("/health").status_code == 200
    assert client.get("/ui/login?next=/ui/queue").status_code == 200  # pages are not operations of the document
    spec = client.get("/openapi.json").json()
    assert all("422" in operation["responses"] for operations in spec["paths"].values()
               for operation in operations.values())


def test_the_fhir_import_documents_entries_with_resources_and_a_patient(client: TestClient, admin) -> None:  # noqa: ANN001
    body = client.get("/openapi.json").json()["paths"]["/fhir/Bundle"]["post"]["requestBody"]
    schema = body["content"]["application/fhir+json"]["schema"]
    entry = schema["properties"]["entry"]
    assert entry["items"]["required"] == ["resource"] and "Patient" in entry["items"]["properties"]["resource"][
        "properties"]["resourceType"]["enum"]
    assert entry["contains"]["properties"]["resource"]["properties"]["resourceType"] == {"const": "Patient"}
    assert "entry" in schema["required"]


@pytest.mark.parametrize(("low", "high", "width"), [(0, 9, 1), (3, 3, 1), (7, 12, 2), (0, 99, 2), (20, 250, 3),
                                                     (101, 199, 3), (0, 999, 3), (50, 300, 3), (1234, 5678, 4)])
def test_digit_range_patterns_match_exactly_their_range(low: int, high: int, width: int) -> None:
    from records.patterns import digits_range_pattern, whole_numbers_pattern

    padded = re.compile(f"(?:{digits_range_pattern(low, high, width)})")
    plain = re.compile(f"(?:{whole_numbers_pattern(low, high)})")
    for n in range(10**width):
        assert (padded.fullmatch(f"{n:0{width}d}") is not None) == (low <= n <= high), n
        assert (plain.fullmatch(str(n)) is not None) == (low <= n <= high), n
    assert plain.fullmatch("0" + str(high)) is None or high < 10  # no leading zeros
    assert "\\d" not in padded.pattern  # ASCII digits only (Python's \d is any Unicode digit)


def test_date_range_patterns_match_exactly_their_window() -> None:
    from records.patterns import date_range_pattern

    for first, days in ((dt.date(2026, 11, 30), 366), (dt.date(2027, 12, 31), 1), (dt.date(2028, 2, 28), 40),
                        (dt.date(2026, 1, 1), 0), (dt.date(2099, 1, 15), 300)):
        last = first + dt.timedelta(days=days)
        pattern = re.compile(date_range_pattern(first, last))
        day = first - dt.timedelta(days=45)
        while day <= last + dt.timedelta(days=45):
            assert (pattern.fullmatch(day.isoformat()) is not None) == (first <= day <= last), (first, last, day)
            day += dt.timedelta(days=1)


# ----- schemathesis over the served document -------------------------------------------------------



FUZZ_EXAMPLES = 8  # per operation and mode (schema-valid, schema-invalid); the full run is in the README


@pytest.mark.fuzz
def test_fuzzed_requests_get_documented_answers_in_time(client: TestClient, admin) -> None:  # noqa: ANN001
    """schemathesis over the served document, every operation, an admin token (a throwaway one where
    the operation ends its token): no 5xx, and status, content type, headers and body as documented.
    Response times (a wall clock a loaded machine can miss) and whether the input rules match the
    document exactly (positive/negative data checks) are left to the full run (README)."""
    from hypothesis import Phase, given
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance]
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

        @hypothesis_settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                             phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: Any) -> None:
            if case.path == "/metrics":
                headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            elif case.path in ENDS_TOKEN:
                headers = login(client, "admin", "admin-demo-2026")
            else:
                headers = admin
            case.headers = without_fake_link_token(case.headers)  # reach the chats as staff too
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected: one report for every operation
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
