"""The carrier simulator's scenario model: targets and a timeline of events.

A scenario is pure data (frozen dataclasses), loaded from a TOML or JSON file
(`load_scenario`), from a dict (`scenario_from_dict`), from command-line options
(`quick_scenario`) or the packaged demo (`load_demo_scenario`).  Times of events are
seconds after the scenario's `start` (an aware datetime; None means "now", resolved by
whoever builds the plan: this module never reads the clock).  `calea.sim.build` turns a
scenario into the records of each handover connection.

File layout (TOML shown; JSON has the same keys):

    name = "demo"          # optional
    start = "now"          # or "2026-01-05T09:00:00Z"
    seed = 7               # CINs, ports, audio and TCP numbers derive from it
    [carrier]              # operator_id, network_element, country, keepalive_interval, ...
    [[targets]]            # liid + identifiers: sip_uri, e164, ip, imsi, username, handset
    [[events]]             # type = call | sms | mms | ip_session | web_visits | idle | reconnect
    type = "call"; liid = "..."; at = 1.0; direction = "in"; peer = "+12125550199"
    outcome = "answered"   # answered | busy | no-answer | cancelled
    dtmf_before = "42"     # RFC 4733 digits the caller keys in early media (a calling card)
    dtmf_after = "1#"      # digits keyed after answer (an IVR menu): RFC 4733 in the RTP, and in
    dtmf_by = "target"     #   the HI2 / CDC IRI too unless dtmf_iri = false; keyed by target | peer
    [[events]]             # an MMS with a picture; the target is its sender or a recipient
    type = "mms"; liid = "..."; at = 20.0; from = "+12125550199"; to = ["+12125550100"]
    subject = "Pier 4"; text = "..."
    image = "48x32"        # or { width = 48, height = 32, seed = 4 }: a generated PNG
"""

from __future__ import annotations

import ipaddress
import json
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Union

from calea.sim.images import png_image, png_size

OUTCOMES = ("answered", "busy", "no-answer", "cancelled")
DIRECTIONS = ("in", "out")
CHANNELS = ("hi2", "hi3", "both")
MMS_RETRIEVAL_DELAY = 1.0  # seconds from the MMSC's notification to the target's retrieval
MAX_MMS_IMAGE = 300 * 1024  # OMA MMS content class image-rich: messages up to 300 KB
MAX_IMAGE_SIDE = 640
DEFAULT_MMS_IMAGE = png_image(32, 24, 0)


class ScenarioError(ValueError):
    """A scenario file or option that cannot describe a delivery (the user's mistake)."""


@dataclass(frozen=True)
class Cell:
    mcc: str = "310"
    mnc: str = "410"
    lac: int = 0x1A2B
    ci: int = 0x3C4D
    latitude: float | None = 40.7128
    longitude: float | None = -74.006


@dataclass(frozen=True)
class Carrier:
    operator_id: str = "DEMOTEL"
    network_element: str = "sim-med-01"
    country: str = "US"
    interception_point: str | None = None
    keepalive_interval: float = 5.0  # seconds of silence on a handover before a keep-alive
    keepalive_liid: str = "calea-sim"  # OpenLI puts its software version here
    sip_domain: str = "example.net"
    proxy: str = "203.0.113.10"  # the SIP proxy / softswitch
    media_gateway: str = "203.0.113.50"  # where the other party's media comes from
    cdc_element: str = "sim-cms-01"  # PacketCable accessing element / call agent


@dataclass(frozen=True)
class Target:
    liid: str
    sip_uri: str | None = None
    e164: str | None = None  # "+12125550100"
    ip: str | None = None
    imsi: str | None = None
    username: str | None = None
    handset: str = "198.51.100.20"  # address of the target's SIP handset
    cell: Cell = field(default_factory=Cell)

    @property
    def number(self) -> str:
        """E.164 digits (no "+"), from `e164` or the user part of `sip_uri`."""
        if self.e164:
            return self.e164.lstrip("+")
        if self.sip_uri:
            return self.sip_uri.split(":", 1)[1].split("@", 1)[0].lstrip("+")
        return ""


