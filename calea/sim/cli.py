"""`calea sim`: run the carrier simulator against an intake, or write its byte streams.

    calea sim --host 127.0.0.1 --hi2-port 6001 --hi3-port 6002 --format etsi-102232
    calea sim --scenario my.toml --realtime
    calea sim --liid LI-7 --target-sip sip:+12125550100@example.net --calls 3 --sms 2
    calea sim --format pcesp --write-streams out/
    calea sim --format 3gpp-mms        # the demo's MMS (HI2 IRI + HI3 CC-PDU with a picture)
    calea sim --liid LI-7 --target-e164 +12125550100 --mms 2 --format 3gpp-mms

Without `--scenario` or `--liid` the packaged demo scenario is used.  `calea/cli.py`
hooks this in with `register(app)`.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from calea.sim.build import ENVELOPES, FORMATS, build
from calea.sim.carrier import DeliveryError, deliver
from calea.sim.scenario import Reconnect, Scenario, ScenarioError, load_demo_scenario, load_scenario, quick_scenario
from calea.sim.streams import write_streams


def register(app: typer.Typer) -> None:
    """Add the `sim` command to the `calea` application."""
    app.command("sim")(sim)


def _scenario(path: Optional[Path], liid: Optional[str], sip_uri: Optional[str], e164: Optional[str],
              ip: Optional[str], calls: int, sms: int, mms: int, ip_sessions: int, web_visitors: int, duration: float,
              start: Optional[str], seed: Optional[int], keepalive: Optional[float]) -> Scenario:
    when = None
    if start:
        when = datetime.fromisoformat(start.replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise ScenarioError("--start needs a time zone, e.g. 2026-01-05T09:00:00Z")
    if path is not None:
        scenario = load_scenario(path)
    elif liid is not None:
        if not (sip_uri or e164 or ip):
            raise ScenarioError("--liid needs --target-sip, --target-e164 or --target-ip")
        scenario = quick_scenario(liid=liid, sip_uri=sip_uri, e164=e164, ip=ip, calls=calls, sms=sms, mms=mms,
                                  ip_sessions=ip_sessions, web_visitors=web_visitors, duration=duration, seed=seed or 1)
    else:
        scenario = load_demo_scenario()
    if when is not None:
        scenario = replace(scenario, start=when)
    if seed is not None:
        scenario = replace(scenario, seed=seed)
    if keepalive is not None:
        scenario = replace(scenario, carrier=replace(scenario.carrier, keepalive_interval=keepalive))
    return scenario


def _tls(enabled: bool, ca: Optional[Path], cert: Optional[Path], key: Optional[Path]) -> ssl.SSLContext | None:
    if not enabled:
        return None
    ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    if ca is None:  # the intake's self-signed certificate: encrypt, but do not authenticate it
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key) if key else None)
    return ctx


def sim(
    host: str = typer.Option("127.0.0.1", help="the intake's address (the only host the simulator connects to)"),
    hi2_port: int = typer.Option(6001, "--hi2-port", help="intake port for HI2 (IRI / CDC), TCP"),
    hi3_port: int = typer.Option(6002, "--hi3-port", help="intake port for HI3 (CC): TCP, or UDP for pcesp CCC"),
    fmt: str = typer.Option("etsi-102232", "--format", help=f"handover format: {', '.join(FORMATS)}"),
    scenario_file: Optional[Path] = typer.Option(None, "--scenario", help="scenario file (.toml or .json)"),
    liid: Optional[str] = typer.Option(None, help="one target's LIID (instead of a scenario file)"),
    target_sip: Optional[str] = typer.Option(None, "--target-sip", help="the target's SIP URI"),
    target_e164: Optional[str] = typer.Option(None, "--target-e164", help="the target's number, +<digits>"),
    target_ip: Optional[str] = typer.Option(None, "--target-ip", help="the target's IPv4 address"),
    calls: int = typer.Option(0, help="calls (alternating in/out; answered, busy, no-answer, cancelled)"),
    sms: int = typer.Option(0, help="SMS / SIP MESSAGEs"),
    mms: int = typer.Option(0, help="MMS with a generated picture (alternating to / from the target; 3gpp-mms)"),
    ip_sessions: int = typer.Option(0, "--ip-sessions", help="IP sessions (DNS, HTTP, TLS) of an IP target"),
    web_visitors: int = typer.Option(0, "--web-visitors", help="clients visiting the target web server"),
    duration: float = typer.Option(8.0, help="seconds of conversation of an answered call"),
    start: Optional[str] = typer.Option(None, help="scenario start, ISO 8601 with zone (default: now)"),
    seed: Optional[int] = typer.Option(None, help="seed for CINs, addresses, audio (default: the scenario's)"),
    keepalive_interval: Optional[float] = typer.Option(None, "--keepalive-interval",
                                                       help="seconds of silence before a keep-alive"),
    reconnect_at: Optional[float] = typer.Option(None, "--reconnect-at",
                                                 help="drop and re-establish a connection at this offset (s)"),
    reconnect_channel: str = typer.Option("hi2", "--reconnect-channel", help="hi2, hi3 or both"),
    resend: int = typer.Option(3, help="records resent after --reconnect-at"),
    realtime: bool = typer.Option(False, help="follow the timeline (sleep between records)"),
    speed: float = typer.Option(1.0, help="with --realtime: timeline speed-up factor"),
    loop: int = typer.Option(1, min=1, max=10000, help="deliver the scenario N times (new CINs each time)"),
    write_streams_dir: Optional[Path] = typer.Option(None, "--write-streams",
                                                     help="write the byte streams to DIR instead of connecting"),
    envelope: str = typer.Option("rose", "--ts101671-envelope", help=f"ts101671-hi2 records: {', '.join(ENVELOPES)}"),
    tls: bool = typer.Option(False, help="connect with TLS"),
    tls_ca: Optional[Path] = typer.Option(None, "--tls-ca", help="CA / server certificate to verify the intake"),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="client certificate (PEM)"),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="client key (PEM)"),
    tls_server_name: Optional[str] = typer.Option(None, "--tls-server-name", help="name to verify (default: host)"),
    as_json: bool = typer.Option(False, "--json", help="print the reports as JSON lines"),
) -> None:
    """Deliver simulated carrier traffic (calls, SMS, MMS, IP sessions) to the intake."""
    try:
        scenario = _scenario(scenario_file, liid, target_sip, target_e164, target_ip, calls, sms, mms, ip_sessions,
                             web_visitors, duration, start, seed, keepalive_interval)
        if reconnect_at is not None:
            event = Reconnect(reconnect_at, reconnect_channel, resend)
            scenario = replace(scenario, events=tuple(sorted((*scenario.events, event), key=lambda e: e.at)))
        context = _tls(tls, tls_ca, tls_cert, tls_key)
    except (ScenarioError, ValueError, OSError, ssl.SSLError) as exc:
        typer.echo(f"calea sim: {exc}", err=True)
        raise typer.Exit(2) from None
    failed = False
    for index in range(loop):
        run = scenario.shifted(index)
        try:
            plan = build(run, fmt, now=datetime.now(timezone.utc), envelope=envelope)
        except ScenarioError as exc:
            typer.echo(f"calea sim: {exc}", err=True)
            raise typer.Exit(2) from None
        if write_streams_dir is not None:
            target = write_streams_dir if loop == 1 else write_streams_dir / f"run-{index + 1}"
            files = write_streams(plan, target, hi3_port=hi3_port)
            counts = dict(plan.counts())
            if as_json:
                typer.echo(json.dumps({"run": index + 1, "files": [str(f) for f in files.files],
                                       "records": counts, "skipped": dict(plan.skipped)}))
            else:
                typer.echo(f"run {index + 1}: wrote {files.records} records to "
                           f"{', '.join(str(f) for f in files.files)} (manifest {files.manifest})")
            continue
        try:
            report = asyncio.run(deliver(plan, host=host, hi2_port=hi2_port, hi3_port=hi3_port, fmt=fmt, tls=context,
                                         realtime=realtime, speed=speed, server_hostname=tls_server_name))
        except DeliveryError as exc:
            typer.echo(f"calea sim: {exc}", err=True)
            typer.echo(exc.report.summary(), err=True)
            raise typer.Exit(1) from None
        failed = failed or not report.ok
        if as_json:
            typer.echo(json.dumps({"run": index + 1, **asdict(report)}))
        else:
            typer.echo(f"run {index + 1}: {report.summary()}")
    if failed:
        raise typer.Exit(1)


__all__ = ["register", "sim"]
