"""Pre-consultation chats (预问诊): staff open a chat for a patient and hand over a one-patient link;
the patient chats (text) through the link; the doctor opens the structured report.

Two kinds of caller:
- staff, with a Bearer token, for patients of their own wards (admins: all); only staff open a chat
  (POST /chats);
- the patient, with the chat's link token in the `X-Chat-Token` header (or in the /chat/{token}
  page's URL), for that one chat: start it (POST /chats/{chat_id}/start), post messages, read it. A link token opens exactly one chat: any other chat id answers 404 and the attempt
  is audited; an expired or unknown token answers 401.
Every access, allowed or denied, is written to the audit trail."""

from __future__ import annotations

import asyncio
import copy
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.deps import (
    CurrentUser,
    IdPath,
    SessionDep,
    SettingsDep,
    authorize_patient,
    client_ip,
    get_services,
    not_found,
    oauth2_scheme,
    resolve_token_user,
)
from api.errors import link, responses
from api.schemas import JsonInt, PlainModel, RecordId
from records import preconsult as store
from records.audit import Actor, record_audit
from records.schema import Patient, PreconsultChat

if TYPE_CHECKING:
    from models.llm import LanguageModel

router = APIRouter(tags=["pre-consultation"])
TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "chat.html"
MESSAGE_MAX_CHARS = 20_000  # over this: 422; up to it, the engine reads the first part
RESOURCE = "preconsult_chat"


def _flow() -> Any:
    from dialogs.preconsult import default_flow

    return default_flow()


_flow()  # a broken preconsult.yaml stops the service at startup, not in a patient's chat


# ----- request and response models -------------------------------------------------------------------------

class _Strict(PlainModel):
    model_config = ConfigDict(extra="forbid")


class ChatCreate(_Strict):
    patient_id: RecordId = Field(description="the patient to open a chat for")
    language: Literal["zh", "en"] | None = None
    ttl_minutes: JsonInt = Field(default=1440, ge=5, le=10080, description="how long the link works (5 min to 7 days)")


class ChatMessageIn(_Strict):
    text: str = Field(max_length=MESSAGE_MAX_CHARS)


class ChatReplyOut(BaseModel):
    chat_id: int
    say: str
    expecting: str | None
    done: bool
    triage: str | None = None
    emergency: bool = False


class ChatCreated(BaseModel):
    chat_id: int
    token: str
    link: str
    expires_at: str
    status: str


class ChatMessageOut(BaseModel):
    seq: int
    speaker: str
    text: str
    expecting: str | None


class ChatOut(BaseModel):
    chat_id: int
    patient_id: int
    status: str
    language: str
    triage: str | None
    expires_at: str
    messages: list[ChatMessageOut]


_REPORT_CONTENT = {200: {"description": "format=json: the report; format=text: its text; format=fhir: a FHIR R4 Bundle",
                         "content": {"application/json": {"schema": {"type": "object"}},
                                     "text/plain": {"schema": {"type": "string"}},
                                     "application/fhir+json": {"schema": {"type": "object"}}}}}


# ----- access ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChatCaller:
    actor: Actor
    via: Literal["staff", "link"]
    chat: PreconsultChat | None = None  # the link's own chat
    user: Any = None


def _link_actor(request: Request, chat_id: int | None) -> Actor:
    return Actor(user_id=None, username=f"link:chat-{chat_id}" if chat_id else "link:invalid", client_ip=client_ip(request))


def _deny(request: Request, *, actor: Actor, action: str, resource_id: object, patient_id: int | None, detail: str) -> None:
    factory = request.app.state.session_factory
    with factory() as s:
        record_audit(s, actor=actor, action=action, resource=RESOURCE, resource_id=resource_id, patient_id=patient_id,
                     outcome="denied", detail=detail)
        s.commit()


