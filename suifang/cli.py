"""The `suifang` command line: serve, demo, db upgrade, eval."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from suifang.config import load_settings

app = typer.Typer(help="Suifang 随访: AI follow-up calls and pre-consultation for hospitals.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure Suifang against scored scenarios.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(eval_app, name="eval")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the database migrations (creates the SQLite file on first run)."""
    from records.db import upgrade

    settings = load_settings()
    upgrade(settings.database.url, revision)
    typer.echo(f"database at revision {revision}")


@app.command()
def demo() -> None:
    """Load demo wards, staff accounts and discharged patients (idempotent), and print the logins."""
    from suifang.services import Services
    from records.db import upgrade
    from suifang.demo import load_demo

    settings = load_settings()
    upgrade(settings.database.url)
    services = Services.build(settings)
    try:
        knowledge_base = services.knowledge_base()
    except Exception as exc:  # noqa: BLE001
        typer.echo(f"warning: knowledge base unavailable ({exc}); items stored without retrieval index", err=True)
        knowledge_base = None
    with services.session_factory() as session:
        result = load_demo(session, settings=settings, knowledge_base=knowledge_base)
    services.close()
    typer.echo(f"demo data ready: {result['patients_created']} new patients")
    typer.echo("staff accounts (username / password / role / wards):")
    for username, password, role, wards in result["users"]:
        typer.echo(f"  {username:12} {password:18} {role:6} {', '.join(wards) or 'all wards'}")


@app.command()
def serve(host: Annotated[str | None, typer.Option()] = None,
          port: Annotated[int | None, typer.Option()] = None) -> None:
    """Run the HTTP service (migrations are applied first)."""
    import uvicorn

    from api.app import create_app
    from records.db import upgrade

    settings = load_settings()
    upgrade(settings.database.url)
    uvicorn.run(create_app(settings), host=host or settings.service.host, port=port or settings.service.port,
                log_config=None)


