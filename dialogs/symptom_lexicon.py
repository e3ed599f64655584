"""Symptom words (zh, en) → the symptom codes of ../shared/spec/followup-outcome.md.

Patterns are regular expressions over normalised text (English lower-cased). Where two codes
match overlapping words the longer match wins ("心慌出汗手抖" is hypoglycaemia, not palpitations;
"晕倒" is syncope, not dizziness)."""

from __future__ import annotations

import re

SYMPTOM_CODES = (
    "chest_pain", "chest_tightness", "palpitations", "dyspnea", "cough", "hemoptysis", "fever", "chills",
    "headache", "dizziness", "syncope", "confusion", "slurred_speech", "facial_droop", "limb_weakness", "edema",
    "weight_gain", "fatigue", "nausea_vomiting", "hematemesis", "abdominal_pain", "diarrhea", "constipation",
    "melena", "jaundice", "urinary_problem", "rash", "itching", "bleeding", "bruising", "wound_pain", "insomnia",
    "low_mood", "suicidal_ideation", "hypoglycemia_symptoms", "pain",
)

_ZH: dict[str, list[str]] = {
    "chest_pain": [r"胸(?:口|部|前区|前|骨后)?(?:[^，,。；;！!？?]{0,4}?)(?:痛|疼)", r"心口(?:[^，,。]{0,3})(?:痛|疼)", r"心绞痛"],
    "chest_tightness": [r"胸闷", r"胸口(?:[^，,。]{0,3})闷", r"憋闷", r"胸(?:口)?(?:[^，,。]{0,2})(?:发紧|压着|压得慌)"],
    "palpitations": [r"心慌", r"心悸", r"心跳(?:[^，,。]{0,3})(?:快|乱|不齐|厉害|加快)", r"心里(?:扑通|突突)", r"早搏"],
    "dyspnea": [r"气短", r"气促", r"喘不(?:上|过)气", r"呼吸困难", r"憋气", r"上不来气", r"气不够", r"透不过气",
                r"气喘", r"(?<![咳])喘(?!息)", r"躺不平", r"不能平躺", r"憋醒", r"呼吸(?:[^，,。]{0,2})(?:费劲|费力|急)"],
    "cough": [r"咳嗽", r"咳(?!血)", r"有痰"],
    "hemoptysis": [r"咯血", r"咳(?:出)?血", r"痰(?:里|中)?(?:带)?血"],
    "fever": [r"发烧", r"发热", r"烧(?:到|了|起来)", r"体温(?:[^，,。]{0,2})高", r"低烧", r"高烧"],
    "chills": [r"发冷", r"寒战", r"打(?:寒|冷)颤", r"怕冷", r"发抖(?=.{0,3}(?:冷|烧))"],
    "headache": [r"头(?:[^，,。；;晕昏]{0,3}?)(?:痛|疼)", r"偏头痛"],
    "dizziness": [r"头晕", r"头昏", r"晕乎", r"眩晕", r"(?<![低])晕(?!倒|过去|厥|车)", r"天旋地转", r"发晕"],
    "syncope": [r"晕倒", r"晕厥", r"昏倒", r"晕过去", r"昏过去", r"不省人事", r"失去(?:了)?意识", r"昏迷", r"突然倒(?:在|下)"],
    "confusion": [r"意识模糊", r"糊涂", r"神志不清", r"认不(?:出|得)人", r"说胡话", r"迷迷糊糊", r"反应(?:很)?迟钝"],
    "slurred_speech": [r"说话(?:[^，,。]{0,5}?)(?:不清|含糊|不利索|费劲|不太清|大舌头)", r"口齿不清", r"说不出话", r"言语不清", r"大舌头",
                       r"舌头(?:[^，,。]{0,2})(?:不灵|发硬|不听使唤)", r"吐字不清"],
    "facial_droop": [r"口角(?:[^，,。]{0,2})歪", r"嘴(?:巴)?(?:[^，,。]{0,2})歪", r"面瘫", r"脸(?:[^，,。]{0,2})歪", r"口眼歪斜"],
    "limb_weakness": [r"(?:手|脚|腿|胳膊|胳臂|肢体|半边|一侧|身子|半身|左边|右边)(?:[^，,。；;]{0,4}?)(?:没劲|没力|无力|麻木|发麻|麻|不听使唤|抬不起|不灵活|动不了)",
                      r"偏瘫"],
    "edema": [r"水肿", r"浮肿", r"(?:脚|腿|脚踝|踝|脸|眼皮|下肢|小腿|脚背)(?:[^，,。；;]{0,4}?)肿"],
    "weight_gain": [r"体重(?:[^，,。]{0,4}?)(?:增加|长了|涨了|上升|重了|多了|增了)", r"(?:胖|重|长)了(?:[^，,。]{0,3})(?:斤|公斤|千克)"],
    "fatigue": [r"乏力", r"没力气", r"浑身(?:[^，,。]{0,2})没劲", r"疲劳", r"疲倦", r"没精神", r"容易累", r"(?:很|特别|老是|总是)累", r"犯困"],
    "nausea_vomiting": [r"恶心", r"呕吐", r"想吐", r"吐了(?!血)", r"反胃", r"(?<![呕咯咳])吐(?!血|字|痰)"],
    "hematemesis": [r"呕血", r"吐血", r"吐(?:出)?(?:了)?(?:咖啡色|血)"],
    "abdominal_pain": [r"(?:肚子|腹部|腹|胃|上腹|下腹|肚脐|右上腹|肚)(?:[^，,。；;]{0,4}?)(?:痛|疼)", r"腹痛", r"胃(?:[^，,。]{0,2})不舒服"],
    "diarrhea": [r"腹泻", r"拉肚子", r"拉稀", r"稀便", r"水样便"],
    "constipation": [r"便秘", r"大便(?:[^，,。]{0,2})干", r"解不出(?:大便)?", r"排便困难", r"几天没(?:有)?(?:解)?大便"],
    "melena": [r"黑便", r"大便(?:[^，,。]{0,3}?)黑", r"便血", r"拉(?:了)?血", r"大便(?:[^，,。]{0,3}?)(?:带)?血", r"柏油样", r"拉黑"],
    "jaundice": [r"黄疸", r"(?:皮肤|眼睛|巩膜|眼白|脸|全身)(?:[^，,。]{0,3}?)(?:发)?黄", r"黄染"],
    "urinary_problem": [r"尿(?:不出|少|频|急|痛|血|不尽|不畅)", r"尿量(?:[^，,。]{0,4})(?:少|减少)", r"小便(?:[^，,。]{0,3}?)(?:少|疼|痛|困难|不畅|血|不出)", r"排尿(?:困难|疼|痛|不畅)"],
    "rash": [r"皮疹", r"疹子", r"红疹", r"风团", r"起(?:了)?(?:一些|一片|好多)?(?:红)?(?:点|疙瘩)", r"过敏"],
    "itching": [r"瘙痒", r"(?<![不])痒"],
    "bleeding": [r"(?<![便咯咳呕吐])出血", r"流血", r"渗血", r"鼻血", r"牙龈(?:[^，,。]{0,2})血"],
    "bruising": [r"瘀斑", r"淤斑", r"淤青", r"瘀青", r"青紫", r"乌青", r"青一块"],
    "wound_pain": [r"(?:伤口|刀口|切口)(?:[^，,。；;]{0,3}?)(?:痛|疼)"],
    "insomnia": [r"失眠", r"睡不着", r"睡不好", r"入睡困难", r"睡眠(?:[^，,。]{0,2})(?:差|不好)"],
    "low_mood": [r"情绪低落", r"心情(?:[^，,。]{0,2})(?:不好|差|低落)", r"抑郁", r"闷闷不乐", r"高兴不起来", r"提不起(?:劲|兴趣)"],
    "suicidal_ideation": [r"不想活", r"活着没(?:什么)?意思", r"想死", r"轻生", r"自杀", r"了结(?:自己)?", r"死了算了"],
    "hypoglycemia_symptoms": [r"低血糖", r"心慌(?:[^，,。]{0,2})出(?:冷)?汗(?:[^，,。]{0,2}手抖)?", r"出冷汗", r"手(?:发)?抖"],
    "pain": [r"(?:腰|背|腿|关节|膝盖|肩|脖子|全身|身上|骨头|屁股|嗓子|喉咙)(?:[^，,。；;]{0,3}?)(?:痛|疼)", r"疼痛"],
}

