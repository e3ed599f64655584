"""Interface strings: one dict per language (zh is the default). Codes of the outcome contract
(levels, statuses, fields, symptoms) are translated here too, never in templates."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

ZH: dict[str, str] = {
    "app_name": "随访 · 护士审核",
    "nav_softphone": "测试电话", "softphone_title": "软电话：测试一次随访来电", "softphone_hint": "用耳机麦克风扮演患者接听一次真实的 AI 随访电话（与电话网关相同的协议）。通话会记录在该患者名下。",
    "language": "语言", "softphone_patient_language": "按患者设置", "softphone_call": "拨打", "softphone_hangup": "挂断",
    "softphone_idle": "未通话", "softphone_connecting": "正在连接…", "softphone_in_call": "通话中", "softphone_ended": "通话已结束",
    "softphone_refused": "无法为该患者发起通话", "softphone_no_microphone": "无法使用麦克风", "softphone_frames_sent": "已发送音频帧", "softphone_frames_heard": "已收到音频帧",
    "nav_queue": "审核队列", "nav_dashboard": "统计看板", "nav_logout": "退出登录", "lang_switch": "English",
    "signed_in_as": "当前用户",
    # login
    "login_title": "登录", "username": "用户名", "password": "密码", "login_button": "登录",
    "login_failed": "用户名或密码错误", "login_locked": "多次登录失败，账户已锁定，请稍后再试",
    "session_expired": "长时间未操作，已自动退出，请重新登录", "logged_out": "已退出登录",
    "login_form_expired": "登录表单已失效，请重试",
    # queue
    "queue_title": "审核队列", "filter": "筛选", "reset": "重置", "all": "全部", "ward": "病区", "level": "级别",
    "status": "状态", "date_from": "开始日期", "date_to": "结束日期", "patient": "患者", "phone": "电话",
    "reason": "原因", "created": "生成时间", "open_detail": "查看", "export_csv": "导出 CSV", "no_items": "暂无待审核项目",
    "counts": "各状态数量",
    # levels and statuses
    "level_red": "红色预警", "level_yellow": "黄色预警", "level_task": "待办",
    "status_open": "待处理", "status_confirmed": "已确认", "status_callback": "已回电", "status_escalated": "已上报医生",
    "status_resolved": "已解决",
    # call detail
    "call_title": "随访通话", "call": "通话", "started": "开始时间", "channel": "渠道", "flow": "随访流程",
    "call_status": "通话状态", "patient_info": "患者信息", "name": "姓名", "sex": "性别", "sex_male": "男", "sex_female": "女", "sex_other": "其他", "birth_year": "出生年份",
    "id_number": "身份证号", "mrn": "病案号", "diagnosis": "诊断", "discharged_on": "出院日期",
    "unmask": "显示完整号码", "unmask_reason": "查看原因（必填，将被审计）", "unmask_denied": "您的角色无权查看完整号码",
    "unmasked_notice": "已显示完整号码（已记录审计）",
    "orders": "出院医嘱", "kind": "类别", "item_name": "名称", "dose": "剂量", "frequency": "频次", "due": "到期日",
    "booking": "预约", "book_link": "预约挂号", "kind_medication": "用药", "kind_revisit": "复诊", "kind_reexam": "复查",
    "kind_warning_sign": "警示症状", "kind_instruction": "医嘱", "no_orders": "无结构化医嘱",
    "transcript": "通话记录", "speaker_system": "AI 随访", "speaker_patient": "患者", "asr_confidence": "识别置信度",
    "no_audio": "无录音", "silence": "（无应答）",
    "outcome": "随访结果", "field": "项目", "value": "值", "evidence": "依据（患者原话）", "not_learned": "未获知",
    "flags": "预警", "rule": "规则", "no_flags": "无预警", "added_by_model": "模型补充",
    "added_by_model_hint": "通话结束后由语言模型通读记录补充，请核对患者原话",
    "questions": "患者提问", "answer": "回答", "cited": "引用医嘱", "handed_to_nurse": "已转交护士",
    "corrections": "更正记录", "original": "原值", "corrected": "更正为", "by": "操作人", "at": "时间",
    "actions": "处理", "review_item": "审核项", "history": "处理记录", "note": "备注",
    "act_confirm": "确认", "act_callback": "记录回电", "act_resolve": "标记已解决", "act_escalate": "上报医生",
    "act_repeat": "安排再次随访", "act_correct": "更正", "reached": "是否联系上", "yes": "是", "no": "否",
    "result": "回电结果", "doctor": "医生", "repeat_date": "随访日期", "correct_field": "更正项目",
    "correct_value": "正确值", "correct_reason": "更正原因", "item_resolved": "该审核项已解决",
    "done_confirm": "已确认", "done_callback": "回电已记录", "done_resolve": "已解决", "done_escalate": "已上报医生",
    "done_repeat": "已安排再次随访", "done_correct": "已更正", "error": "错误", "not_found": "未找到",
    "no_item": "该通话没有审核项",
    # dashboard
    "dashboard_title": "统计看板", "success_rate": "随访成功率（已联系/应随访）", "completion_rate": "完成率",
    "flags_by_department": "各科室预警数", "flags_by_week": "每周预警数", "adherence": "用药依从性",
    "satisfaction": "满意度", "revisit_booked_rate": "复诊预约率", "due": "应随访", "reached_n": "已联系",
    "calls": "通话数", "completed": "已完成", "mean": "平均", "asked": "已询问", "booked": "已预约",
    "department": "科室", "week": "周", "red": "红色", "yellow": "黄色", "no_data": "暂无数据",
    "adh_full": "完全遵医嘱", "adh_partial": "部分", "adh_none": "未服药", "adh_unknown": "不清楚",
    # outcome fields
    "f_call_status": "通话状态", "f_respondent": "应答人", "f_identity_verified": "身份核实",
    "f_overall_condition": "总体情况", "f_medication_adherence": "用药依从性", "f_missed_medications": "漏服药物",
    "f_side_effects": "副作用", "f_symptoms": "症状", "f_pain_score": "疼痛评分", "f_blood_pressure": "血压",
    "f_blood_glucose": "血糖", "f_heart_rate": "心率", "f_temperature": "体温", "f_wound": "伤口",
    "f_revisit_aware": "知晓复诊", "f_revisit_booked": "已预约复诊", "f_reexam_done": "已复查",
    "f_satisfaction": "满意度", "f_feedback": "意见反馈", "f_risk_grade": "风险分级", "f_needs_callback": "需要回电",
}

EN: dict[str, str] = {
    "app_name": "Suifang · Nurse review",
    "nav_softphone": "Test call", "softphone_title": "Softphone: take a test follow-up call", "softphone_hint": "Answer a real AI follow-up call as the patient, with a headset (the same protocol as the phone gateway). The call is recorded under that patient.",
    "language": "Language", "softphone_patient_language": "Patient's language", "softphone_call": "Call", "softphone_hangup": "Hang up",
    "softphone_idle": "Not in a call", "softphone_connecting": "Connecting…", "softphone_in_call": "In call", "softphone_ended": "Call ended",
    "softphone_refused": "Cannot call this patient", "softphone_no_microphone": "The microphone is not available", "softphone_frames_sent": "Audio frames sent", "softphone_frames_heard": "Audio frames heard",
    "nav_queue": "Review queue", "nav_dashboard": "Dashboard", "nav_logout": "Sign out", "lang_switch": "中文",
    "signed_in_as": "Signed in as",
    "login_title": "Sign in", "username": "Username", "password": "Password", "login_button": "Sign in",
    "login_failed": "Wrong username or password", "login_locked": "Account locked after repeated failed sign-ins; try again later",
    "session_expired": "You were signed out after a period of inactivity; please sign in again",
    "logged_out": "Signed out", "login_form_expired": "The sign-in form expired; please try again",
    "queue_title": "Review queue", "filter": "Filter", "reset": "Reset", "all": "All", "ward": "Ward", "level": "Level",
    "status": "Status", "date_from": "From", "date_to": "To", "patient": "Patient", "phone": "Phone",
    "reason": "Reason", "created": "Created", "open_detail": "Open", "export_csv": "Export CSV",
    "no_items": "Nothing to review", "counts": "Items per status",
    "level_red": "Red flag", "level_yellow": "Yellow flag", "level_task": "Task",
    "status_open": "Open", "status_confirmed": "Confirmed", "status_callback": "Called back",
    "status_escalated": "Escalated", "status_resolved": "Resolved",
    "call_title": "Follow-up call", "call": "Call", "started": "Started", "channel": "Channel", "flow": "Flow",
    "call_status": "Call status", "patient_info": "Patient", "name": "Name", "sex": "Sex", "sex_male": "male", "sex_female": "female", "sex_other": "other", "birth_year": "Birth year",
    "id_number": "ID number", "mrn": "MRN", "diagnosis": "Diagnosis", "discharged_on": "Discharged",
    "unmask": "Show full numbers", "unmask_reason": "Reason (required, audited)",
    "unmask_denied": "Your role may not reveal full numbers", "unmasked_notice": "Full numbers shown (audited)",
    "orders": "Discharge orders", "kind": "Kind", "item_name": "Name", "dose": "Dose", "frequency": "Frequency",
    "due": "Due", "booking": "Booking", "book_link": "Book", "kind_medication": "Medication", "kind_revisit": "Revisit",
    "kind_reexam": "Re-exam", "kind_warning_sign": "Warning sign", "kind_instruction": "Instruction",
    "no_orders": "No structured order items",
    "transcript": "Transcript", "speaker_system": "AI assistant", "speaker_patient": "Patient",
    "asr_confidence": "ASR confidence", "no_audio": "no audio", "silence": "(silence)",
    "outcome": "Outcome", "field": "Field", "value": "Value", "evidence": "Evidence (patient's words)",
    "not_learned": "not learned", "flags": "Flags", "rule": "Rule", "no_flags": "No flags",
    "added_by_model": "added by model", "added_by_model_hint": "Added after the call by the language model reading the transcript; check the patient's words",
    "questions": "Patient questions", "answer": "Answer", "cited": "Cited orders", "handed_to_nurse": "handed to a nurse",
    "corrections": "Corrections", "original": "Original", "corrected": "Corrected", "by": "By", "at": "At",
    "actions": "Actions", "review_item": "Review item", "history": "History", "note": "Note",
    "act_confirm": "Confirm", "act_callback": "Record call-back", "act_resolve": "Resolve",
    "act_escalate": "Escalate to doctor", "act_repeat": "Schedule repeat call", "act_correct": "Correct",
    "reached": "Reached", "yes": "Yes", "no": "No", "result": "Result", "doctor": "Doctor", "repeat_date": "Date",
    "correct_field": "Field", "correct_value": "Correct value", "correct_reason": "Reason",
    "item_resolved": "This item is resolved",
    "done_confirm": "Confirmed", "done_callback": "Call-back recorded", "done_resolve": "Resolved",
    "done_escalate": "Escalated to a doctor", "done_repeat": "Repeat call scheduled", "done_correct": "Corrected",
    "error": "Error", "not_found": "Not found", "no_item": "This call has no review item",
    "dashboard_title": "Dashboard", "success_rate": "Follow-up success (reached / due)", "completion_rate": "Completion",
    "flags_by_department": "Flags by department", "flags_by_week": "Flags by week", "adherence": "Medication adherence",
    "satisfaction": "Satisfaction", "revisit_booked_rate": "Revisit booked", "due": "Due", "reached_n": "Reached",
    "calls": "Calls", "completed": "Completed", "mean": "Mean", "asked": "Asked", "booked": "Booked",
    "department": "Department", "week": "Week", "red": "Red", "yellow": "Yellow", "no_data": "No data yet",
    "adh_full": "Full", "adh_partial": "Partial", "adh_none": "None", "adh_unknown": "Unknown",
    "f_call_status": "Call status", "f_respondent": "Respondent", "f_identity_verified": "Identity verified",
    "f_overall_condition": "Overall condition", "f_medication_adherence": "Medication adherence",
    "f_missed_medications": "Missed medications", "f_side_effects": "Side effects", "f_symptoms": "Symptoms",
    "f_pain_score": "Pain score", "f_blood_pressure": "Blood pressure", "f_blood_glucose": "Blood glucose",
    "f_heart_rate": "Heart rate", "f_temperature": "Temperature", "f_wound": "Wound",
    "f_revisit_aware": "Knows revisit", "f_revisit_booked": "Revisit booked", "f_reexam_done": "Re-exam done",
    "f_satisfaction": "Satisfaction", "f_feedback": "Feedback", "f_risk_grade": "Risk grade",
    "f_needs_callback": "Needs call-back",
}

STRINGS: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translator(language: str) -> Callable[[str], str]:
    table = STRINGS[language_of(language)]
    fallback = STRINGS["en"]

    def t(key: str) -> str:
        return table.get(key) or fallback.get(key) or key

    return t