@dataclass(frozen=True)
class Call:
    liid: str
    at: float
    direction: str = "in"  # in: the peer calls the target
    peer: str = "+12125550199"
    outcome: str = "answered"
    ring: float = 3.0  # seconds from INVITE to answer / give-up
    duration: float = 8.0  # seconds of conversation when answered
    dtmf_before: str = ""  # digits the caller keys during early media (before answer)
    dtmf_after: str = ""  # digits keyed after answer (post-cut-through)
    dtmf_by: str = "target"  # who keys them: target | peer
    dtmf_iri: bool = True  # the carrier also reports post-cut-through digits in IRI (HI2 keypad, PCESP
    # DialedDigitExtraction); False: only the RFC 4733 events in the call content carry them
    hangup: str = "target"  # who hangs up: target | peer

    @property
    def end(self) -> float:
        talk = self.duration if self.outcome == "answered" else 0.0
        return self.at + (0.5 if self.outcome == "busy" else self.ring) + talk + 0.1


@dataclass(frozen=True)
class Sms:
    liid: str
    at: float
    direction: str = "in"
    peer: str = "+12125550199"
    text: str = "Call me when you land."

    @property
    def end(self) -> float:
        return self.at + 0.05


@dataclass(frozen=True)
class Mms:
    """A multimedia message with a subject, a text and a PNG picture.  The target (`liid`)
    is its sender (`from_`: the target sends it, MMS event "send") or one of its
    recipients (it is notified and retrieves it).  `to` empty: the target alone.  In a
    scenario file the sender's key is `from` and `image` is "WxH" or a table
    {width, height, seed} of a generated picture (`calea.sim.images.png_image`)."""

    liid: str
    at: float
    from_: str = "+12125550199"
    to: tuple[str, ...] = ()
    subject: str = "Photo"
    text: str = "Here it is."
    image: bytes = field(default=DEFAULT_MMS_IMAGE, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.to, str):
            object.__setattr__(self, "to", (self.to,))

    @property
    def end(self) -> float:
        return self.at + MMS_RETRIEVAL_DELAY + 0.05  # the longer flow: notification, then retrieval


def mms_parties(mms: Mms, target: Target) -> tuple[str, tuple[str, ...], bool]:
    """(sender, recipients, sent by the target) with E.164 numbers ("+1...")."""
    me = "+" + target.number
    recipients = mms.to or (me,)
    return mms.from_, recipients, mms.from_ == me


@dataclass(frozen=True)
class IpSession:
    """An access session of an IP target: IRI begin/end, DNS, an HTTP GET, a TLS hello."""

    liid: str
    at: float
    duration: float = 12.0
    dns_server: str = "203.0.113.53"
    http_host: str = "www.example.com"
    http_server: str = "192.0.2.80"
    http_path: str = "/index.html"
    tls_host: str = "mail.example.org"
    tls_server: str = "192.0.2.143"

    @property
    def end(self) -> float:
        return self.at + self.duration


@dataclass(frozen=True)
class WebVisits:
    """Several clients fetching pages from a web server that is the target (queried address)."""

    liid: str
    at: float
    clients: tuple[str, ...] = ("192.0.2.11", "192.0.2.12", "192.0.2.13")
    host: str = "www.example.com"
    paths: tuple[str, ...] = ("/", "/about.html", "/contact.html")
    spacing: float = 1.5

    @property
    def end(self) -> float:
        return self.at + self.spacing * len(self.clients) + 0.5


@dataclass(frozen=True)
class Idle:
    """Nothing to deliver for `seconds`: the handovers carry keep-alives."""

    at: float
    seconds: float

    @property
    def end(self) -> float:
        return self.at + self.seconds


@dataclass(frozen=True)
class Reconnect:
    """Drop a connection at `at`, reconnect and resend its last `resend` records; with
    `partial`, half of the next record goes out before the drop."""

    at: float
    channel: str = "hi2"
    resend: int = 3
    partial: bool = False

    @property
    def end(self) -> float:
        return self.at


Event = Union[Call, Sms, Mms, IpSession, WebVisits, Idle, Reconnect]
EVENT_TYPES: dict[str, type] = {"call": Call, "sms": Sms, "mms": Mms, "ip_session": IpSession,
                                "web_visits": WebVisits, "idle": Idle, "reconnect": Reconnect}