def chat_caller(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)] = None,
    x_chat_token: Annotated[str | None, Header(max_length=200)] = None,
) -> ChatCaller:
    if x_chat_token:
        chat = store.chat_by_token(session, token=x_chat_token)
        if chat is None:
            _deny(request, actor=_link_actor(request, None), action="link", resource_id=None, patient_id=None, detail="unknown link token")
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid link token")
        if store.token_expired(chat):
            _deny(request, actor=_link_actor(request, chat.id), action="link", resource_id=chat.id, patient_id=chat.patient_id,
                  detail="expired link token")
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this link has expired; ask the clinic for a new one")
        return ChatCaller(actor=_link_actor(request, chat.id), via="link", chat=chat)
    if bearer:
        user = resolve_token_user(request, bearer, session, settings)
        return ChatCaller(actor=user.actor, via="staff", user=user)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in as staff, or send the chat link token in X-Chat-Token",
                        headers={"WWW-Authenticate": "Bearer"})


CallerDep = Annotated[ChatCaller, Depends(chat_caller)]


def _open_chat(request: Request, session: Session, caller: ChatCaller, chat_id: int, *, action: str) -> PreconsultChat:
    """The chat, if this caller may touch it; otherwise 404 (same answer for missing and not yours) plus an audit row."""
    if caller.via == "link":
        if caller.chat is None or caller.chat.id != chat_id:
            _deny(request, actor=caller.actor, action=action, resource_id=chat_id, patient_id=None,
                  detail="link token used for another chat")
            raise not_found("chat")
        return caller.chat
    chat = session.get(PreconsultChat, chat_id)
    if chat is None:
        raise not_found("chat")
    authorize_patient(request, session, caller.user, chat.patient_id, action=action, resource=RESOURCE, resource_id=chat_id)
    return chat


# ----- engine calls -----------------------------------------------------------------------------------------------

def _model(request: Request) -> LanguageModel | None:
    """The language model for triage raising: only a served model (backend openai); the packaged 0.5B
    model is too small to second-guess triage, and `off` means rules only."""
    services = get_services(request)
    if services.settings.models.llm.backend != "openai":
        return None
    return services.language_model_or_none()


def _age_from_record(patient: Patient) -> float | None:
    import datetime as dt

    if patient.birth_year:
        return float(max(0, dt.date.today().year - patient.birth_year))
    return None


def _start_if_needed(session: Session, chat: PreconsultChat) -> dict[str, Any] | None:
    from dialogs.preconsult import start

    state = copy.deepcopy(chat.state or {})
    if state.get("step") is None and not state.get("done"):
        reply = start(state, flow=_flow())
        store.add_message(session, chat=chat, speaker="assistant", text=reply.say, expecting=reply.expecting)
        store.save_state(session, chat=chat, state=state)
        return reply.as_dict()
    return None


def _patient_ref(chat: PreconsultChat) -> dict[str, Any]:
    return {"id": chat.patient_id}


def _rules(request: Request) -> Any:
    """The clinical rule table with this hospital's overrides (config.yaml dialog.clinical_rules)."""
    return request.app.state.settings.clinical_rules()


def _report(chat: PreconsultChat, rules: Any) -> dict[str, Any]:
    from dialogs.preconsult_report import build_report

    return build_report(chat.state or {}, chat_id=chat.id, patient=_patient_ref(chat), rules=rules)


# ----- endpoints ------------------------------------------------------------------------------------------------------

_CHAT_LINK_PARAMS = {"chat_id": "$response.body#/chat_id", "header.x-chat-token": "$response.body#/token"}


@router.post("/chats", status_code=status.HTTP_201_CREATED, response_model=ChatCreated,
             responses={201: {"description": "The chat, opened, and its link token (shown once)", "links": {
                            "StartChat": {**link("/chats/{chat_id}/start", "post"), "parameters": _CHAT_LINK_PARAMS},
                            "PostMessage": {**link("/chats/{chat_id}/messages", "post"), "parameters": _CHAT_LINK_PARAMS},
                            "ReadChat": {**link("/chats/{chat_id}", "get"), "parameters": _CHAT_LINK_PARAMS},
                            "ReadReport": {**link("/chats/{chat_id}/report", "get"), "parameters": _CHAT_LINK_PARAMS}}},
                        **responses(400, 401, 404, 413, 422)})
