"""The `calea` command line."""

from __future__ import annotations

import json
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path

import typer
from sqlalchemy import select

from calea import __version__
from calea.config import Settings

app = typer.Typer(help="calea: lawful-intercept collection system.", no_args_is_help=True, add_completion=False)
audit_app = typer.Typer(help="The tamper-evident audit log (rule C5).", no_args_is_help=True)
user_app = typer.Typer(help="Users (rules C1, C3).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")


def _services():  # type: ignore[no-untyped-def]
    from calea.bootstrap import build_services

    return build_services(Settings.from_env())


@contextmanager
def _opened():  # type: ignore[no-untyped-def]
    """Services for one command, with the database connections closed afterwards."""
    svc = _services()
    try:
        yield svc
    finally:
        svc.db.dispose()


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def init() -> None:
    """Create $CALEA_HOME and bring the database schema to the newest migration."""
    with _opened() as svc:
        typer.echo(f"calea {__version__}: home {svc.settings.home}, database {svc.db.engine.url.render_as_string(hide_password=True)}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    demo: bool = typer.Option(False, help="create the demo TARU account, a demo case and run the carrier simulator"),
    intake: bool = typer.Option(True, help="run the carrier intake (listeners on each carrier's ports)"),
    intake_host: str = typer.Option("127.0.0.1", help="address the carrier listeners bind to"),
    tls: bool = typer.Option(False, help="carrier connections over TLS (server certificate in $CALEA_HOME/tls)"),
) -> None:
    """Serve the web console and the JSON API, run the carrier intake and the deadline scheduler."""
    import asyncio

    import uvicorn

    from calea.services.scheduler import Scheduler
    from calea.web.app import create_app

    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    svc = _services()
    if demo:
        _demo_account(svc)
    scheduler = Scheduler(svc, svc.settings.scheduler_interval)
    scheduler.start()
    web = create_app(svc)

    async def main() -> None:
        manager = None
        recorder = None
        if intake:
            from calea.intake.manager import IntakeManager

            manager = IntakeManager(svc, host=intake_host, tls_dir=svc.settings.home / "tls" if tls else None)
            await manager.start()
            web.state.intake = manager
            from calea.handover.native import speedups
            from calea.intake.pipeline import tune_gc

            tune_gc()
            from calea.store.merkle import hashing

            typer.echo("intake: C record reader, splitter and SIP decoder" if speedups is not None
                       else "intake: pure-Python codecs (calea.handover._speedups not built, or CALEA_PURE_PYTHON set)")
            typer.echo("store: Merkle hashing in batches (OpenSSL)" if hashing._native is not None
                       else "store: Merkle hashing by hashlib (calea.store.merkle._sha not built, or CALEA_PURE_PYTHON set)")
            from calea.sessions.calls_store import subscribe as subscribe_calls
            from calea.web.api.live import install as install_live

            subscribe_calls(manager.intake, background=True)  # calls kept current from the IRI
            live_service = install_live(web, manager.intake)  # live monitoring fan-out
            from calea.sessions.recording_store import Recorder

            recorder = Recorder(svc, manager.intake.writer, minimization=live_service.book)  # stereo recordings
            manager.intake.subscribers.append(recorder.on_items)
            recorder.start()
        sim_task = None
        if demo:
            from calea.demo import run_demo_traffic

            sim_task = asyncio.create_task(run_demo_traffic(svc))
        typer.echo(f"calea serving on http://{host}:{port}/  (API: /api/v1, OpenAPI: /api/v1/openapi.json)")
        server = uvicorn.Server(uvicorn.Config(web, host=host, port=port, log_level="info", proxy_headers=False))
        from calea.web import accesslog

        accesslog.install()  # after uvicorn's logging setup: no purposes or search terms in the access log
        try:
            await server.serve()
        finally:
            if sim_task is not None:
                sim_task.cancel()
            if manager is not None:
                if recorder is not None:
                    recorder.stop()
                await manager.stop()

    try:
        asyncio.run(main())
    finally:
        scheduler.stop()


def _demo_account(svc) -> None:  # type: ignore[no-untyped-def]
    from calea.db.schema import users as users_t
    from calea.services import users

    creds = svc.settings.home / "demo-credentials.json"
    with svc.db.read() as conn:
        exists = conn.execute(select(users_t.c.id).where(users_t.c.username == "taru.demo")).first()
    if exists and creds.exists():
        data = json.loads(creds.read_text())
    else:
        password = "Demo-" + secrets.token_urlsafe(9) + "7a"
        if exists:
            from sqlalchemy import update

            from calea.services.passwords import hash_password

            with svc.db.write() as conn:
                conn.execute(update(users_t).where(users_t.c.username == "taru.demo").values(password_hash=hash_password(password)))
        else:
            users.create_user(svc, None, username="taru.demo", password=password, role="taru", unit="Technical Assistance Response Unit", display_name="Demo TARU operator")
        data = {"username": "taru.demo", "password": password}
        creds.write_text(json.dumps(data))
        creds.chmod(0o600)
    typer.echo("=" * 64)
    typer.echo(f"  demo TARU account   username: {data['username']}   password: {data['password']}")
    from calea.demo import DEMO_PASSWORD

    typer.echo(f"  also (demo only): sgt.rivera (supervisor), det.chen (investigator)   password: {DEMO_PASSWORD}")
    typer.echo("=" * 64)


@user_app.command("create")
def user_create(username: str, role: str, unit: str, password: str = typer.Option(..., prompt=True, hide_input=True)) -> None:
    """Create a user (the first taru account is made this way)."""
    from calea.services import users

    with _opened() as svc:
        user = users.create_user(svc, None, username=username, password=password, role=role, unit=unit)
    typer.echo(json.dumps(user, default=str))


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit hash chain; exit 1 naming every row that does not match."""
    from calea.audit import log as audit_log

    with _opened() as svc:
        count, problems = audit_log.verify(svc.db)
    if problems:
        for p in problems:
            typer.echo(f"FAIL {p}", err=True)
        typer.echo(f"audit log: {count} rows, {len(problems)} problem(s)")
        raise typer.Exit(1)
    typer.echo(f"audit log: {count} rows, chain intact")


@app.command()
def verify() -> None:
    """Recompute every stored record, index row and content file against the signed Merkle
    logs (rule D1); exit 1 naming what does not match."""
    from calea.store.verify import verify_store

    with _opened() as svc:
        report = verify_store(svc)
    for problem in report.problems:
        typer.echo(f"FAIL {problem}", err=True)
    total = sum(report.leaves.values())
    if report.problems:
        typer.echo(f"store: {len(report.leaves)} case log(s), {total} leaves, {report.checkpoints} signed tree heads: "
                   f"{len(report.problems)} problem(s)")
        raise typer.Exit(1)
    typer.echo(f"store verified: {len(report.leaves)} case log(s), {total} leaves, {report.checkpoints} signed tree heads")


@app.command()
def openapi(out: Path = typer.Option(None, help="write to this file instead of stdout")) -> None:
    """Print the OpenAPI document of the JSON API."""
    from calea.web.app import create_app

    with _opened() as svc:
        doc = json.dumps(create_app(svc).openapi(), indent=2)
    if out:
        out.write_text(doc)
    else:
        sys.stdout.write(doc)


from calea.sim.cli import register as _register_sim  # noqa: E402

_register_sim(app)

if __name__ == "__main__":
    app()
