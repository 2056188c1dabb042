"""The C version of the SIP IRI parser (`parse_sip` / `parse_sdp` in calea/handover/_speedups.c)
answers exactly what the Python reference (`_parse_sip_py` / `_parse_sdp_py`) answers --
same dicts, same key order, same value types, the same content parts -- or None (not the
usual message: the reference decides).  Compared on every SIP message the simulator builds,
the SIP literals of the test suite, the SIP inside the OpenLI vectors, and generated, folded,
re-terminated and mutated messages; the usual ones must really take the fast path.  The
reference itself is still held to the plain parser of test_etsi102232_sip_reference.py."""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.leaks import assert_no_leak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.handover import etsi102232 as etsi
from calea.handover import etsi102232_payloads as payloads
from calea.handover import etsi102232_sip as sip_mod
from calea.handover import native
from calea.handover.model import ContentKind, ContentPart, RecordKind
from calea.sim import voip
from calea.sim.scenario import Call, Sms, load_demo_scenario, load_scenario

from .conftest import OPENLI_VECTORS, REPO_ROOT, split_stream
from .test_etsi102232_sip_reference import ref_parse_sdp, ref_parse_sip, sip_messages

speedups = native.speedups
needs_native = pytest.mark.skipif(speedups is None or not hasattr(speedups, "parse_sip"),
                                  reason="calea.handover._speedups not built (CALEA_PURE_PYTHON set?)")


def _identical(got: Any, want: Any, path: str = "") -> None:
    """Equal, with the same types all the way down and the same dict key order."""
    assert type(got) is type(want), (path, got, want)
    if isinstance(got, dict):
        assert list(got) == list(want), (path, list(got), list(want))
        for key in got:
            _identical(got[key], want[key], f"{path}.{key}")
    elif isinstance(got, (list, tuple)):
        assert len(got) == len(want), (path, got, want)
        for i, (a, b) in enumerate(zip(got, want)):
            _identical(a, b, f"{path}[{i}]")
    elif isinstance(got, ContentPart):
        assert got == want and got.kind is want.kind and type(got.data) is bytes, (path, got, want)
    else:
        assert got == want, (path, got, want)


def _check(data: bytes, *, usual: bool = False) -> bool:
    """C against Python on one message (and on it as an SDP body); True when C answered."""
    assert speedups is not None
    fast = speedups.parse_sip(data)
    if fast is None:
        assert not usual, f"the usual message left the fast path: {data!r}"
    else:
        _identical(fast, sip_mod._parse_sip_py(data))
    assert sip_mod.parse_sip(data) == sip_mod._parse_sip_py(data)
    fast_sdp = speedups.parse_sdp(data)
    if fast_sdp is not None:
        _identical(fast_sdp, sip_mod._parse_sdp_py(data))
    return fast is not None


def test_native_parse_sip_is_built() -> None:
    if os.environ.get("CALEA_PURE_PYTHON"):
        pytest.skip("CALEA_PURE_PYTHON=1: the Python versions are asked for")
    assert speedups is not None and hasattr(speedups, "parse_sip")
    assert sip_mod.parse_sip is not sip_mod._parse_sip_py  # the dispatcher


def test_pure_python_parses_with_the_reference() -> None:
    code = ("from calea.handover import etsi102232_sip as m; "
            "assert m.parse_sip is m._parse_sip_py and m.parse_sdp is m._parse_sdp_py")
    env = {**os.environ, "CALEA_PURE_PYTHON": "1"}
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, check=True)


# --- the tables: one source of truth -----------------------------------------------------


def test_header_table_is_the_python_classification() -> None:
    """The table given to C is derived from _KEPT / _COMPACT: kept name of every name as
    written (lower case), exactly what _name_info finds."""
    names = set(sip_mod._KEPT) | set(sip_mod._COMPACT) | {"content-encoding", "x-custom", "subject"}
    for name in names:
        kept = sip_mod._KEPT.get(sip_mod._COMPACT.get(name, name))
        assert sip_mod._HEADER_CLASSES.get(name) == kept
        info = sip_mod._name_info(name.upper())
        assert info is not None and info[1] == kept


