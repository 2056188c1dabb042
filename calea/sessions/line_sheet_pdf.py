"""Line sheets as a PDF document (fpdf2): one document per day or per authority period.

Pure apart from reading a font file: `render(LineSheetDocument)` returns the PDF bytes.
Text that Latin-1 can carry is set in the PDF core font Helvetica (no font file, text
extractable by any PDF reader); other text (synopses in other scripts) needs a Unicode
TrueType font: the first of `UNICODE_FONTS` that exists is embedded, else characters
Latin-1 cannot carry are replaced by "?" and the document says so on its first page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

UNICODE_FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                 Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"))
_PERTINENCE = {"pertinent": "PERTINENT", "non-pertinent": "NON-PERTINENT (minimized)", "privileged": "PRIVILEGED"}


@dataclass(frozen=True)
class LineSheetDocument:
    title: str  # "Line sheets -- 2026-11-27"
    heading: Sequence[str]  # case, period, authority, who generated it and why
    sheets: Sequence[dict[str, Any]]  # line sheet dicts, each with its "call" (or None)
    generated_at: datetime
    footer: str = "calea"
    extra: dict[str, Any] = field(default_factory=dict)


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
        return True
    except UnicodeEncodeError:
        return False


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


def _call_lines(call: dict[str, Any] | None) -> list[str]:
    if not call:
        return []
    dur = call.get("duration_s")
    lines = [
        f"Call {_when(call.get('started_at'))}  {call.get('direction', '')} ({call.get('collection', '')})",
        f"From {call.get('calling') or '?'} to {call.get('called') or '?'}"
        + (f", forwarded from {call['redirected_from']}" if call.get("redirected_from") else "")
        + (f", redirected to {call['redirected_to']}" if call.get("redirected_to") else ""),
        f"Outcome {call.get('outcome') or 'in progress'}"
        + (f", conversation {dur:.0f} s" if isinstance(dur, (int, float)) and call.get("answered_at") else "")
        + f"; LIID {call.get('liid')}, CIN {call.get('cin')}",
    ]
    return lines


def _review_lines(s: dict[str, Any]) -> list[str]:
    if s.get("status") == "signed":
        return [f"Reviewed and signed by {s.get('signed_by_name')} on {_when(s.get('signed_at'))}",
                f"SHA-256 {s.get('signed_sha256')}; case log leaf {s.get('signed_leaf')}"]
    if s.get("status") == "returned":
        return [f"Returned for correction on {_when(s.get('reviewed_at'))}: {s.get('review_note') or ''}"]
    return ["Not yet reviewed by a supervisor"]


class _Pdf(FPDF):
    footer_text = "calea"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body_font, size=8)
        self.cell(0, 5, f"{self.footer_text} - page {self.page_no()} of {{nb}}", align="C")

    body_font = "Helvetica"


def render(doc: LineSheetDocument) -> bytes:
    texts = [doc.title, *doc.heading] + [str(s.get(k) or "") for s in doc.sheets
                                        for k in ("synopsis", "language", "monitor_name", "signed_by_name")]
    texts += [p for s in doc.sheets for p in s.get("participants") or ()]
    pdf = _Pdf(format="Letter")
    lossy = False
    if not all(_latin1(t) for t in texts):
        ttf = next((f for f in UNICODE_FONTS if f.exists()), None)
        if ttf is not None:
            pdf.add_font("unicode", fname=str(ttf))
            pdf.add_font("unicode", style="B", fname=str(ttf))
            pdf.body_font = "unicode"
        else:
            lossy = True

    def clean(text: str) -> str:
        return text.encode("latin-1", "replace").decode("latin-1") if lossy else text

    pdf.footer_text = clean(doc.footer)
    pdf.set_title(clean(doc.title))
    pdf.set_creator("calea")
    pdf.set_creation_date(doc.generated_at)
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    font = pdf.body_font

    def line(text: str, size: float = 10, style: str = "", height: float = 5) -> None:
        pdf.set_font(font, style, size)
        pdf.multi_cell(0, height, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(doc.title, 15, "B", 8)
    for h in doc.heading:
        line(h, 9)
    if lossy:
        line("Note: characters this PDF font cannot show are printed as '?'; the system holds the exact text.", 8)
    pdf.ln(3)
    if not doc.sheets:
        line("No line sheets in this period.", 10)
    for i, s in enumerate(doc.sheets, 1):
        pdf.set_draw_color(120, 120, 120)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(1)
        line(f"{i}. Line sheet {s.get('id')}  -  {_PERTINENCE.get(str(s.get('pertinence')), s.get('pertinence'))}",
             11, "B", 6)
        for text in _call_lines(s.get("call")):
            line(text, 9)
        participants = ", ".join(s.get("participants") or ()) or "-"
        line(f"Participants: {participants}; language: {s.get('language') or '-'}", 9)
        line("Synopsis:", 9, "B")
        line(str(s.get("synopsis") or ""), 10)
        line(f"Monitor: {s.get('monitor_name')}, written {_when(s.get('created_at'))}, version {s.get('version')}", 8)
        for text in _review_lines(s):
            line(text, 8)
        pdf.ln(3)
    return bytes(pdf.output())
