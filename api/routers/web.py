"""Nurse pages under /ui: sign-in, the review queue, call detail with playback and actions, the
dashboard and a CSV export. Server-rendered (Jinja2), charts as inline SVG, nothing from outside.

Every page view, playback, unmask, correction, action and export writes an AuditEvent. Every POST
form carries the session's CSRF token; pages are sent with no-store and a strict CSP."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import IdPath, SessionDep, SettingsDep, StaffUser, authorize_patient, client_ip, get_services, not_found
from api.routers.auth import check_credentials
from api.schemas import DB_INT_MAX
from api.routers.calls import authorize_call
from api.routers.review import (
    audit_listing,
    audit_separately,
    authorize_item,
    authorize_unmask,
    perform_action,
    perform_correction,
    ward_scope,
)
from api.web import charts
from api.web.reasons import notice_text, reason_text
from api.web.i18n import LANGUAGES, language_of, translator
from api.web.session import (
    COOKIE_PATH,
    LANG_COOKIE,
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    StaleSession,
    WebSession,
    csrf_matches,
    decode_session,
    encode_session,
    new_session,
    prelogin_matches,
    prelogin_token,
    touched,
)
from records import review
from records.audit import Actor, record_audit
from records.dashboard import dashboard_figures
from records.sessions import prune_expired, record_token, revoke_token, token_is_live
from records.schema import (
    CallSession,
    Discharge,
    Flag,
    OrderItem,
    Outcome,
    Patient,
    Turn,
    User,
    Ward,
)
from suifang.config import Settings
from suifang.logs import mask_id_number, mask_phone

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
STATIC_FILES = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                "softphone.js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
OUTCOME_FIELD_ORDER = tuple(review.CORRECTABLE_FIELDS)

router = APIRouter(prefix="/ui", tags=["web"], include_in_schema=False)


# ----- the signed-in user ------------------------------------------------------------------------

@dataclass(frozen=True)
class WebUser:
    staff: StaffUser
    display_name: str
    session: WebSession


def _lang(request: Request) -> str:
    return language_of(request.cookies.get(LANG_COOKIE))


def _safe_next(value: str | None) -> str:
    # Only our own pages: no scheme, no host, no //evil.example.
    if value and value.startswith("/ui/") and "\\" not in value and "//" not in value:
        return value
    return "/ui/queue"


def _login_required(request: Request, reason: str) -> HTTPException:
    if request.method in ("GET", "HEAD"):
        params = {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
        if reason != "no session":
            params["expired"] = "1"
        return HTTPException(status.HTTP_303_SEE_OTHER, "sign in first",
                             headers={"Location": f"/ui/login?{urlencode(params)}"})
    # A form posted with no live session is refused outright, and the attempt is recorded.
    with request.app.state.session_factory() as s:
        record_audit(s, actor=Actor(user_id=None, username=None, client_ip=client_ip(request)), action="post",
                     resource="web_session", outcome="denied", detail=f"{request.url.path}: {reason}"[:500])
        s.commit()
    return HTTPException(status.HTTP_403_FORBIDDEN, "your session has expired; sign in again")


def web_user(request: Request, session: SessionDep, settings: SettingsDep) -> WebUser:
    try:
        web = decode_session(request.cookies.get(SESSION_COOKIE), secret=settings.secret_key,
                             idle_minutes=settings.auth.idle_timeout_minutes)
    except StaleSession as exc:
        raise _login_required(request, "no session" if not request.cookies.get(SESSION_COOKIE) else str(exc)) from None
    if not token_is_live(session, jti=web.sid, user_id=web.user_id, kind="web"):
        raise _login_required(request, "session ended (logout or password change)")
    user = session.get(User, web.user_id)
    if user is None or not user.active:
        raise _login_required(request, "inactive user")
    request.state.web_session = touched(web)  # the sliding refresh, set on the response by _finish
    staff = StaffUser(id=user.id, username=user.username, role=user.role,
                      ward_ids=frozenset(w.id for w in user.wards), client_ip=client_ip(request))
    return WebUser(staff=staff, display_name=user.display_name, session=web)


WebUserDep = Annotated[WebUser, Depends(web_user)]


async def csrf_user(request: Request, user: WebUserDep) -> WebUser:
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or not csrf_matches(user.session, token):
        audit_separately(request, user.staff, action="post", resource="csrf", outcome="denied",
                         detail=f"{request.url.path}: missing or wrong CSRF token")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid CSRF token")
    return user


CsrfUserDep = Annotated[WebUser, Depends(csrf_user)]


# ----- rendering ---------------------------------------------------------------------------------

def _finish(request: Request, response: Response, settings: Settings) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    web: WebSession | None = getattr(request.state, "web_session", None)
    if web is not None:
        _set_session_cookie(request, response, settings, web)
    return response


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.service.public_base_url.startswith("https://")


def _set_session_cookie(request: Request, response: Response, settings: Settings, web: WebSession) -> None:
    response.set_cookie(SESSION_COOKIE, encode_session(web, secret=settings.secret_key,
                                                       idle_minutes=settings.auth.idle_timeout_minutes),
                        max_age=settings.auth.idle_timeout_minutes * 60, path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=_secure(request, settings))


def _localtime(tz: dt.tzinfo):  # noqa: ANN202
    def fmt(value: dt.datetime | None) -> str:
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return fmt


def render(request: Request, settings: Settings, template: str, context: dict[str, Any], *,
           user: WebUser | None = None, status_code: int = 200) -> Response:
    lang = _lang(request)
    tz = review.local_zone(settings.service.timezone)
    ctx = {"t": translator(lang), "lang": lang, "other_lang": "en" if lang == "zh" else "zh", "user": user,
           "reason": lambda text: reason_text(text, lang, settings.clinical_rules()),
           "csrf": user.session.csrf if user else "", "localtime": _localtime(tz),
           "idle_minutes": settings.auth.idle_timeout_minutes,
           "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""), **context}
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    return _finish(request, response, settings)


def _error_page(request: Request, settings: Settings, user: WebUser | None, exc: HTTPException) -> Response:
    return render(request, settings, "error.html", {"status": exc.status_code,
                                                    "message": notice_text(str(exc.detail), _lang(request))},
                  user=user, status_code=exc.status_code)


def _redirect(request: Request, settings: Settings, url: str) -> Response:
    return _finish(request, RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER), settings)


# ----- sign-in, sign-out, language ---------------------------------------------------------------

@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/ui/queue", status_code=status.HTTP_303_SEE_OTHER)


def _login_page(request: Request, settings: Settings, *, next_url: str, message: str | None,
                status_code: int = 200) -> Response:
    value, cookie = prelogin_token(secret=settings.secret_key)
    response = render(request, settings, "login.html", {"next": next_url, "message": message, "login_csrf": value},
                      status_code=status_code)
    response.set_cookie(PRELOGIN_COOKIE, cookie, max_age=3600, path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=_secure(request, settings))
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, next: str | None = None,  # noqa: A002
               expired: str | None = None, bye: str | None = None) -> Response:
    message = "session_expired" if expired else ("logged_out" if bye else None)
    return _login_page(request, settings, next_url=_safe_next(next), message=message)


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, session: SessionDep, settings: SettingsDep,
                 username: Annotated[str, Form(max_length=64)] = "",
                 password: Annotated[str, Form(max_length=256)] = "",
                 csrf: Annotated[str, Form(max_length=128)] = "",
                 next: Annotated[str, Form(max_length=500)] = "/ui/queue") -> Response:  # noqa: A002
    next_url = _safe_next(next)
    if not prelogin_matches(request.cookies.get(PRELOGIN_COOKIE), csrf, secret=settings.secret_key):
        return _login_page(request, settings, next_url=next_url, message="login_form_expired",
                           status_code=status.HTTP_403_FORBIDDEN)
    if not username or not password:
        return _login_page(request, settings, next_url=next_url, message="login_failed",
                           status_code=status.HTTP_401_UNAUTHORIZED)
    try:
        user = check_credentials(request, session, settings, username=username, password=password)
    except HTTPException as exc:
        message = "login_locked" if exc.status_code == status.HTTP_423_LOCKED else "login_failed"
        return _login_page(request, settings, next_url=next_url, message=message, status_code=exc.status_code)
    web = new_session(user_id=user.id)
    prune_expired(session)
    record_token(session, jti=web.sid, user_id=user.id, kind="web", expires_at=web.expires_at)
    record_audit(session, actor=Actor(user_id=user.id, username=user.username, client_ip=client_ip(request)),
                 action="login", resource="session", outcome="allowed", detail="web")
    session.commit()  # the browser follows the redirect at once; the session must exist by then
    response = RedirectResponse(next_url, status_code=status.HTTP_303_SEE_OTHER)
    _set_session_cookie(request, response, settings, web)
    response.delete_cookie(PRELOGIN_COOKIE, path=COOKIE_PATH)
    return _finish(request, response, settings)


@router.post("/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep, user: CsrfUserDep) -> Response:
    revoke_token(session, jti=user.session.sid, reason="logout")
    record_audit(session, actor=user.staff.actor, action="logout", resource="session")
    session.commit()
    request.state.web_session = None
    response = RedirectResponse("/ui/login?bye=1", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return _finish(request, response, settings)


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, settings: SettingsDep, next: str | None = None) -> Response:  # noqa: A002
    if code not in LANGUAGES:
        raise not_found("language")
    response = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path=COOKIE_PATH, samesite="strict",
                        secure=_secure(request, settings))
    return _finish(request, response, settings)


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        raise not_found("file")
    return FileResponse(WEB_DIR / "static" / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


# ----- queue and export --------------------------------------------------------------------------

def _filters(request: Request) -> tuple[review.QueueFilters, dict[str, str]]:
    raw = {k: (request.query_params.get(k) or "").strip() for k in ("ward", "level", "status", "from", "to")}
    problems = []
    if len(raw["ward"]) > 32:
        problems.append("ward")
    if raw["level"] and raw["level"] not in review.REVIEW_LEVELS:
        problems.append("level")
    if raw["status"] and raw["status"] not in review.REVIEW_STATUSES:
        problems.append("status")
    dates: dict[str, dt.date | None] = {}
    for key in ("from", "to"):
        try:
            dates[key] = dt.date.fromisoformat(raw[key]) if raw[key] else None
        except ValueError:
            problems.append(key)
            dates[key] = None
    if problems:
        raise HTTPException(422, f"invalid filter: {', '.join(problems)}")
    return review.QueueFilters(ward_code=raw["ward"] or None, level=raw["level"] or None,
                               status=raw["status"] or None, date_from=dates["from"], date_to=dates["to"]), raw


def _visible_wards(session: Session, user: StaffUser) -> list[Ward]:
    query = select(Ward).order_by(Ward.code)
    if not user.is_admin:
        query = query.where(Ward.id.in_(sorted(user.ward_ids) or [-1]))
    return list(session.scalars(query))


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep, settings: SettingsDep, user: WebUserDep) -> Response:
    try:
        filters, raw = _filters(request)
    except HTTPException as exc:
        return _error_page(request, settings, user, exc)
    tz = review.local_zone(settings.service.timezone)
    rows = review.review_queue(session, ward_ids=ward_scope(user.staff), filters=filters, tz=tz, limit=500)
    counts = review.status_counts(session, ward_ids=ward_scope(user.staff), filters=filters, tz=tz)
    audit_listing(session, user.staff, rows, action="list", detail=f"queue page: {len(rows)} items")
    query = urlencode({k: v for k, v in raw.items() if v})
    return render(request, settings, "queue.html", {
        "rows": [{"item": r.item, "name": r.patient_name, "phone": mask_phone(r.patient_phone), "ward": r.ward_code}
                 for r in rows],
        "counts": counts, "filters": raw, "wards": _visible_wards(session, user.staff),
        "levels": review.REVIEW_LEVELS, "statuses": review.REVIEW_STATUSES,
        "export_url": "/ui/queue.csv" + (f"?{query}" if query else ""),
    }, user=user)


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a cell never starts with = + - @ (or a tab / CR).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/queue.csv")
def queue_csv(request: Request, session: SessionDep, settings: SettingsDep, user: WebUserDep) -> Response:
    try:
        filters, _raw = _filters(request)
    except HTTPException as exc:
        return _error_page(request, settings, user, exc)
    tz = review.local_zone(settings.service.timezone)
    fmt = _localtime(tz)
    rows = review.review_queue(session, ward_ids=ward_scope(user.staff), filters=filters, tz=tz, limit=10_000)
    audit_listing(session, user.staff, rows, action="export", detail=f"queue csv: {len(rows)} items")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["item_id", "call_id", "level", "status", "ward", "patient", "phone_masked", "reason",
                     "created_at", "updated_at"])
    for r in rows:
        writer.writerow([_csv_cell(v) for v in (
            r.item.id, r.item.call_id, r.item.level, r.item.status, r.ward_code, r.patient_name,
            mask_phone(r.patient_phone), r.item.reason, fmt(r.item.created_at), fmt(r.item.updated_at))])
    stamp = dt.datetime.now(tz).strftime("%Y%m%d-%H%M")
    response = Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="review-queue-{stamp}.csv"'})
    return _finish(request, response, settings)


# ----- call detail -------------------------------------------------------------------------------

def _format_value(value: Any, t: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if isinstance(value, dict) and {"systolic", "diastolic"} <= set(value):
        return f"{value['systolic']}/{value['diastolic']}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _detail_context(request: Request, session: Session, settings: Settings, user: WebUser, call_id: int, *,
                    unmasked: bool = False) -> dict[str, Any]:
    from api.phone import call_recording_paths, turn_audio_path

    t = translator(_lang(request))
    call = session.get(CallSession, call_id)
    patient = session.get(Patient, call.patient_id)
    discharge = session.get(Discharge, call.discharge_id) if call.discharge_id else None
    items = list(session.scalars(select(OrderItem).where(OrderItem.discharge_id == call.discharge_id)
                                 .order_by(OrderItem.seq))) if discharge else []
    items_by_id = {i.id: i for i in items}
    services = get_services(request)
    turns = [{"turn": turn, "has_audio": turn_audio_path(services, turn) is not None} for turn in call.turns]
    recordings = sorted(call_recording_paths(services, call_id))
    outcome = session.scalar(select(Outcome).where(Outcome.call_id == call_id))
    fields = []
    if outcome is not None:
        for name in OUTCOME_FIELD_ORDER:
            value = getattr(outcome, name)
            fields.append({"name": name, "value": _format_value(value, t), "raw": value,
                           "evidence": (outcome.evidence or {}).get(name)})
    questions = []
    for q in (outcome.questions or []) if outcome is not None else []:
        cited = [items_by_id[s] for s in q.get("sources") or [] if s in items_by_id]
        questions.append({"text": q.get("text"), "answer": q.get("answer"), "answered": q.get("answered"),
                          "cited": cited})
    flags = list(session.scalars(select(Flag).where(Flag.call_id == call_id).order_by(Flag.id)))
    item = review.item_of_call(session, call_id=call_id)
    can_unmask = user.staff.role in settings.auth.unmask_roles
    return {
        "call": call, "patient": patient, "ward": patient.ward, "discharge": discharge, "items": items,
        "turns": turns, "recordings": recordings, "outcome": outcome, "fields": fields, "questions": questions, "flags": flags,
        "item": item, "corrections": review.corrections_of_call(session, call_id=call_id),
        "phone": patient.phone if unmasked else mask_phone(patient.phone),
        "id_number": patient.id_number if unmasked else mask_id_number(patient.id_number),
        "unmasked": unmasked, "can_unmask": can_unmask, "correctable": OUTCOME_FIELD_ORDER,
        "today": dt.datetime.now(review.local_zone(settings.service.timezone)).date().isoformat(),
        "format_value": lambda v: _format_value(v, t),
    }


def _render_detail(request: Request, session: Session, settings: Settings, user: WebUser, call_id: int, *,
                   unmasked: bool = False, error: str | None = None, status_code: int = 200) -> Response:
    context = _detail_context(request, session, settings, user, call_id, unmasked=unmasked)
    done = request.query_params.get("done")
    context["done"] = done if done in (*review.ACTIONS, "correct") else None
    context["error"] = error
    record_audit(session, actor=user.staff.actor, action="read", resource="call", resource_id=call_id,
                 patient_id=context["patient"].id)
    return render(request, settings, "call.html", context, user=user, status_code=status_code)


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(call_id: IdPath, request: Request, session: SessionDep, settings: SettingsDep,
              user: WebUserDep) -> Response:
    try:
        authorize_call(request, session, user.staff, call_id, action="read")
    except HTTPException as exc:
        return _error_page(request, settings, user, exc)
    return _render_detail(request, session, settings, user, call_id)


@router.post("/calls/{call_id}/unmask", response_class=HTMLResponse)
def unmask(call_id: IdPath, request: Request, session: SessionDep, settings: SettingsDep, user: CsrfUserDep,
           reason: Annotated[str, Form(max_length=300)] = "") -> Response:
    try:
        patient_id = authorize_call(request, session, user.staff, call_id, action="unmask")
        cleaned = authorize_unmask(request, settings, user.staff, patient_id=patient_id, reason=reason)
    except HTTPException as exc:
        if exc.status_code == 422:
            return _render_detail(request, session, settings, user, call_id, error=notice_text(str(exc.detail), _lang(request)), status_code=422)
        return _error_page(request, settings, user, exc)
    record_audit(session, actor=user.staff.actor, action="unmask", resource="patient", resource_id=patient_id,
                 patient_id=patient_id, detail=cleaned)
    return _render_detail(request, session, settings, user, call_id, unmasked=True)


@router.post("/calls/{call_id}/correct", response_class=HTMLResponse)
def correct(call_id: IdPath, request: Request, session: SessionDep, settings: SettingsDep, user: CsrfUserDep,
            field: Annotated[str, Form(max_length=64)] = "", value: Annotated[str, Form(max_length=2000)] = "",
            reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        patient_id = authorize_call(request, session, user.staff, call_id, action="correct")
    except HTTPException as exc:
        return _error_page(request, settings, user, exc)
    try:
        perform_correction(request, session, user.staff, call_id=call_id, patient_id=patient_id, field=field,
                           value=value, reason=reason)
    except HTTPException as exc:
        if exc.status_code in (409, 422):
            return _render_detail(request, session, settings, user, call_id, error=notice_text(str(exc.detail), _lang(request)),
                                  status_code=exc.status_code)
        return _error_page(request, settings, user, exc)
    return _redirect(request, settings, f"/ui/calls/{call_id}?done=correct")


@router.post("/items/{item_id}/{action}", response_class=HTMLResponse)
def item_action(item_id: IdPath, action: str, request: Request, session: SessionDep, settings: SettingsDep,
                user: CsrfUserDep, note: Annotated[str, Form(max_length=2000)] = "",
                reached: Annotated[str, Form(max_length=8)] = "", result: Annotated[str, Form(max_length=2000)] = "",
                doctor: Annotated[str, Form(max_length=100)] = "",
                date: Annotated[str, Form(max_length=10)] = "") -> Response:
    if action not in review.ACTIONS:
        return _error_page(request, settings, user, not_found("action"))
    try:
        item = authorize_item(request, session, user.staff, item_id, action=action)
    except HTTPException as exc:
        return _error_page(request, settings, user, exc)
    call_id = item.call_id
    try:
        perform_action(request, session, user.staff, item=item, action=action,
                       fields={"note": note, "reached": reached or None, "result": result, "doctor": doctor,
                               "repeat_on": date or None})
    except HTTPException as exc:
        if call_id is not None and exc.status_code in (409, 422):
            return _render_detail(request, session, settings, user, call_id, error=notice_text(str(exc.detail), _lang(request)),
                                  status_code=exc.status_code)
        return _error_page(request, settings, user, exc)
    target = f"/ui/calls/{call_id}?done={quote(action)}" if call_id is not None else "/ui/queue"
    return _redirect(request, settings, target)


@router.get("/turns/{turn_id}/audio")
def turn_audio(turn_id: IdPath, request: Request, session: SessionDep, settings: SettingsDep,
               user: WebUserDep) -> Response:
    """The recording of one patient turn; each playback is audited (range requests after the first
    byte are parts of the same playback)."""
    from api.phone import turn_audio_path

    patient_id = session.scalar(select(CallSession.patient_id).join(Turn, Turn.call_id == CallSession.id)
                                .where(Turn.id == turn_id))
    if patient_id is None:
        raise not_found("recording")
    authorize_patient(request, session, user.staff, patient_id, action="play", resource="turn_audio",
                      resource_id=turn_id)
    turn = session.get(Turn, turn_id)
    path = turn_audio_path(get_services(request), turn)
    if path is None:
        raise not_found("recording")
    return _play_recording(request, session, settings, user, path, resource="turn_audio", resource_id=turn_id,
                           patient_id=patient_id, detail=f"call {turn.call_id} turn {turn.seq}")


def _play_recording(request: Request, session: Session, settings: Any, user: Any, path: Path, *, resource: str,
                    resource_id: int, patient_id: int | None = None, detail: str | None = None) -> Response:
    """A recording as a file response; its playback audited once (the browser's follow-up range requests
    after the first byte are parts of the same playback)."""
    range_header = request.headers.get("range", "")
    if not range_header or range_header.replace(" ", "").startswith("bytes=0-"):
        record_audit(session, actor=user.staff.actor, action="play", resource=resource, resource_id=resource_id,
                     patient_id=patient_id, detail=detail)
        session.commit()
    return _finish(request, FileResponse(path, media_type="audio/wav"), settings)


# ----- messages left on the phone line ------------------------------------------------------------

@router.get("/messages", response_class=HTMLResponse)
def messages_page(request: Request, session: SessionDep, settings: SettingsDep, user: WebUserDep) -> Response:
    """Messages left on the service's line from numbers on no patient record (a patient's own message
    is a nurse task on that patient, in the queue). The number is shown masked; the view is audited."""
    from records.messages import unmatched_messages

    rows = unmatched_messages(session)
    record_audit(session, actor=user.staff.actor, action="list", resource="ward_message",
                 detail=f"messages page: {len(rows)} messages")
    return render(request, settings, "messages.html", {
        "rows": [{"message": m, "phone": mask_phone(m.caller_number)} for m in rows],
    }, user=user)


@router.get("/messages/{message_id}/audio")
def message_audio(message_id: IdPath, request: Request, session: SessionDep, settings: SettingsDep,
                  user: WebUserDep) -> Response:
    """The recording of a message from a number on no patient record; each playback is audited."""
    from records.schema import WardMessage

    message = session.get(WardMessage, message_id)
    if message is None or message.patient_id is not None or not message.audio_ref:
        raise not_found("recording")
    root = settings.data_path("audio").resolve()
    path = (root / message.audio_ref).resolve()
    if root not in path.parents or not path.exists():
        raise not_found("recording")
    return _play_recording(request, session, settings, user, path, resource="ward_message", resource_id=message_id)


@router.get("/calls/{call_id}/recording/{part}")
def call_recording(call_id: IdPath, part: IdPath, request: Request, session: SessionDep, settings: SettingsDep,
                   user: WebUserDep) -> Response:
    """The call's stereo recording (left the patient, right the assistant) on its `part`-th line; each
    playback or download is audited as the per-turn clips are."""
    from api.phone import call_recording_paths

    patient_id = session.scalar(select(CallSession.patient_id).where(CallSession.id == call_id))
    if patient_id is None:
        raise not_found("recording")
    authorize_patient(request, session, user.staff, patient_id, action="play", resource="call_recording",
                      resource_id=call_id)
    path = call_recording_paths(get_services(request), call_id).get(part)
    if path is None:
        raise not_found("recording")
    return _play_recording(request, session, settings, user, path, resource="call_recording", resource_id=call_id,
                           patient_id=patient_id, detail=f"call {call_id} recording {part}")


# ----- dashboard ---------------------------------------------------------------------------------

@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, session: SessionDep, settings: SettingsDep, user: WebUserDep) -> Response:
    t = translator(_lang(request))
    tz = review.local_zone(settings.service.timezone)
    figures = dashboard_figures(session, ward_ids=ward_scope(user.staff), tz=tz)
    record_audit(session, actor=user.staff.actor, action="view", resource="dashboard")
    departments = figures["flags_by_department"]
    weeks = figures["flags_by_week"]
    adherence = figures["medication_adherence"]
    satisfaction = figures["satisfaction"]["distribution"]
    chart_set = {
        "success": charts.rate_bar(rate=figures["followup"]["success_rate"], label=t("success_rate")),
        "completion": charts.rate_bar(rate=figures["completion"]["rate"], label=t("completion_rate"),
                                      color=charts.COLORS["blue"]),
        "revisit": charts.rate_bar(rate=figures["revisit_booked"]["rate"], label=t("revisit_booked_rate"),
                                   color=charts.COLORS["grey"]),
        "departments": charts.bar_chart(
            labels=[d["department"] for d in departments], title=t("flags_by_department"),
            series=[(t("red"), [d["red"] for d in departments], charts.COLORS["red"]),
                    (t("yellow"), [d["yellow"] for d in departments], charts.COLORS["yellow"])]),
        "weeks": charts.line_chart(
            labels=[w["week"][5:] for w in weeks], title=t("flags_by_week"),
            series=[(t("red"), [w["red"] for w in weeks], charts.COLORS["red"]),
                    (t("yellow"), [w["yellow"] for w in weeks], charts.COLORS["yellow"])]),
        "adherence": charts.bar_chart(
            labels=[t(f"adh_{k}") for k in adherence], title=t("adherence"),
            series=[(t("adherence"), list(adherence.values()), charts.COLORS["blue"])]),
        "satisfaction": charts.bar_chart(
            labels=list(satisfaction), title=t("satisfaction"),
            series=[(t("satisfaction"), list(satisfaction.values()), charts.COLORS["green"])]),
    }
    return render(request, settings, "dashboard.html", {"f": figures, "charts": chart_set}, user=user)




# ----- softphone ---------------------------------------------------------------------------------

@router.get("/softphone", response_class=HTMLResponse)
def softphone_page(request: Request, session: SessionDep, settings: SettingsDep, user: WebUserDep) -> Response:
    """A browser phone on the Media Streams endpoint: a nurse takes a real test call as a patient."""
    query = select(Patient, Ward.code).join(Ward, Ward.id == Patient.ward_id).order_by(Ward.code, Patient.id)
    if not user.staff.is_admin:
        query = query.where(Patient.ward_id.in_(sorted(user.staff.ward_ids) or [-1]))
    rows = session.execute(query.limit(500)).all()
    record_audit(session, actor=user.staff.actor, action="list", resource="patient",
                 detail=f"softphone page: {len(rows)} patients")
    return render(request, settings, "softphone.html", {
        "patients": [{"id": p.id, "name": p.name, "ward": code, "phone": mask_phone(p.phone)} for p, code in rows],
    }, user=user)


@router.post("/softphone/token")
def softphone_token(request: Request, session: SessionDep, settings: SettingsDep, user: CsrfUserDep,
                    patient_id: Annotated[int, Form(ge=1, le=DB_INT_MAX)],
                    language: Annotated[str, Form(max_length=8)] = "") -> Response:
    from api.phone import grant_call_token

    grant = grant_call_token(request, session, user.staff, patient_id=patient_id, discharge_id=None,
                             language=language or None, detail="softphone")
    return _finish(request, JSONResponse(grant), settings)
