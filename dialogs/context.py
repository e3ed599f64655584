"""What a follow-up call knows about its patient: identity items and the structured orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from knowledge.plans import due_date as period_due_date
from language.words import word_list

# Days after the call within which a due re-exam is worth asking about.
REEXAM_LOOKAHEAD_DAYS = 7

# Facts from the diagnosis: language/data/word_lists.yaml.
_DIABETES_WORDS = word_list("diabetes_words")
_HYPERTENSION_WORDS = word_list("hypertension_words")
_HEART_FAILURE_WORDS = word_list("heart_failure_words")
_RATE_DIAGNOSIS_WORDS = word_list("rate_diagnosis_words")
_INFECTION_WORDS = word_list("infection_words")
_RATE_DRUGS = word_list("rate_drugs")
_BP_WATCH_CLASSES = frozenset(word_list("bp_watch_classes"))
_PAIN_WATCH_WORDS = word_list("pain_watch_words")
_PAIN_WATCH_DRUGS = word_list("pain_watch_drugs")


@dataclass(frozen=True)
class Medication:
    item_id: int
    name: str
    generic_name: str | None
    drug_class: str | None
    frequency: str | None = None    # prn: taken only when needed, so not taking it is no miss
    duration: str | None = None     # a set course ("P7D"): "吃完了" then is the course done, not run out
    route: str | None = None        # sc, im, inhaled…: "the injections" may name it when its name does not say so

    def as_dict(self) -> dict:
        return {"id": self.item_id, "name": self.name, "generic_name": self.generic_name,
                "drug_class": self.drug_class, "frequency": self.frequency, "duration": self.duration,
                "route": self.route}


@dataclass(frozen=True)
class Appointment:
    """A revisit (department) or a re-exam (item), with its due date and booking link."""

    item_id: int
    kind: str  # revisit | reexam
    name: str
    due: dt.date | None
    booking_url: str | None = None


@dataclass(frozen=True)
class CallContext:
    patient_id: int
    patient_name: str
    sex: str | None
    birth_year: int | None
    id_last4: str | None
    phone_last4: str | None
    language: str
    hospital: str
    ward_team: str
    department: str
    diagnosis: str
    discharged_on: dt.date
    call_date: dt.date
    post_surgery: bool
    medications: tuple[Medication, ...] = ()
    revisits: tuple[Appointment, ...] = ()
    reexams: tuple[Appointment, ...] = ()
    facts: frozenset[str] = field(default_factory=frozenset)

    @property
    def days_since_discharge(self) -> int:
        return (self.call_date - self.discharged_on).days

    def parser_context(self) -> dict:
        return {
            "name": self.patient_name, "birth_year": self.birth_year, "id_last4": self.id_last4,
            "phone_last4": self.phone_last4, "medications": [m.as_dict() for m in self.medications],
            "language": self.language,
        }


def derive_facts(*, diagnosis: str, surgery: bool, medications: tuple[Medication, ...],
                 revisits: tuple[Appointment, ...], reexams: tuple[Appointment, ...],
                 call_date: dt.date) -> frozenset[str]:
    """The facts flow conditions may test (`has: …`)."""
    text = diagnosis.lower()
    classes = {m.drug_class for m in medications}
    facts = set()
    if medications:
        facts.add("medications")
    if revisits:
        facts.add("revisit")
    horizon = call_date + dt.timedelta(days=REEXAM_LOOKAHEAD_DAYS)
    if any(r.due is not None and r.due <= horizon for r in reexams):
        facts.add("reexam_due")
    if surgery:
        facts.add("surgery")
    if any(w in text for w in _DIABETES_WORDS) or classes & {"insulin", "antidiabetic"}:
        facts.add("diabetes")
    if any(w in text for w in _HYPERTENSION_WORDS):
        facts.add("hypertension")
    if classes & _BP_WATCH_CLASSES:
        facts.add("bp_watch")     # a drug that lowers the pressure: the reading is asked
    if any(w in text for w in _HEART_FAILURE_WORDS):
        facts.add("heart_failure")
    names = " ".join(f"{m.generic_name or ''} {m.name or ''}".lower() for m in medications)
    if any(w in text for w in _RATE_DIAGNOSIS_WORDS) or any(w in names for w in _RATE_DRUGS):
        facts.add("rate_watch")   # a rhythm diagnosis, a device or a drug that slows the heart: the pulse is asked
    by_clock = " ".join(f"{m.generic_name or ''} {m.name or ''}".lower() for m in medications if m.frequency != "prn")
    if any(w in text for w in _PAIN_WATCH_WORDS) or any(w in by_clock for w in _PAIN_WATCH_DRUGS):
        facts.add("pain_watch")   # pain treated as such: the pain score is asked even when no pain is said
    if any(w in text for w in _INFECTION_WORDS):
        facts.add("infection")    # an infection treated: the temperature is asked even when no fever is said
    return frozenset(facts)


def build_context(*, patient, discharge, items, ward_team: str, hospital: str,  # noqa: ANN001
                  call_date: dt.date, language: str | None = None) -> CallContext:
    """From record rows (records.schema Patient, Discharge, OrderItem)."""
    medications = tuple(
        Medication(item_id=i.id, name=i.name, generic_name=i.generic_name, drug_class=i.drug_class,
                   frequency=i.frequency, duration=i.duration, route=i.route)
        for i in items if i.kind == "medication" and i.name
    )

    def due(item) -> dt.date | None:  # noqa: ANN001
        return item.due_date or period_due_date(item.when, start=discharge.discharged_on)

    revisits = tuple(Appointment(item_id=i.id, kind="revisit", name=i.name or discharge.department, due=due(i),
                                 booking_url=i.booking_url) for i in items if i.kind == "revisit")
    reexams = tuple(Appointment(item_id=i.id, kind="reexam", name=i.name or "", due=due(i),
                                booking_url=i.booking_url) for i in items if i.kind == "reexam" and i.name)
    return CallContext(
        patient_id=patient.id, patient_name=patient.name, sex=patient.sex, birth_year=patient.birth_year,
        id_last4=(patient.id_number or "")[-4:] or None, phone_last4=(patient.phone or "")[-4:] or None,
        language=language or patient.language or discharge.language, hospital=hospital, ward_team=ward_team,
        department=discharge.department, diagnosis=discharge.diagnosis, discharged_on=discharge.discharged_on,
        call_date=call_date, post_surgery=bool(discharge.surgery), medications=medications, revisits=revisits,
        reexams=reexams,
        facts=derive_facts(diagnosis=discharge.diagnosis, surgery=bool(discharge.surgery), medications=medications,
                           revisits=revisits, reexams=reexams, call_date=call_date),
    )
