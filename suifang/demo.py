"""Demo data: two wards, two nurses and an admin, a few discharged patients (zh and en), and
scripted follow-up calls run through the real dialog runner so the nurse queue is not empty."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.security import hash_password
from knowledge.ingest import ingest_discharge
from records import store
from records.schema import FollowupPlan, Patient, ScheduledCall, User, Ward
from suifang.config import Settings

log = logging.getLogger(__name__)

DEMO_WARDS = (
    ("CARD-1", "心内科一病区 Cardiology Ward 1", "心血管内科", "心内科张主任医疗组"),
    ("SURG-2", "肝胆外科二病区 Hepatobiliary Surgery Ward 2", "肝胆外科", "肝胆外科李主任医疗组"),
)

# Demo passwords are printed on start; a hospital sets real ones (`suifang user add`).
DEMO_USERS = (
    ("nurse_card", "王护士 (Cardiology)", "nurse", ("CARD-1",), "card-demo-2026"),
    ("nurse_surg", "刘护士 (Surgery)", "nurse", ("SURG-2",), "surg-demo-2026"),
    ("admin", "Administrator", "admin", (), "admin-demo-2026"),
)


@dataclass(frozen=True)
class DemoPatient:
    ward: str
    name: str
    sex: str
    birth_year: int
    phone: str
    language: str
    mrn: str
    department: str
    diagnosis: str
    days_ago: int
    surgery: bool
    orders: str


DEMO_PATIENTS = (
    DemoPatient("CARD-1", "王建国", "male", 1962, "13800000001", "zh", "DEMO0001", "心血管内科",
                "冠心病 经皮冠状动脉介入治疗(PCI)术后", 7, False,
                "1. 阿司匹林肠溶片 100mg 口服 每日一次 长期服用，不可自行停药\n"
                "2. 替格瑞洛片 90mg 口服 每日两次 服用12个月\n"
                "3. 阿托伐他汀钙片 20mg 口服 每晚一次\n"
                "4. 低盐低脂饮食，戒烟限酒\n"
                "5. 出院后1周心内科门诊复诊，1个月后复查血脂、肝功能\n"
                "6. 如出现胸痛、胸闷持续不缓解、黑便，立即就诊"),
    DemoPatient("CARD-1", "Robert Miller", "male", 1948, "+15550100004", "en", "DEMO0002", "Cardiology",
                "Heart failure with reduced ejection fraction, acute exacerbation", 5, False,
                "1. Furosemide 40 mg by mouth once daily in the morning\n"
                "2. Metoprolol succinate ER 50 mg by mouth once daily\n"
                "3. Sacubitril/valsartan 49/51 mg by mouth twice daily\n"
                "4. Weigh yourself every morning; call if you gain more than 2 kg in 3 days\n"
                "5. Limit salt to 2 g a day and fluids to 1.5 L a day\n"
                "6. Follow up in the heart failure clinic in 2 weeks; blood tests (kidney function, potassium) in 1 week"),
    DemoPatient("SURG-2", "李秀英", "female", 1975, "13800000002", "zh", "DEMO0003", "肝胆外科",
                "胆囊结石 腹腔镜胆囊切除术后", 3, True,
                "1. 伤口保持清洁干燥，术后7天可淋浴\n2. 清淡低脂饮食\n3. 术后2周肝胆外科门诊复查\n"
                "4. 如有发热、腹痛加重、皮肤巩膜黄染，及时就诊"),
    DemoPatient("CARD-1", "张桂兰", "female", 1950, "13800000003", "zh", "DEMO0004", "心血管内科",
                "高血压3级(很高危) 2型糖尿病", 14, False,
                "1. 苯磺酸氨氯地平片 5mg 口服 qd\n2. 缬沙坦胶囊 80mg 口服 qd\n3. 二甲双胍片 0.5g 口服 tid 随餐\n"
                "4. 每日早晚测血压并记录，监测空腹血糖\n5. 1个月后老年科门诊复诊"),
)


def load_demo(session: Session, *, settings: Settings, today: dt.date | None = None,
              knowledge_base: object = None, calls: bool = True) -> dict:
    """Idempotent: existing wards, users and patients (by MRN) are left as they are. Patients
    created now also get their scripted demo call (DEMO_CALLS) unless `calls` is false."""
    today = today or dt.date.today()
    wards = {}
    for code, name, department, team in DEMO_WARDS:
        ward = session.scalar(select(Ward).where(Ward.code == code))
        if ward is None:
            ward = Ward(code=code, name=name, department=department, team_name=team)
            session.add(ward)
        wards[code] = ward
    session.flush()
    for username, display, role, ward_codes, password in DEMO_USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            session.add(User(username=username, display_name=display, role=role,
                             password_hash=hash_password(password), wards=[wards[c] for c in ward_codes]))
    created = 0
    new_mrns = []
    for demo in DEMO_PATIENTS:
        if session.scalar(select(Patient).where(Patient.mrn == demo.mrn)) is not None:
            continue
        patient = store.create_patient(session, ward=wards[demo.ward], name=demo.name, phone=demo.phone,
                                       sex=demo.sex, birth_year=demo.birth_year, mrn=demo.mrn,
                                       language=demo.language)
        discharge = store.create_discharge(
            session, patient=patient, department=demo.department, diagnosis=demo.diagnosis,
            discharged_on=today - dt.timedelta(days=demo.days_ago), order_text=demo.orders,
            language=demo.language, surgery=demo.surgery, attending_team=wards[demo.ward].team_name,
        )
        ingest_discharge(session, discharge=discharge, settings=settings, knowledge_base=knowledge_base)
        created += 1
        new_mrns.append(demo.mrn)
    session.commit()
    call_ids = []
    if calls and new_mrns:
        call_ids = run_demo_calls(sessionmaker(bind=session.get_bind(), expire_on_commit=False), settings=settings,
                                  mrns=new_mrns, today=today, knowledge_base=knowledge_base)
    return {"patients_created": created, "calls": call_ids,
            "users": [(u, p, r, w) for u, _d, r, w, p in DEMO_USERS]}


# ----- scripted demo calls -------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoCall:
    """What the patient says, by the outcome field the call is asking about (Reply.expecting)."""

    mrn: str
    answers: dict[str, str | tuple[str, ...]]  # a tuple: said in turn when the same field is asked again
    confidences: tuple[float, ...] = (0.94, 0.91, 0.88, 0.95, 0.83, 0.9)


# 王建国: chest pain at rest for half an hour → red. 张桂兰: home BP 165/95 → yellow.
# 李秀英: red wound after surgery → yellow (SURG-2). Robert Miller: a question only a nurse can answer.
DEMO_CALLS = (
    DemoCall("DEMO0001", {
        "identity_verified": "对，我是王建国，62年的",
        "overall_condition": "不太好，今天早上坐着休息的时候胸口疼了半个多小时",
        "medication_adherence": "药都按时吃的，没有漏",
        "symptoms": "就是早上胸口疼那一次，别的没有",
        "blood_pressure": "早上量的一百四十五，九十",
        "blood_glucose": "没有测过",
        "temperature": "三十六度五",
        "revisit_aware": "知道，下周去心内科",
        "revisit_booked": "还没有预约",
        "reexam_done": "还没到时间",
        "questions": ("替格瑞洛要吃多久？", "没有了"),
        "satisfaction": "满意，五分",
        "feedback": "没有了，谢谢",
    }),
    DemoCall("DEMO0004", {
        "identity_verified": "是我，我是张桂兰，1950年的",
        "overall_condition": "差不多吧",
        "medication_adherence": "都吃了，每天按时吃",
        "blood_pressure": "今天早上量的165/95",
        "blood_glucose": "空腹血糖6.8",
        "symptoms": "没有什么不舒服",
        "revisit_aware": "知道，一个月后去复诊",
        "revisit_booked": "已经约好了",
        "reexam_done": "还没有",
        "questions": "没有问题了",
        "satisfaction": "比较满意，4分",
        "feedback": "没有",
    }),
    DemoCall("DEMO0003", {
        "identity_verified": "我是李秀英，75年的",
        "overall_condition": "好多了",
        "symptoms": "没有发烧，肚子也不疼",
        "temperature": "三十六度八",
        "wound": "伤口有点发红",
        "pain_score": "有一点疼，大概3分",
        "medication_adherence": "都按时吃了",
        "revisit_aware": "知道，两周后去肝胆外科复查",
        "revisit_booked": "约好了",
        "reexam_done": "还没到时间",
        "questions": "没有了",
        "satisfaction": "非常满意",
        "feedback": "护士很耐心，谢谢",
    }),
    DemoCall("DEMO0002", {
        "identity_verified": "Yes, this is Robert Miller, born 1948",
        "overall_condition": "Better, thanks",
        "medication_adherence": "I take all of them every day",
        "symptoms": "No, nothing new",
        "blood_pressure": "128 over 76",
        "heart_rate": "72",
        "revisit_aware": "Yes, the heart failure clinic in two weeks",
        "revisit_booked": "Yes, it is booked",
        "reexam_done": "Not yet",
        "questions": ("Can I go back to swimming next week?", "No, that's all"),
        "satisfaction": "4 out of 5",
        "feedback": "No, thank you",
    }),
)
_FALLBACK_ANSWER = {"zh": "没有了", "en": "No, that's all"}
_MAX_TURNS = 25


def run_demo_calls(session_factory: sessionmaker[Session], *, settings: Settings, mrns: list[str] | None = None,
                   today: dt.date | None = None, knowledge_base: Any = None) -> list[int]:
    """Run each scripted call through the real CallRunner, storing a short spoken WAV per patient turn
    under data_dir/audio (espeak-ng; without it the turns simply have no audio). Returns call ids."""
    from dialogs.answering import make_answerer_factory
    from dialogs.flows import load_flows
    from dialogs.runner import CallRunner

    today = today or dt.date.today()
    flows = load_flows()
    answerer_factory = (make_answerer_factory(session_factory=session_factory, knowledge_base=knowledge_base,
                                              llm=None) if knowledge_base is not None else None)
    call_ids = []
    for script in DEMO_CALLS:
        if mrns is not None and script.mrn not in mrns:
            continue
        with session_factory() as session:
            patient_id = session.scalar(select(Patient.id).where(Patient.mrn == script.mrn))
            if patient_id is None:
                continue
            scheduled = session.scalar(
                select(ScheduledCall).join(FollowupPlan, FollowupPlan.id == ScheduledCall.plan_id)
                .where(ScheduledCall.patient_id == patient_id, ScheduledCall.status == "scheduled")
                .order_by(ScheduledCall.due_date))
            scheduled_id = scheduled.id if scheduled is not None else None
        runner = CallRunner.open(session_factory=session_factory, flows=flows, settings=settings,
                                 patient_id=patient_id, channel="phone", call_date=today,
                                 scheduled_call_id=scheduled_id, answerer_factory=answerer_factory)
        reply = runner.start()
        turns = 0
        asked: dict[str, int] = {}
        while not reply.done and turns < _MAX_TURNS:
            text = _next_answer(script, reply.expecting or "", asked, language=runner.engine.lang)
            audio_ref = _speak_to_wav(settings, call_id=runner.call_id, seq=runner._seq, text=text,
                                      language=runner.engine.lang)
            confidence = script.confidences[turns % len(script.confidences)] if audio_ref else None
            reply = runner.handle(text, audio_ref=audio_ref, asr_confidence=confidence)
            turns += 1
        runner.finish()
        call_ids.append(runner.call_id)
        log.info("demo call %s: %d patient turns", runner.call_id, turns)
    return call_ids


def _next_answer(script: DemoCall, field: str, asked: dict[str, int], *, language: str) -> str:
    answers = script.answers.get(field)
    said = asked.get(field, 0)
    asked[field] = said + 1
    if isinstance(answers, str):
        answers = (answers,)
    if answers and said < len(answers):
        return answers[said]
    if answers and field != "questions":
        return answers[-1]
    return _FALLBACK_ANSWER[language]


def _speak_to_wav(settings: Settings, *, call_id: int, seq: int, text: str, language: str) -> str | None:
    """A short WAV of the patient's words (espeak-ng), stored as api/phone.py stores recordings."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None
    relative = Path(f"call-{call_id}") / f"turn-{seq:03d}.wav"
    target = settings.data_path("audio") / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    voice = "cmn" if language == "zh" else "en-us"
    try:
        subprocess.run([binary, "-v", voice, "-s", "170", "-w", str(target), text], check=True,
                       capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        log.warning("demo call %s: espeak-ng failed; turn %s stored without audio", call_id, seq)
        return None
    return str(relative)