@dataclass(frozen=True)
class Scenario:
    targets: tuple[Target, ...]
    events: tuple[Event, ...]
    name: str = "scenario"
    start: datetime | None = None
    seed: int = 1
    carrier: Carrier = field(default_factory=Carrier)

    def __post_init__(self) -> None:
        validate(self)

    def target(self, liid: str) -> Target:
        for t in self.targets:
            if t.liid == liid:
                return t
        raise ScenarioError(f"no target with LIID {liid!r}")

    @property
    def length(self) -> float:
        """Seconds from the start to the end of the last event."""
        return max((e.end for e in self.events), default=0.0)

    def shifted(self, index: int, gap: float = 10.0) -> Scenario:
        """The `index`-th repetition (for `--loop`): a later start and another seed, so its
        CINs and sequence numbers form new streams (a start of None stays "now")."""
        if index == 0:
            return self
        start = None if self.start is None else self.start + timedelta(seconds=index * (self.length + gap))
        return replace(self, start=start, seed=self.seed + index)


# --- validation ------------------------------------------------------------------------


def _ip(value: str | None, what: str) -> None:
    if value is not None:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ScenarioError(f"{what}: {value!r} is not an IPv4 address") from None


def _number(value: str, what: str) -> None:
    if not (value.startswith("+") and value[1:].isdigit() and 3 <= len(value) <= 16):
        raise ScenarioError(f"{what}: {value!r} is not an E.164 number like +12125550100")


def validate(s: Scenario) -> None:
    liids = [t.liid for t in s.targets]
    if len(set(liids)) != len(liids):
        raise ScenarioError("two targets share a LIID")
    for t in s.targets:
        if not t.liid or len(t.liid) > 25:
            raise ScenarioError(f"LIID {t.liid!r}: 1 to 25 characters")
        if t.sip_uri is not None and not t.sip_uri.startswith("sip:"):
            raise ScenarioError(f"{t.liid}: sip_uri must start with sip:")
        if t.e164 is not None:
            _number(t.e164, t.liid)
        _ip(t.ip, t.liid)
        _ip(t.handset, t.liid)
    for e in s.events:
        if e.at < 0:
            raise ScenarioError(f"{type(e).__name__} at {e.at}: times are seconds after the start (>= 0)")
        liid = getattr(e, "liid", None)
        if liid is not None and liid not in liids:
            raise ScenarioError(f"{type(e).__name__} at {e.at}: unknown LIID {liid!r}")
        if isinstance(e, (Call, Sms)):
            if e.direction not in DIRECTIONS:
                raise ScenarioError(f"direction {e.direction!r}: one of {DIRECTIONS}")
            _number(e.peer, f"peer of the {type(e).__name__.lower()} at {e.at}")
            if not (s.target(e.liid).sip_uri or s.target(e.liid).e164):
                raise ScenarioError(f"{e.liid}: calls and SMS need a sip_uri or e164 target")
        if isinstance(e, Mms):
            _mms(s, e)
        if isinstance(e, Call):
            if e.outcome not in OUTCOMES:
                raise ScenarioError(f"outcome {e.outcome!r}: one of {OUTCOMES}")
            if e.ring <= 0.1 or e.duration < 0:
                raise ScenarioError("ring must exceed 0.1 s and duration be >= 0")
            for digit in e.dtmf_before + e.dtmf_after:
                if digit.upper() not in "0123456789*#ABCD":
                    raise ScenarioError(f"DTMF digit {digit!r}")
            if e.dtmf_by not in ("target", "peer") or not isinstance(e.dtmf_iri, bool):
                raise ScenarioError("dtmf_by: target | peer; dtmf_iri: true | false")
        if isinstance(e, IpSession):
            if s.target(e.liid).ip is None:
                raise ScenarioError(f"{e.liid}: an ip_session needs an ip target")
            for name in ("dns_server", "http_server", "tls_server"):
                _ip(getattr(e, name), name)
        if isinstance(e, WebVisits):
            if not e.clients:
                raise ScenarioError("web_visits needs at least one client")
            for c in e.clients:
                _ip(c, "web client")
            if s.target(e.liid).ip is None:
                raise ScenarioError(f"{e.liid}: web_visits need the web server's ip as the target")
        if isinstance(e, Reconnect) and (e.channel not in CHANNELS or e.resend < 0):
            raise ScenarioError(f"reconnect: channel one of {CHANNELS}, resend >= 0")
        if isinstance(e, Idle) and e.seconds <= 0:
            raise ScenarioError("idle seconds must be positive")