_EN: dict[str, list[str]] = {
    "chest_pain": [r"chest (?:pain|pains|hurts|hurting|ache)", r"pain in (?:my |the |his |her )?chest", r"angina",
                   r"chest (?:has been|was|is) (?:hurting|painful|sore)"],
    "chest_tightness": [r"chest tightness", r"tight(?:ness)? in (?:my |the |his |her )?chest", r"chest (?:feels|felt|is|was|gets) tight",
                        r"pressure (?:in|on) (?:my |the |his |her )?chest", r"chest pressure", r"tight chest"],
    "palpitations": [r"palpitation", r"heart (?:is |was |keeps )?(?:racing|pounding|fluttering|skipping|beating fast)", r"racing heart",
                     r"fluttering"],
    "dyspnea": [r"short(?:ness)? of breath", r"breathless", r"can(?:'|no)?t (?:catch my )?breathe?", r"cannot breathe",
                r"(?:trouble|difficulty|problems?) breathing", r"hard to breathe", r"winded", r"out of breath",
                r"can(?:'|no)?t lie (?:down )?flat", r"breathing (?:is |has been )?(?:worse|harder|difficult)", r"gasping"],
    "cough": [r"cough"],
    "hemoptysis": [r"cough(?:ing|ed)? (?:up )?blood", r"blood in (?:my |the )?(?:sputum|phlegm|spit)", r"bloody (?:sputum|phlegm)"],
    "fever": [r"fever", r"feverish", r"running a temperature", r"high temperature", r"temperature (?:is |was )?(?:up|high)"],
    "chills": [r"chills", r"shivering", r"shivers", r"rigors"],
    "headache": [r"headache", r"head (?:hurts|aches|is pounding)", r"migraine"],
    "dizziness": [r"dizz", r"light[- ]?headed", r"vertigo", r"woozy", r"room (?:is )?spinning"],
    "syncope": [r"faint(?:ed|ing)?\b", r"passed out", r"blacked out", r"collapsed", r"lost consciousness", r"pass out"],
    "confusion": [r"confus", r"disoriented", r"not making sense", r"doesn't know where", r"muddled"],
    "slurred_speech": [r"slurr", r"trouble (?:speaking|talking|getting (?:the |my )?words out)", r"can(?:'|no)?t speak",
                       r"speech (?:is |was )?(?:suddenly )?(?:slurred|garbled|off)", r"words (?:are |were )?(?:slurred|jumbled)"],
    "facial_droop": [r"facial droop", r"face (?:is |was )?(?:drooping|droopy|droops)", r"droop(?:ing|y)? (?:face|mouth|on one side)",
                     r"face.{0,12}droop", r"mouth.{0,12}droop", r"lopsided"],
    "limb_weakness": [r"(?:arm|leg|hand|side|limb|foot)s? (?:is |are |was |were |feels? |felt |went |has gone |have gone |has been )?(?:very |so |really |a bit |kind of )?(?:weak|numb|heavy|limp)",
                      r"weak(?:ness)? (?:in|on) (?:my |the |her |his |your |one |their )?(?:left |right )?(?:arm|leg|hand|side|face)",
                      r"numb(?:ness)? (?:in|on) (?:my |the |her |his |your |one |their )?(?:left |right )?(?:arm|leg|hand|side|face)",
                      r"can(?:'|no)?t (?:move|lift) (?:my |her |his )?(?:left |right )?(?:arm|leg|hand)"],
    "edema": [r"swell", r"swollen", r"edema", r"oedema", r"puffy", r"puffed up"],
    "weight_gain": [r"(?:put on|gained|gain(?:ing)?|up) (?:about |around |almost |nearly |over |more than )?[\d.]+ ?(?:kilo|kg|pound|lb)",
                    r"weight (?:is |has )?(?:gone )?up", r"gained weight", r"put on weight", r"heavier", r"weight gain"],
    "fatigue": [r"tired", r"fatigue", r"exhausted", r"no energy", r"worn out", r"lethargic", r"wiped out"],
    "nausea_vomiting": [r"nause", r"vomit(?!ing blood|ed blood)", r"throw(?:ing)? up(?! blood)", r"threw up(?! blood)", r"sick to (?:my|the) stomach", r"queasy"],
    "hematemesis": [r"vomit(?:ing|ed)? (?:up )?blood", r"threw up blood", r"throwing up blood", r"coffee[- ]ground"],
    "abdominal_pain": [r"(?:stomach|belly|abdominal|tummy|abdomen) (?:pain|ache|hurts|cramps?|is sore)", r"stomach ?ache", r"bellyache",
                       r"pain in (?:my |the )?(?:stomach|belly|abdomen|tummy|side)", r"abdominal pain"],
    "diarrhea": [r"diarrh", r"loose (?:stool|bowel)", r"the runs"],
    "constipation": [r"constipat", r"haven't (?:had a bowel movement|been able to go)", r"can(?:'|no)?t poop"],
    "melena": [r"black (?:stool|poop|bowel)", r"tarry", r"blood in (?:my |the |your |his |her )?(?:stool|poop|bowel)", r"bloody (?:stool|poop|bowel)",
               r"stools? (?:are |is |were )?(?:black|bloody|tarry)", r"rectal bleeding"],
    "jaundice": [r"jaundice", r"yellow (?:skin|eyes)", r"(?:skin|eyes) (?:look |looks |turned |are |is |went |have gone )?(?:a bit )?yellow"],
    "urinary_problem": [r"(?:trouble|pain|burning|difficulty) (?:when )?(?:peeing|urinating|passing water)", r"can(?:'|no)?t pee",
                        r"blood in (?:my |the )?urine", r"(?:peeing|urinating) (?:a lot|less|more|blood)", r"not peeing"],
    "rash": [r"rash", r"hives", r"spots on (?:my |the )?skin", r"breaking out"],
    "itching": [r"itch"],
    "bleeding": [r"bleed(?!ing (?:from|in) (?:my |the )?(?:bottom|rectum))", r"(?<!black )blood(?! (?:pressure|sugar|test|thinner|work|glucose|draw|count|in (?:my |the )?(?:stool|poop|urine|sputum|phlegm)))",
                 r"nosebleed"],
    "bruising": [r"bruis"],
    "wound_pain": [r"(?:wound|incision|cut|scar|stitches) (?:is |are |has been |feels )?(?:really |very |a bit |quite )?(?:hurts?|hurting|painful|sore|aching)",
                   r"pain (?:at|in|around) (?:the |my )?(?:wound|incision|cut|scar)"],
    "insomnia": [r"can(?:'|no)?t sleep", r"insomnia", r"trouble sleeping", r"not sleeping", r"can(?:'|no)?t fall asleep", r"sleeping badly"],
    "low_mood": [r"depressed", r"low mood", r"feeling (?:down|low|blue)", r"\bsad\b", r"hopeless"],
    "suicidal_ideation": [r"suicid", r"kill (?:my|her|him)self", r"end (?:my|it all|her|his) (?:life)?", r"don'?t want to (?:live|be here)",
                          r"want to die", r"better off dead", r"no reason to live"],
    "hypoglycemia_symptoms": [r"hypo\b", r"hypoglyc", r"low (?:blood )?sugar", r"shaky and sweaty", r"sweaty and shaky", r"cold sweats?",
                              r"shaky"],
    "pain": [r"\bpain", r"hurts", r"\bache", r"\bsore\b", r"aching"],
}