@needs_native
@pytest.mark.parametrize("name", sorted(set(sip_mod._KEPT) | set(sip_mod._COMPACT) | {"X-Other", "E", "Subject"}))
def test_every_header_name_in_every_case(name: str) -> None:
    for written in (name, name.upper(), name.title(), name.swapcase(), name + " ", name + "\t "):
        data = (f"OPTIONS sip:a@b SIP/2.0\r\n{written}: <sip:x@y>;tag=1 , sip:z@w\r\n"
                f"{written}:second\r\n\r\n").encode()
        assert _check(data, usual=True)


@needs_native
@pytest.mark.parametrize("line", [f"a={name}:x y" for name in sorted(sip_mod._SDP_PLAIN)]
                         + [f"a={name}" for name in sorted(sip_mod._SDP_DIRECTIONS)]
                         + ["a=rtpmap:0 PCMU/8000", "a=fmtp:101 0-15", "a=PTIME:20", "a=SendOnly", "a=crypto:1 x"])
def test_every_sdp_attribute(line: str) -> None:
    for sdp in (f"v=0\r\n{line}\r\nm=audio 1 RTP/AVP 0\r\n{line}\r\n", f"{line}\n"):
        body = sdp.encode()
        assert speedups is not None
        _identical(speedups.parse_sdp(body), sip_mod._parse_sdp_py(body))
        data = b"INVITE sip:a@b SIP/2.0\r\nContent-Type: application/sdp\r\n\r\n" + body
        assert _check(data, usual=True)


@needs_native
def test_configure_sip_checks_its_tables() -> None:
    assert speedups is not None

    def configure(names: dict[str, str]) -> None:
        speedups.configure_sip(names, tuple(sip_mod._SDP_PLAIN), tuple(sip_mod._SDP_DIRECTIONS),
                               frozenset(sip_mod._DIGIT_TYPES), ContentPart, ContentKind.POST_CUT_THROUGH_DIGITS,
                               ContentKind.MESSAGE_BODY, sip_mod._MAX_HEADERS)

    try:
        for bad in ({"Via": "Via"}, {"v\u00eda": "Via"}, {"x" * 80: "X"}, {"via": 1}):
            with pytest.raises((ValueError, TypeError)):
                configure(bad)  # type: ignore[arg-type]
            with pytest.raises(RuntimeError):
                speedups.parse_sip(b"INVITE sip:a@b SIP/2.0\r\n\r\n")
    finally:
        configure(sip_mod._HEADER_CLASSES)
    assert _check(b"INVITE sip:a@b SIP/2.0\r\nv: x\r\n\r\n", usual=True)


# --- (a) every SIP message of the simulator and of the tests ------------------------------


@functools.cache
def _sim_messages() -> list[bytes]:
    out: list[bytes] = []
    scenarios = [load_demo_scenario(), load_scenario(REPO_ROOT / "calea" / "sim" / "scenarios" / "calls.toml")]
    for scenario in scenarios:
        for index, event in enumerate(scenario.events):
            target = scenario.target(event.liid) if isinstance(event, (Call, Sms)) else None
            if isinstance(event, Call):
                assert target is not None
                variants = [event] + [Call(event.liid, event.at, direction, event.peer, outcome, dtmf_before="1",
                                           dtmf_after="2", hangup="peer" if outcome == "answered" else "target")
                                      for direction in ("in", "out")
                                      for outcome in ("answered", "busy", "no-answer", "cancelled")]
                for call in variants:
                    facts = voip.call_facts(call, target, scenario.carrier, index, scenario.seed)
                    out += [s.data for s in facts.signals]
            elif isinstance(event, Sms):
                assert target is not None
                for text in (event.text, "h\u00e9llo \u2603", ""):
                    sms = Sms(event.liid, event.at, event.direction, event.peer, text)
                    out += [s.data for s in voip.sms_facts(sms, target, scenario.carrier, index, scenario.seed)]
    return out