def _mms(s: Scenario, e: Mms) -> None:
    what = f"mms at {e.at}"
    target = s.target(e.liid)
    if not target.number:
        raise ScenarioError(f"{e.liid}: an MMS needs a sip_uri or e164 target")
    if not isinstance(e.to, tuple) or not all(isinstance(n, str) for n in (e.from_, *e.to)):
        raise ScenarioError(f"{what}: from is a number, to a number or a list of numbers")
    if not (isinstance(e.subject, str) and isinstance(e.text, str)):
        raise ScenarioError(f"{what}: subject and text are strings")
    for number in (e.from_, *e.to):
        _number(number, what)
    sender, recipients, outgoing = mms_parties(e, target)
    if outgoing and not e.to:
        raise ScenarioError(f"{what}: sent by the target, it needs recipients (to)")
    if not outgoing and "+" + target.number not in recipients:
        raise ScenarioError(f"{what}: the target {target.number} is neither its sender (from) nor a recipient (to)")
    if len(set(recipients)) != len(recipients) or sender in recipients:
        raise ScenarioError(f"{what}: a number appears twice among from / to")
    if not isinstance(e.image, bytes) or png_size(e.image) is None:
        raise ScenarioError(f"{what}: image must be PNG bytes")
    if len(e.image) > MAX_MMS_IMAGE:
        raise ScenarioError(f"{what}: image of {len(e.image)} bytes, at most {MAX_MMS_IMAGE}")


# --- loading ---------------------------------------------------------------------------


def _build(cls: type, data: dict[str, Any], what: str) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ScenarioError(f"{what}: unknown keys {sorted(unknown)} (known: {sorted(names)})")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        raise ScenarioError(f"{what}: {exc}") from None


def _start(value: Any) -> datetime | None:
    if value is None or value == "now":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioError(f"start {value!r} is neither 'now' nor an ISO 8601 time") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ScenarioError("start needs a time zone (e.g. 2026-01-05T09:00:00Z)")
    return value


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    data = dict(data)
    targets = []
    for i, t in enumerate(data.pop("targets", [])):
        t = dict(t)
        if "cell" in t:
            t["cell"] = _build(Cell, t["cell"], f"targets[{i}].cell")
        targets.append(_build(Target, t, f"targets[{i}]"))
    events = []
    for i, e in enumerate(data.pop("events", [])):
        e = dict(e)
        kind = e.pop("type", None)
        if kind not in EVENT_TYPES:
            raise ScenarioError(f"events[{i}]: type one of {sorted(EVENT_TYPES)}, not {kind!r}")
        if kind == "mms":
            e = _mms_fields(e, f"events[{i}] (mms)")
        events.append(_build(EVENT_TYPES[kind], e, f"events[{i}] ({kind})"))
    carrier = _build(Carrier, data.pop("carrier", {}), "carrier")
    start = _start(data.pop("start", None))
    rest = _build(_Top, data, "scenario")
    return Scenario(tuple(targets), tuple(sorted(events, key=lambda e: e.at)), rest.name, start, rest.seed, carrier)


def _mms_fields(data: dict[str, Any], what: str) -> dict[str, Any]:
    """The file form of an MMS: `from` for `from_`, `to` a number or a list, `image` a
    picture to generate ("WxH" or {width, height, seed})."""
    if "from_" in data:
        raise ScenarioError(f"{what}: the sender's key is 'from'")
    if "from" in data:
        data["from_"] = data.pop("from")
    if isinstance(data.get("to"), str):
        data["to"] = [data["to"]]
    if "image" in data:
        data["image"] = image_from_spec(data["image"], what)
    return data