def _compile(table: dict[str, list[str]], flags: int = 0) -> list[tuple[str, re.Pattern[str]]]:
    return [(code, re.compile(p, flags)) for code, patterns in table.items() for p in patterns]


ZH_PATTERNS = _compile(_ZH)
EN_PATTERNS = _compile(_EN, re.IGNORECASE)

assert set(_ZH) == set(SYMPTOM_CODES) and set(_EN) == set(SYMPTOM_CODES)

# A more specific code makes a generic one redundant when both come from the same words.
GENERIC_OVER = {
    "pain": ("chest_pain", "headache", "abdominal_pain", "wound_pain"),
    "dizziness": ("syncope",),
    "bleeding": ("melena", "hematemesis", "hemoptysis"),
    "palpitations": ("hypoglycemia_symptoms",),
    "nausea_vomiting": ("hematemesis",),
}


def match_symptoms(text: str, lang: str) -> list[tuple[str, int, int]]:
    """(code, start, end) for every symptom mention; overlaps resolved longest-first."""
    patterns = ZH_PATTERNS if lang == "zh" else EN_PATTERNS
    found = []
    for code, pattern in patterns:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                found.append((code, m.start(), m.end()))
    # Chinese text may carry English words and the reverse (code-switching, ASR).
    other = EN_PATTERNS if lang == "zh" else ZH_PATTERNS
    if lang == "zh" and re.search(r"[a-zA-Z]{3}", text) or lang == "en" and re.search(r"[\u4e00-\u9fff]", text):
        for code, pattern in other:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    found.append((code, m.start(), m.end()))
    found.sort(key=lambda f: (-(f[2] - f[1]), f[1]))
    kept: list[tuple[str, int, int]] = []
    for code, start, end in found:
        if any(start < k_end and k_start < end for _, k_start, k_end in kept):
            continue
        kept.append((code, start, end))
    kept.sort(key=lambda f: f[1])
    return kept