def _literals() -> list[bytes]:
    """Every bytes / str constant holding "SIP/2.0" in the tests and the benchmark."""
    out: list[bytes] = []
    files = sorted((REPO_ROOT / "tests").rglob("*.py")) + [REPO_ROOT / "bench" / "intake.py"]
    for path in files:
        try:
            tree = ast.parse(path.read_text("utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, (bytes, str)):
                value = node.value if isinstance(node.value, bytes) else node.value.encode("utf-8", "surrogatepass")
                if b"SIP/2.0" in value:
                    out.append(value)
    return out


def _assembled() -> list[bytes]:
    """The messages tests/sessions/test_calls_assemble.py builds (its `dialog` / `sip`)."""
    from tests.sessions.test_calls_assemble import dialog

    texts = [dialog("INVITE sip:+12125550100@198.51.100.20 SIP/2.0",
                    "Diversion: <sip:+13105550123@example.net>;reason=unconditional"),
             dialog("SIP/2.0 200 OK", to_tag=";tag=b2"),
             dialog("SIP/2.0 302 Moved Temporarily", "Contact: <sip:+17185550142@example.net>", to_tag=";tag=b2"),
             dialog("REFER sip:+13105550123@203.0.113.10 SIP/2.0", "Refer-To: <sip:+17185550142@example.net>",
                    to_tag=";tag=b2", cseq="3 REFER"),
             "MESSAGE sip:+12125550100@x SIP/2.0\nFrom: <sip:+1@x>;tag=1\nTo: <sip:+2@x>\nCall-ID: m\nCSeq: 1 MESSAGE"]
    return [t.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" for t in texts]


@needs_native
def test_simulator_messages_take_the_fast_path() -> None:
    messages = _sim_messages()
    assert len(messages) > 100
    for data in messages:
        _check(data, usual=True)
        _check(data.replace(b"\r\n", b"\n"), usual=True)


@needs_native
def test_test_suite_messages() -> None:
    literals = _literals()
    assert len(literals) > 20
    for data in literals + _assembled():
        _check(data)
        _check(data.replace(b"\r\n", b"\n"))
        _check(data + b"\r\n\r\n")
    for data in _assembled():
        _check(data, usual=True)
    bench = [d for d in literals if d.startswith(b"INVITE sip:+12125550100@example.net SIP/2.0\r\nVia")]
    assert bench and all(_check(d, usual=True) for d in bench)


def _openli_sip(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The SIP the intake's decoder hands to parse_sip, for every IRI record of the vectors."""
    path = OPENLI_VECTORS / "hi2-NYPD.ber"
    if not path.exists():
        pytest.skip("OpenLI vectors not found")
    seen: list[bytes] = []
    real = payloads.parse_sip

    def recording(data: bytes) -> Any:
        seen.append(bytes(data))
        return real(data)

    monkeypatch.setattr(payloads, "parse_sip", recording)
    for _, record in split_stream(path.read_bytes()):
        if etsi.read_header(record).kind is RecordKind.IRI:
            etsi.decode(record)
    monkeypatch.undo()
    return seen


@needs_native
def test_openli_sip_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    messages = _openli_sip(monkeypatch)
    assert len(messages) > 5
    taken = sum(_check(data) for data in messages)
    assert taken == len(messages)  # OpenLI's SIP is the usual message
    for data in messages:
        for cut in range(0, len(data), 7):
            _check(data[:cut])
        _check(data.replace(b"\r\n", b"\n"), usual=True)


# --- (c) generated messages ----------------------------------------------------------------

_ALL_NAMES = sorted(set(sip_mod._KEPT) | set(sip_mod._COMPACT)) + ["subject", "x-custom", "authorization",
                                                                     "content-encoding", "p-charging-vector"]
_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~@", min_size=1,
                 max_size=12)
_PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
_VALUE_CHARS = st.text(alphabet=st.sampled_from(list(" \t;=,<>\":@tagTAG1xy/")), max_size=16)


@st.composite
def _case(draw: st.DrawFn, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if f else c for c, f in zip(name, flips))


@st.composite
def _addr(draw: st.DrawFn) -> str:
    uri = "sip:" + draw(_TOKEN) + "@" + draw(_TOKEN)
    display = draw(st.sampled_from(["", "Bob ", '"Alice A" ', '"" ', '""x"" ', " ", '"q" ']))
    form = draw(st.sampled_from(["<{u}>", "{u}", "<{u}", "< {u} >", "<{u};tag=in>"]))
    params = draw(st.lists(st.sampled_from([";tag=1928", "; TAG = a-b.c", ";tag=", ";tag=;tag=q", ";x=1",
                                            ";tag=a,b", ";tag\t=\tz", ";tag=x y", ",", ";tags=1", ";tag"]),
                           max_size=3))
    tail = draw(st.one_of(st.just(""), _VALUE_CHARS))
    return display + form.format(u=uri) + "".join(params) + tail


@st.composite
def _value(draw: st.DrawFn, name: str) -> str:
    kept = sip_mod._KEPT.get(sip_mod._COMPACT.get(name, name))
    pad = draw(st.sampled_from(["", " ", "  ", "\t", " \t "]))
    if kept in ("From", "To", "Contact", "P-Asserted-Identity", "Route", "Record-Route"):
        value = ", ".join(draw(st.lists(_addr(), min_size=1, max_size=3)))
        value = draw(st.one_of(st.just(value), st.just(""), st.just("*"), st.just(" , "), _VALUE_CHARS))
    elif kept == "CSeq":
        value = draw(st.sampled_from(["1 INVITE", "314159 INVITE", "7  BYE ", "x", "", "1", "1\tACK",
                                      "0000000000000000001 X", "99 "]))
    elif kept == "Content-Length":
        value = draw(st.one_of(st.integers(0, 400).map(str), st.sampled_from(["", "x", "9" * 19, "-1"])))
    elif kept == "Content-Type":
        value = draw(st.sampled_from(["application/sdp", "APPLICATION/SDP ; x=1", "text/plain;charset=UTF-8",
                                      "application/dtmf-relay", "Audio/Telephone-Event", "", "multipart/mixed",
                                      " application/sdp"]))
    else:
        value = draw(_PRINTABLE)
    return pad + value + draw(st.sampled_from(["", " ", "\t"]))


_SDP_LINES = ["v=0", "s=-", "t=0 0", "o=- 1 1 IN IP4 192.0.2.1", "o=a b", "o=- 1 1 IN IP4 1.2.3.4 x",
               "c=IN IP4 203.0.113.50", "c=IN IP6 2001:db8::1/64", "c=IN", "m=audio 50000 RTP/AVP 0 8 101",
               "m=video 5000/2 RTP/AVP", "m=audio x RTP/AVP 0", "m=a b", "m=\taudio  1\t RTP/AVP  0 ",
               "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=rtpmap:8", "a=rtpmap:",
               "a=rtpmap:9  G722/8000 ", "a=fmtp:101 0-15", "a=ptime:20", "a=ptime: 30", "a=rtcp:5001",
               "a=label:1", "a=mid:audio", "a=mid", "a=sendrecv", "a=sendonly", "a=recvonly",
               "a=inactive", " a=sendonly", "a= sendonly ", "a=SENDONLY", "", "x", "a", "a=", "m=",
               "a=rtcp:1:2", "a=label:"]


@needs_native
@pytest.mark.parametrize("line", _SDP_LINES)
def test_every_sdp_line(line: str) -> None:
    for sdp in (f"{line}\r\nm=audio 1 RTP/AVP 0\r\n{line}\r\n{line}", f"{line}\n{line}\r"):
        body = sdp.encode()
        assert speedups is not None
        _identical(speedups.parse_sdp(body), sip_mod._parse_sdp_py(body))
        assert _check(b"INVITE sip:a@b SIP/2.0\r\nc: application/sdp\r\n\r\n" + body, usual=True)


@st.composite
def _sdp(draw: st.DrawFn, eol: str) -> str:
    lines = draw(st.lists(st.one_of(
        st.sampled_from(_SDP_LINES),
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from("vomcasbtkz"), _PRINTABLE)), max_size=14))
    return "".join(line + eol for line in lines)


@st.composite
def usual_messages(draw: st.DrawFn) -> tuple[bytes, str]:
    """A message of the usual shape (printable ASCII head, one line end, no folding), and its
    line end."""
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    if draw(st.booleans()):
        start = f"{draw(_TOKEN)} sip:{draw(_TOKEN)}@{draw(_TOKEN)} SIP/2.0"
    else:
        start = draw(st.sampled_from(["SIP/2.0 200 OK", "SIP/2.0 180 Ringing", "SIP/2.0 x", "SIP/2.0 486",
                                      "SIP/2.0  Odd", "SIP/2.0 1234567890123456789 Big", "INVITE sip:a@b SIP/2.0 x",
                                      "INVITE sip:a@b", "garbage", ""]))
    headers = []
    for name in draw(st.lists(st.sampled_from(_ALL_NAMES), max_size=14)):
        written = draw(_case(name)) + draw(st.sampled_from(["", "", " ", "\t"]))
        headers.append(f"{written}:{draw(_value(name))}")
    headers += draw(st.lists(st.sampled_from(["X-Empty:", ":", ": nameless", "no colon here", "Via :a:b"]),
                             max_size=2))
    kind = draw(st.sampled_from(["none", "sdp", "text", "empty"]))
    if kind == "sdp":
        body = draw(_sdp(eol))
    elif kind == "text":
        body = eol.join(draw(st.lists(_PRINTABLE.filter(lambda s: s.strip() != ""), max_size=3)))
    else:
        body = ""
    head = start + "".join(eol + h for h in headers)
    text = head + eol + eol + body if kind != "none" else head + draw(st.sampled_from(["", eol]))
    return text.encode("ascii"), eol


_INVITE = (b"INVITE sip:+12125550100@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK776\r\n"
           b"From: \"A\" <sip:+13105550123@example.net>;tag=1928\r\nTo: <sip:+12125550100@example.net>\r\n"
           b"Call-ID: a84b4c76e66710@example.net\r\nCSeq: 314159 INVITE\r\nContact: <sip:+13105550123@203.0.113.10>\r\n"
           b"Content-Type: application/sdp\r\nContent-Length: 129\r\n\r\nv=0\r\no=- 1 1 IN IP4 203.0.113.50\r\ns=-\r\n"
           b"c=IN IP4 203.0.113.50\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n")


@needs_native
@pytest.mark.parametrize("old,new", [
    (b"tag=1928", b"tag= 1928"), (b"tag=1928", b"TaG\t=\t1928 ;x"), (b"tag=1928", b"tag=;tag=2"),
    (b"tag=1928", b"tag=,x;tag=3"), (b";tag=1928", b" ; tag = 1928"), (b";tag=1928", b";x=tag=1928"),
    (b"\"A\" <", b'""A B"" \t<'), (b"\"A\" <", b'" " <'), (b"CSeq: 314159 INVITE", b"CSeq: 314159\tINVITE"),
    (b"CSeq: 314159 INVITE", b"CSeq:   314159   INVITE  "), (b"CSeq: 314159 INVITE", b"CSeq: 123456789012345678 X"),
    (b"CSeq: 314159 INVITE", b"CSeq: 1234567890123456789 X"), (b"Content-Length: 129", b"Content-Length: 50"),
    (b"Content-Length: 129", b"Content-Length: 49"), (b"Content-Length: 129", b"l:\t0"),
    (b"Contact: <sip:+13105550123@203.0.113.10>", b"m: <a>,,<b> , c;x=1"), (b"Via:", b"Via :"),
])
def test_edge_cases_read_the_same(old: bytes, new: bytes) -> None:
    assert _INVITE.count(old) == 1
    data = _INVITE.replace(old, new)
    for variant in (data, data.replace(b"\r\n", b"\n")):
        _check(variant, usual=True)


@needs_native
@pytest.mark.parametrize("byte", sorted(set(range(0x20)) | {0x7F, 0x80, 0x85, 0xA0, 0xC3, 0xFF}))
def test_control_and_high_bytes(byte: int) -> None:
    """At every kind of place: in a value, at its end, in a name, the start line, the SDP."""
    for at in (b"tag=1928", b"1928\r\n", b"Call-ID:", b" SIP/2.0\r\nVia", b"a=ptime:20", b"PCMU/8000\r\n",
               b"audio 50000", b"129\r\n\r\n"):
        i = _INVITE.index(at) + len(at) // 2
        for data in (_INVITE[:i] + bytes([byte]) + _INVITE[i:], _INVITE[:i] + bytes([byte])):
            _check(data)
            _check(data.replace(b"\r\n", b"\n"))


@needs_native
def test_header_limit_and_long_start_line() -> None:
    for count in range(195, 206):
        for eol in (b"\r\n", b"\n"):
            lines = [b"X-%d: %d" % (i, i) for i in range(count)] + [b"Call-ID: late", b"From: <sip:x@y>"]
            data = eol.join([b"OPTIONS sip:a@b SIP/2.0", *lines]) + eol + eol
            _check(data, usual=count + 2 <= sip_mod._MAX_HEADERS)
            _check(eol.join([b"OPTIONS sip:a@b SIP/2.0", *lines[:count]]) + eol,
                   usual=count + 1 <= sip_mod._MAX_HEADERS)
    for length in (1000, 1023, 1024, 1025, 1100, 5000):
        start = b"INVITE sip:" + b"a" * (length - 19) + b" SIP/2.0"
        assert len(start) == length
        _check(start + b"\r\nCall-ID: x\r\n\r\n", usual=True)
        _check(start, usual=True)
    for count in (5000, 20000):  # long values and many tokens
        _check(b"INVITE sip:a@b SIP/2.0\r\nContact: " + b"<sip:x>," * count + b"\r\nc: application/sdp\r\n\r\n"
               b"m=audio 1 RTP/AVP" + b" 0" * count + b"\r\n", usual=True)


@needs_native
@given(usual_messages())
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_usual_messages_take_the_fast_path_and_read_the_same(message: tuple[bytes, str]) -> None:
    data, _ = message
    _check(data, usual=True)


@st.composite
def unusual_messages(draw: st.DrawFn) -> bytes:
    """A usual message, then folded, re-terminated, stretched or mutated."""
    data, eol = draw(usual_messages())
    lines = data.split(eol.encode())
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["fold", "eol", "insert", "set", "delete", "many", "tail"]))
        pos = draw(st.integers(0, max(len(lines) - 1, 0)))
        if op == "fold":
            lines.insert(pos, draw(st.sampled_from([b" folded", b"\tmore;tag=9", b"  : colon", b" "])))
        elif op == "eol":
            line = lines[pos]
            lines[pos] = line + draw(st.sampled_from([b"\r", b"\r\r", b"\n\r", b"\r\n", b"\x0b", b"\x1c", b"\x85"]))
        elif op == "many":
            lines[pos:pos] = [b"X-%d: %d" % (i, i) for i in range(draw(st.sampled_from([190, 199, 200, 201, 250])))]
        elif op == "tail":
            lines.append(draw(st.binary(max_size=20)))
        else:
            line = bytearray(lines[pos])
            at = draw(st.integers(0, len(line)))
            if op == "insert":
                line[at:at] = draw(st.binary(min_size=1, max_size=3))
            elif op == "set" and line:
                line[min(at, len(line) - 1)] = draw(st.sampled_from(
                    [0x00, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1F, 0x20, 0x3A, 0x3B, 0x7F, 0x80, 0x85, 0xA0, 0xC3,
                     0xFF]))
            else:
                del line[at : at + draw(st.integers(1, 4))]
            lines[pos] = bytes(line)
    return eol.encode().join(lines)