def image_from_spec(spec: Any, what: str = "image") -> bytes:
    """A generated PNG from "WxH" or {width, height, seed} (seed defaults to 0)."""
    if isinstance(spec, str):
        w, sep, h = spec.lower().partition("x")
        if not (sep and w.strip().isdigit() and h.strip().isdigit()):
            raise ScenarioError(f"{what}: image {spec!r} is not WIDTHxHEIGHT, e.g. '48x32'")
        spec = {"width": int(w), "height": int(h)}
    if not isinstance(spec, dict):
        raise ScenarioError(f"{what}: image is 'WxH' or {{width, height, seed}}")
    unknown = set(spec) - {"width", "height", "seed"}
    if unknown:
        raise ScenarioError(f"{what}: unknown image keys {sorted(unknown)} (known: height, seed, width)")
    width, height, seed = spec.get("width", 32), spec.get("height", 24), spec.get("seed", 0)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height, seed)):
        raise ScenarioError(f"{what}: image width, height and seed are integers")
    if not (1 <= width <= MAX_IMAGE_SIDE and 1 <= height <= MAX_IMAGE_SIDE):
        raise ScenarioError(f"{what}: image sides 1 to {MAX_IMAGE_SIDE} pixels, not {width}x{height}")
    return png_image(width, height, seed)


@dataclass(frozen=True)
class _Top:
    name: str = "scenario"
    seed: int = 1


def load_scenario(path: str | Path) -> Scenario:
    """A scenario from a `.toml` or `.json` file."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text("utf-8"))
        else:
            data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    return scenario_from_dict(data)


def load_demo_scenario() -> Scenario:
    """The packaged demo (`calea/sim/scenarios/demo.toml`), starting "now"."""
    text = resources.files("calea.sim").joinpath("scenarios/demo.toml").read_text("utf-8")
    return scenario_from_dict(tomllib.loads(text))


def quick_scenario(*, liid: str, sip_uri: str | None = None, e164: str | None = None, ip: str | None = None,
                   calls: int = 0, sms: int = 0, mms: int = 0, ip_sessions: int = 0, web_visitors: int = 0,
                   duration: float = 8.0, start: datetime | None = None, seed: int = 1,
                   carrier: Carrier | None = None) -> Scenario:
    """A scenario for one target from counts (the `calea sim --liid ... --calls 3` form):
    calls alternate in/out and cycle through the outcomes, SMS and MMS alternate direction
    (an MMS to the target first), each MMS with its own generated picture."""
    if e164 is None and sip_uri is not None and sip_uri[4:5] == "+":
        e164 = sip_uri[4:].split("@", 1)[0]
    target = Target(liid, sip_uri=sip_uri, e164=e164, ip=ip)
    events: list[Event] = []
    at = 1.0
    peers = ("+12125550199", "+13105550123", "+17185550142")
    for i in range(calls):
        call = Call(liid, at, "in" if i % 2 == 0 else "out", peers[i % 3], OUTCOMES[i % 4], duration=duration)
        events.append(call)
        at = call.end + 1.0
    for i in range(sms):
        events.append(Sms(liid, at, "in" if i % 2 == 0 else "out", peers[i % 3], f"Message {i + 1} from the simulator."))
        at += 2.0
    if mms and e164 is None:
        raise ScenarioError("MMS need the target's number (--target-e164 or a sip:+<digits>@ URI)")
    for i in range(mms):
        peer, me = peers[i % 3], e164 or ""
        sender, to = (peer, (me,)) if i % 2 == 0 else (me, (peer,))
        events.append(Mms(liid, at, sender, to, f"Picture {i + 1}", f"MMS {i + 1} from the simulator.",
                          png_image(32, 24, seed * 1000 + i)))
        at += MMS_RETRIEVAL_DELAY + 2.0
    for _ in range(ip_sessions):
        events.append(IpSession(liid, at))
        at += 14.0
    if web_visitors:
        clients = tuple(f"192.0.2.{11 + i}" for i in range(web_visitors))
        events.append(WebVisits(liid, at, clients=clients))
    return Scenario((target,), tuple(events), f"quick-{liid}", start, seed, carrier or Carrier())