def create_chat(body: ChatCreate, request: Request, session: SessionDep, settings: SettingsDep,
                      user: CurrentUser) -> ChatCreated:
    """Staff: open a chat for `patient_id` and get a link token (shown once). The patient's page
    starts it with POST /chats/{chat_id}/start."""
    from dialogs.preconsult import new_state

    caller = ChatCaller(actor=user.actor, via="staff", user=user)
    authorize_patient(request, session, user, body.patient_id, action="create", resource=RESOURCE, resource_id=None)
    patient = session.get(Patient, body.patient_id)
    language = body.language or (patient.language if patient.language in ("zh", "en") else "zh")
    hospital = settings.dialog.hospital_name_zh if language == "zh" else settings.dialog.hospital_name_en
    state = new_state(lang=language, hospital=hospital, age_years=_age_from_record(patient))
    chat, token = store.create_chat(session, patient=patient, language=language, ttl_minutes=body.ttl_minutes,
                                    created_by=user.id, state=state)
    record_audit(session, actor=caller.actor, action="create", resource=RESOURCE, resource_id=chat.id, patient_id=patient.id)
    base = settings.service.public_base_url.rstrip("/")
    return ChatCreated(chat_id=chat.id, token=token, link=f"{base}/chat/{token}",
                       expires_at=store.as_utc(chat.token_expires_at).isoformat(), status=chat.status)


@router.post("/chats/{chat_id}/start", response_model=ChatReplyOut, responses=responses(401, 404, 422))
def start_chat(chat_id: IdPath, request: Request, session: SessionDep, caller: CallerDep) -> ChatReplyOut:
    """Start the chat: its first question, or, once started, its current question (the patient's page
    calls this on opening; staff may too)."""
    from dialogs.preconsult import current_question

    chat = _open_chat(request, session, caller, chat_id, action="start")
    started = _start_if_needed(session, chat)
    record_audit(session, actor=caller.actor, action="start", resource=RESOURCE, resource_id=chat.id, patient_id=chat.patient_id)
    if started is None:
        state = chat.state or {}
        say = current_question(state, flow=_flow()) or _flow().messages["already_finished"]["zh" if chat.language == "zh" else "en"]
        triage = (state.get("triage") or {}).get("level")
        started = {"say": say, "expecting": state.get("step"), "done": bool(state.get("done")),
                   "triage": triage, "emergency": triage == "emergency"}
    return ChatReplyOut(chat_id=chat.id, **started)


@router.post("/chats/{chat_id}/messages", response_model=ChatReplyOut, responses=responses(400, 401, 404, 413, 422))
async def post_message(chat_id: IdPath, body: ChatMessageIn, request: Request, session: SessionDep, caller: CallerDep) -> ChatReplyOut:
    """One patient message in, one reply out. Staff may post too (e.g. typing for a patient at the desk)."""
    from dialogs.preconsult import handle

    chat = _open_chat(request, session, caller, chat_id, action="message")
    _start_if_needed(session, chat)
    state = copy.deepcopy(chat.state or {})
    text = body.text[:MESSAGE_MAX_CHARS]
    store.add_message(session, chat=chat, speaker="patient", text=text[:4000])
    llm = await asyncio.to_thread(_model, request)
    reply = await asyncio.to_thread(handle, state, text, flow=_flow(), llm=llm, rules=_rules(request))
    store.add_message(session, chat=chat, speaker="assistant", text=reply.say, expecting=reply.expecting)
    store.save_state(session, chat=chat, state=state)
    report = await asyncio.to_thread(_report, chat, _rules(request))
    store.save_report(session, chat=chat, report=report)
    record_audit(session, actor=caller.actor, action="message", resource=RESOURCE, resource_id=chat.id, patient_id=chat.patient_id,
                 detail=f"triage={reply.triage}")
    return ChatReplyOut(chat_id=chat.id, **reply.as_dict())


