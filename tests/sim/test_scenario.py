"""Loading scenarios from TOML, JSON, options and the packaged demo; refusing bad ones."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from calea.sim.build import build
from calea.sim.scenario import Call, IpSession, Reconnect, Sms, WebVisits, Idle, ScenarioError, \
    load_demo_scenario, load_scenario, quick_scenario, scenario_from_dict

from .conftest import START

DEMO_DICT = {
    "name": "t", "start": "2026-01-05T09:00:00Z", "seed": 4,
    "carrier": {"operator_id": "OPX", "keepalive_interval": 2.0},
    "targets": [{"liid": "L-1", "sip_uri": "sip:+12125550100@example.net", "cell": {"lac": 7}},
                {"liid": "L-2", "ip": "198.51.100.9"}],
    "events": [{"type": "sms", "liid": "L-1", "at": 3.0, "text": "hi"},
               {"type": "call", "liid": "L-1", "at": 1.0, "outcome": "busy", "direction": "out"},
               {"type": "ip_session", "liid": "L-2", "at": 2.0},
               {"type": "reconnect", "at": 2.5, "channel": "both", "resend": 2}],
}


def test_demo_scenario() -> None:
    demo = load_demo_scenario()
    assert demo.start is None and [t.liid for t in demo.targets] == ["DEMO-VOIP-0001", "DEMO-IP-0001", "DEMO-WEB-0001"]
    voip = demo.target("DEMO-VOIP-0001")
    assert voip.sip_uri == "sip:+12125550100@example.net" and voip.number == "12125550100"
    calls = [e for e in demo.events if isinstance(e, Call)]
    assert [(c.direction, c.outcome) for c in calls] == [("in", "answered"), ("out", "no-answer")]
    assert calls[0].duration == 8.0
    assert sum(isinstance(e, Sms) for e in demo.events) == 1
    web = next(e for e in demo.events if isinstance(e, WebVisits))
    assert len(set(web.clients)) == 3 and demo.target(web.liid).ip == "203.0.113.80"
    assert demo.target("DEMO-IP-0001").ip == "198.51.100.77"
    assert any(isinstance(e, IpSession) for e in demo.events) and any(isinstance(e, Idle) for e in demo.events)


def test_toml_and_json_load_alike(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(DEMO_DICT))
    toml = """name = "t"\nstart = 2026-01-05T09:00:00Z\nseed = 4\n[carrier]\noperator_id = "OPX"\nkeepalive_interval = 2.0
[[targets]]\nliid = "L-1"\nsip_uri = "sip:+12125550100@example.net"\ncell = { lac = 7 }
[[targets]]\nliid = "L-2"\nip = "198.51.100.9"
[[events]]\ntype = "sms"\nliid = "L-1"\nat = 3.0\ntext = "hi"
[[events]]\ntype = "call"\nliid = "L-1"\nat = 1.0\noutcome = "busy"\ndirection = "out"
[[events]]\ntype = "ip_session"\nliid = "L-2"\nat = 2.0
[[events]]\ntype = "reconnect"\nat = 2.5\nchannel = "both"\nresend = 2\n"""
    (tmp_path / "s.toml").write_text(toml)
    a, b = load_scenario(tmp_path / "s.json"), load_scenario(tmp_path / "s.toml")
    assert a == b
    assert a.start == START and a.carrier.operator_id == "OPX" and a.targets[0].cell.lac == 7
    assert [type(e) for e in a.events] == [Call, IpSession, Reconnect, Sms]  # sorted by time
    assert a.length == pytest.approx(14.0)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["events"].append({"type": "call", "liid": "NOPE", "at": 1}), "unknown LIID"),
    (lambda d: d["events"].append({"type": "call", "liid": "L-1", "at": 1, "outcome": "maybe"}), "outcome"),
    (lambda d: d["events"].append({"type": "fax", "at": 1}), "type one of"),
    (lambda d: d["events"].append({"type": "sms", "liid": "L-1", "at": -1}), ">= 0"),
    (lambda d: d["events"].append({"type": "sms", "liid": "L-1", "at": 1, "colour": "red"}), "unknown keys"),
    (lambda d: d["events"].append({"type": "ip_session", "liid": "L-1", "at": 1}), "needs an ip target"),
    (lambda d: d["events"].append({"type": "call", "liid": "L-1", "at": 1, "peer": "12345"}), "E.164"),
    (lambda d: d["events"].append({"type": "call", "liid": "L-1", "at": 1, "dtmf_after": "x"}), "DTMF"),
    (lambda d: d.update(start="2026-01-05T09:00:00"), "time zone"),
    (lambda d: d["targets"].append({"liid": "L-1"}), "share a LIID"),
    (lambda d: d["targets"].append({"liid": "L-3", "ip": "300.1.1.1"}), "IPv4"),
])
def test_bad_scenarios_are_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(DEMO_DICT))
    change(data)
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(data)


def test_bad_files(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("name = ")
    with pytest.raises(ScenarioError):
        load_scenario(tmp_path / "bad.toml")
    with pytest.raises(ScenarioError):
        load_scenario(tmp_path / "missing.json")


def test_quick_scenario_from_options() -> None:
    s = quick_scenario(liid="Q-1", sip_uri="sip:+12125550100@example.net", calls=5, sms=2, duration=2.0,
                       start=START)
    calls = [e for e in s.events if isinstance(e, Call)]
    assert [c.outcome for c in calls] == ["answered", "busy", "no-answer", "cancelled", "answered"]
    assert [c.direction for c in calls] == ["in", "out", "in", "out", "in"]
    assert s.targets[0].e164 == "+12125550100" and sum(isinstance(e, Sms) for e in s.events) == 2
    ip = quick_scenario(liid="Q-2", ip="198.51.100.9", ip_sessions=2, web_visitors=3, start=START)
    assert build(ip, "etsi-102232").counts()["cc"] > 50


def test_shifted_repetitions() -> None:
    s = scenario_from_dict(DEMO_DICT)
    assert s.shifted(0) is s
    later = s.shifted(2)
    assert later.start == START + timedelta(seconds=2 * (s.length + 10.0)) and later.seed == s.seed + 2
    with pytest.raises(ScenarioError, match="pass an aware"):
        build(load_demo_scenario(), "etsi-102232")
    with pytest.raises(ScenarioError, match="format"):
        build(s, "h323")