@eval_app.command("discharge")
def eval_discharge(file: Path, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Score the order structurer against gold records (shared/spec/discharge-orders.md)."""
    from evaluation.discharge import evaluate_discharge, format_discharge_report

    if not file.exists():
        typer.echo(f"no such file: {file}", err=True)
        raise typer.Exit(2)
    report = evaluate_discharge(file)
    typer.echo(format_discharge_report(report))
    if as_json:
        keys = ("medications", "revisits", "reexams", "warning_signs", "docs_per_second")
        typer.echo(json.dumps({k: report[k] for k in keys}, ensure_ascii=False))


@eval_app.command("followup")
def eval_followup(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON on the last line")] = False,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="run with the language model switched off")] = False,
    voice: Annotated[bool, typer.Option("--voice", help="answers go through TTS, 8 kHz μ-law and speech recognition")] = False,
    line: Annotated[str, typer.Option("--line", help="with --voice: media-streams (the WebSocket) or sip "
                                                     "(SIP calls through a local kamailio to a baresip phone)")] = "media-streams",
    persona_voice: Annotated[str | None, typer.Option("--persona-voice", help="with --voice: the scripted patient's "
                                                      "Kokoro voices, e.g. zf_xiaoxiao,am_puck (default: "
                                                      "models.tts.kokoro.persona_voice_zh/en), or espeak-ng")] = None,
    clean_line: Annotated[bool, typer.Option("--clean-line", help="with --voice: no degraded channel (G.711, level, "
                                                                  "noise, lost frames) between patient and service")] = False,
    seed: Annotated[int, typer.Option(help="with --voice: the degraded channel's seed")] = 13,
) -> None:
    """Simulated follow-up calls scored against expected outcomes (shared/spec/scenario-format.md)."""
    from evaluation.followup import ScenarioError, format_result, format_summary, result_json, run_followup_eval

    if not file.exists():
        typer.echo(f"no such file: {file}", err=True)
        raise typer.Exit(2)
    try:
        results, summary = run_followup_eval(file, use_llm=not no_llm, voice=voice, line=line,
                                             persona_voice=persona_voice, degraded=not clean_line, seed=seed,
                                             on_result=lambda r: typer.echo(format_result(r)))
    except ScenarioError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(format_summary(summary))
    if as_json:
        typer.echo(json.dumps({**summary, "results": [result_json(r) for r in results]}, ensure_ascii=False))


@eval_app.command("answers")
def eval_answers(
    files: Annotated[list[Path] | None, typer.Argument(help="answers corpus files (default: the test split)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON on the last line")] = False,
    misses: Annotated[bool, typer.Option("--misses", help="print each wrong answer (train files only)")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="let the language model rephrase answers (default off)")] = False,
) -> None:
    """Patients' questions answered from their own discharge orders or handed to a nurse
    (evaluation/data/answers/AUTHOR-NOTES.md)."""
    from evaluation.answers import DEFAULT_FILE, AnswersCorpusError, format_miss, format_summary, run_answers_eval

    paths = list(files or [DEFAULT_FILE])
    for path in paths:
        if not path.exists():
            typer.echo(f"no such file: {path}", err=True)
            raise typer.Exit(2)
    try:
        results, summary = run_answers_eval(paths, use_llm=llm)
    except AnswersCorpusError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if misses:
        for result in results:
            if not result.correct:
                typer.echo(format_miss(result))
    typer.echo(format_summary(summary))
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))


@eval_app.command("preconsult")
def eval_preconsult(
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON on the last line")] = False,
    cmdd: Annotated[Path | None, typer.Option(help="CMDD test file (default: ../shared/data/cmdd-dialogue-symptoms/cmdd_test.jsonl)")] = None,
    vignettes: Annotated[Path | None, typer.Option(help="triage vignettes (default: ../shared/data/triage-vignettes/semigran_vignettes.jsonl)")] = None,
    llm: Annotated[bool, typer.Option("--llm", help="let the configured language model raise triage levels")] = False,
) -> None:
    """Pre-consultation: symptom + status F1 on CMDD (paediatric) and MIE cardiology dev (adult, tune/check halves) dialogues, DXY held-out check, triage accuracy on Semigran vignettes."""
    from evaluation.preconsult import CMDD_PATH, VIGNETTES_PATH, format_preconsult_report, run_preconsult_eval

    cmdd_path, vignettes_path = cmdd or CMDD_PATH, vignettes or VIGNETTES_PATH
    for path in (cmdd_path, vignettes_path):
        if not path.exists():
            typer.echo(f"no such file: {path}", err=True)
            raise typer.Exit(2)
    model = None
    if llm:
        from suifang.services import Services

        model = Services.build(load_settings()).language_model_or_none()
    report = run_preconsult_eval(cmdd_path=cmdd_path, vignettes_path=vignettes_path, llm=model)
    typer.echo(format_preconsult_report(report))
    if as_json:
        typer.echo(json.dumps({k: v for k, v in report.items() if k != "details"}, ensure_ascii=False))


@eval_app.command("understanding")
def eval_understanding(
    files: Annotated[list[Path] | None, typer.Argument(help="corpus files (default: the test split)")] = None,
    split: Annotated[str, typer.Option(help="train | dev | test, when no files are given")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON on the last line")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="let the language model settle what the rules cannot")] = False,
    no_embeddings: Annotated[bool, typer.Option("--no-embeddings", help="rules only, no semantic matching")] = False,
    errors: Annotated[bool, typer.Option("--errors", help="print every wrong item (do not use on the test split to tune)")] = False,
) -> None:
    """Labelled patient answers (evaluation/data/understanding) through the engine: per-field accuracy, red-flag recall."""
    from evaluation.understanding import CorpusError, format_report, run_understanding_eval, split_files

    try:
        paths = list(files) if files else split_files(split)
        for path in paths:
            if not path.exists():
                raise CorpusError(f"no such file: {path}")
        report = run_understanding_eval(paths, use_llm=llm, use_embeddings=not no_embeddings)
    except CorpusError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(format_report(report, show_errors=errors))
    if as_json:
        typer.echo(json.dumps({k: v for k, v in report.items() if not k.startswith("_")}, ensure_ascii=False))


models_app = typer.Typer(help="Packaged model weights.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("prepare")
def models_prepare() -> None:
    """Assemble the packaged weights from site-packages into data_dir/models and check their SHA-256."""
    from models.weights import local_llm_path

    settings = load_settings()
    path = local_llm_path(settings)
    typer.echo(f"language model: {path}")
    from models.asr import prepare_asr_weights; typer.echo(f"speech recognition: {prepare_asr_weights(settings)}")  # noqa: E702, I001
    if settings.models.tts.backend == "kokoro":
        from models.kokoro import prepare_kokoro_weights

        typer.echo(f"speech synthesis (Kokoro): {prepare_kokoro_weights(settings)}")
    if settings.models.turn.backend == "smart-turn":
        from models.turn import prepare_turn_weights

        typer.echo(f"end of turn (Smart Turn): {prepare_turn_weights(settings)}")


campaigns_app = typer.Typer(help="Call campaigns: dispatch due follow-up calls.", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")


@campaigns_app.command("run")
def campaigns_run(once: Annotated[bool, typer.Option("--once", help="one dispatcher tick, wait for its calls, exit")] = False) -> None:
    """The dispatcher: claim due calls within the calling windows and run them (campaigns.workers)."""
    from campaigns.cli import run_dispatcher

    run_dispatcher(load_settings(), once=once, echo=typer.echo)


@campaigns_app.command("worker")
def campaigns_worker(concurrency: Annotated[int, typer.Option(help="calls at a time")] = 2) -> None:
    """A Celery worker for campaigns.workers: celery (broker: campaigns.broker_url)."""
    from campaigns.celery_app import celery_app

    celery_app.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=threads",
                            "--without-gossip", "--without-mingle"])


@app.command("export")
def export_fhir(
    out: Annotated[Path, typer.Option("--out", help="NDJSON file to write: one FHIR R4 resource per line")],
    since: Annotated[str | None, typer.Option(help="only calls ended on or after this date (YYYY-MM-DD)")] = None,
    ward: Annotated[str | None, typer.Option(help="only calls of this ward (code); default all wards")] = None,
) -> None:
    """Export follow-up outcomes as FHIR R4 (Patient, Task, Communication, QuestionnaireResponse,
    Observation, Flag), each resource validated; every exported patient is audited."""
    import datetime as dt

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from records import fhir_export
    from records.audit import SYSTEM_ACTOR, record_audit
    from records.db import make_engine, make_session_factory
    from records.store import UnknownWard, ward_by_code

    try:
        since_at = (dt.datetime.combine(dt.date.fromisoformat(since), dt.time(), tzinfo=dt.timezone.utc)
                    if since else None)
    except ValueError:
        typer.echo(f"--since must be a date YYYY-MM-DD, not {since!r}", err=True)
        raise typer.Exit(2) from None
    settings = load_settings()
    engine = make_engine(settings.database.url)
    thresholds = fhir_export.Thresholds.from_values(settings.clinical_rules().thresholds)
    with make_session_factory(engine)() as session:
        ward_ids = None
        if ward:
            try:
                ward_ids = [ward_by_code(session, code=ward).id]
            except UnknownWard:
                from sqlalchemy import select

                from records.schema import Ward

                codes = ", ".join(session.scalars(select(Ward.code).order_by(Ward.code)))
                typer.echo(f"unknown ward {ward!r}; use one of {codes or '(no wards yet)'}", err=True)
                raise typer.Exit(2) from None
        call_ids = fhir_export.exportable_call_ids(session, ward_ids=ward_ids, since=since_at)
        written = 0
        columns = (TextColumn("exporting calls"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with out.open("w", encoding="utf-8") as handle, Progress(*columns, transient=False) as progress:
            task = progress.add_task("export", total=len(call_ids))
            for exported in fhir_export.iter_export(session, call_ids=call_ids, thresholds=thresholds):
                for resource in exported.resources:
                    handle.write(json.dumps(resource, ensure_ascii=False) + "\n")
                written += len(exported.resources)
                record_audit(session, actor=SYSTEM_ACTOR, action="export", resource="outcome",
                             resource_id=exported.call_id, patient_id=exported.patient_id, detail="fhir ndjson")
                progress.advance(task)
        session.commit()
    engine.dispose()
    typer.echo(f"{written} resources from {len(call_ids)} calls written to {out}")


def main() -> None:  # pragma: no cover - console entry
    app(prog_name="suifang")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