@router.get("/chats/{chat_id}", response_model=ChatOut, responses=responses(401, 404, 422))
def read_chat(chat_id: IdPath, request: Request, session: SessionDep, caller: CallerDep) -> ChatOut:
    """The transcript and status of one chat."""
    chat = _open_chat(request, session, caller, chat_id, action="read")
    messages = store.messages_of_chat(session, chat_id=chat.id)
    record_audit(session, actor=caller.actor, action="read", resource=RESOURCE, resource_id=chat.id, patient_id=chat.patient_id)
    return ChatOut(chat_id=chat.id, patient_id=chat.patient_id, status=chat.status, language=chat.language,
                   triage=chat.triage_level, expires_at=store.as_utc(chat.token_expires_at).isoformat(),
                   messages=[ChatMessageOut(seq=m.seq, speaker=m.speaker, text=m.text, expecting=m.expecting)
                             for m in messages])


@router.get("/chats/{chat_id}/report", responses={**_REPORT_CONTENT, **responses(401, 404, 422)})
def read_report(chat_id: IdPath, request: Request, session: SessionDep, settings: SettingsDep, caller: CallerDep,
                format: Annotated[Literal["json", "fhir", "text"], Query()] = "json",
                lang: Annotated[Literal["zh", "en"] | None, Query()] = None) -> Any:
    """The structured report (JSON), its readable text (zh or en), or a FHIR R4 Bundle."""
    from dialogs.preconsult_report import to_fhir

    chat = _open_chat(request, session, caller, chat_id, action="report")
    row = store.report_of_chat(session, chat_id=chat.id)
    report = row.report if row is not None else _report(chat, _rules(request))
    record_audit(session, actor=caller.actor, action="report", resource=RESOURCE, resource_id=chat.id, patient_id=chat.patient_id,
                 detail=f"format={format}")
    if format == "text":
        return PlainTextResponse(report["text"][lang or chat.language])
    if format == "fhir":
        base = settings.service.public_base_url.rstrip("/")
        return JSONResponse(to_fhir(report, patient_id=chat.patient_id, base_url=base), media_type="application/fhir+json")
    return report


_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                               "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _error_page(code: int, message: str) -> HTMLResponse:
    """A page for a link that does not open a chat: the message (dialogs/flows/preconsult.yaml) in both
    languages, since the chat's language is not known."""
    zh, en = (_flow().messages[message][lang] for lang in ("zh", "en"))
    body = (f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>Suifang</title></head><body style='font-family:sans-serif;padding:2em'><p>{html.escape(zh)}</p>"
            f"<p>{html.escape(en)}</p></body></html>")
    return HTMLResponse(body, status_code=code, headers=_PAGE_HEADERS)


@router.get("/chat/{token}", response_class=HTMLResponse, include_in_schema=False)
def chat_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """The patient's mobile chat page (server-rendered, small vanilla JS, nothing from a CDN)."""
    chat = store.chat_by_token(session, token=token[:200])
    if chat is None:
        _deny(request, actor=_link_actor(request, None), action="page", resource_id=None, patient_id=None, detail="unknown link token")
        return _error_page(401, "link_invalid")
    if store.token_expired(chat):
        _deny(request, actor=_link_actor(request, chat.id), action="page", resource_id=chat.id, patient_id=chat.patient_id,
              detail="expired link token")
        return _error_page(401, "link_expired")
    record_audit(session, actor=_link_actor(request, chat.id), action="page", resource=RESOURCE, resource_id=chat.id,
                 patient_id=chat.patient_id)
    messages = [{"speaker": m.speaker, "text": m.text} for m in store.messages_of_chat(session, chat_id=chat.id)]
    config = {"chatId": chat.id, "token": token, "lang": chat.language, "messages": messages,
              "done": chat.status == "completed", "emergency": chat.triage_level == "emergency"}
    # JSON inside <script>: escape "<" so no text can close the tag.
    payload = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = TEMPLATE.read_text(encoding="utf-8")
    page = page.replace("{{LANG}}", "zh-CN" if chat.language == "zh" else "en").replace("{{CONFIG}}", payload)
    return HTMLResponse(page, headers=_PAGE_HEADERS)