@needs_native
@given(unusual_messages())
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_unusual_messages_read_the_same_or_go_to_python(data: bytes) -> None:
    _check(data)


@needs_native
@given(sip_messages())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_reference_fragments_read_the_same(data: bytes) -> None:
    """The fragments of the reference tests (unicode, odd line ends, folding, stray CRs)."""
    _check(data)


@needs_native
@given(st.binary(max_size=400))
@settings(max_examples=800, deadline=None)
def test_any_bytes_never_raise(data: bytes) -> None:
    _check(data)
    _check(b"INVITE sip:a@b SIP/2.0\r\nContent-Type: application/sdp\r\n\r\n" + data)
    assert speedups is not None
    assert speedups.parse_sip(bytearray(data)) is None  # only exact bytes take the fast path
    assert speedups.parse_sdp(memoryview(data)) is None


@needs_native
@given(st.binary(max_size=60), st.binary(max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_bytes_around_a_usual_message(before: bytes, after: bytes) -> None:
    for data in _assembled()[:2]:
        _check(before + data + after)


# --- the Python reference is still the plain parser ---------------------------------------


@given(sip_messages())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_python_reference_equals_the_plain_parser(data: bytes) -> None:
    got, got_parts = sip_mod._parse_sip_py(data)
    want, want_parts = ref_parse_sip(data)
    _identical(got, want)
    assert got_parts == want_parts
    _identical(sip_mod._parse_sdp_py(data), ref_parse_sdp(data))


@given(usual_messages())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_python_reference_equals_the_plain_parser_on_usual_messages(message: tuple[bytes, str]) -> None:
    data, _ = message
    got, got_parts = sip_mod._parse_sip_py(data)
    want, want_parts = ref_parse_sip(data)
    _identical(got, want)
    assert got_parts == want_parts


# --- no leaks -------------------------------------------------------------------------------




@needs_native
def test_no_leaks() -> None:
    """200k calls on the usual INVITE, a MESSAGE (content part), digits, a 200 without body,
    a folded message (None) and a bad SDP (None): memory and the shared objects' reference
    counts stay put."""
    assert speedups is not None
    sim = _sim_messages()
    invite = next(m for m in sim if m.startswith(b"INVITE"))
    message = next(m for m in sim if m.startswith(b"MESSAGE"))
    messages = [invite, message,
                b"INFO sip:a@b SIP/2.0\r\nc: application/dtmf-relay\r\nContent-Length: 9\r\n\r\nSignal=5\r\n",
                b"SIP/2.0 200 OK\r\nCall-ID: x\r\nContact: <a>, <b>\r\nl: 0\r\n\r\n",
                b"MESSAGE sip:a@b SIP/2.0\r\nX-Y: z\r\n\r\nno content type",
                invite.replace(b"\r\nCall-ID", b"\r\n folded\r\nCall-ID"),
                invite.replace(b"a=ptime", b"a=\x00time")]
    assert [speedups.parse_sip(m) is None for m in messages] == [False] * 5 + [True, True]
    shared = [None, (), sip_mod._KEPT["via"], sip_mod._KEPT["call-id"], ContentKind.MESSAGE_BODY,
              ContentKind.POST_CUT_THROUGH_DIGITS, "sendrecv", "ptime"]

    def run(times: int) -> None:
        for _ in range(times):
            for m in messages:
                speedups.parse_sip(m)
                speedups.parse_sdp(m)

    assert_no_leak(run, shared, warmup=2000, rounds=200_000 // len(messages), traced_warmup=50, traced_rounds=2000)
