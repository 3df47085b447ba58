"""The report as one HTML page a manager reads on a phone, and the e-mail that carries it.

The page has no JavaScript and makes no requests: its style is inline and its charts are images
whose source the caller chooses — ``data:`` URIs for a file or the web, ``cid:`` references to
parts of a ``multipart/related`` message in e-mail (mail clients block data URIs and remote images
alike). Every piece of text is escaped, group names included.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

from listener.reports import human
from listener.reports.charts import Chart
from listener.reports.figures import FIGURES, PRUNED_NOTE, Overview, Row

KEY_FIGURES = ("mentions", "criticism_share", "answered_share", "first_response_median_s", "sla_met_share",
               "detection_lag_median_s")

STYLE = """
body{margin:0;font:16px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1c2833;background:#f4f6f8}
main{max-width:960px;margin:0 auto;padding:16px}
h1{font-size:1.35em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .5em}h3{font-size:1em;margin:1em 0 .3em}
.meta{color:#566573;font-size:.9em;margin:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:10px;margin-top:14px}
.card{background:#fff;border-radius:8px;padding:10px 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .name{font-size:.8em;color:#566573}.card .value{font-size:1.35em;font-weight:600;white-space:nowrap}
.card .base{font-size:.8em;color:#566573}
.better{color:#1e8449}.worse{color:#c0392b}
figure{margin:14px 0;background:#fff;border-radius:8px;padding:10px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
figure img{display:block;width:100%;max-width:672px;height:auto;margin:0 auto}
figcaption{font-weight:600;margin-bottom:6px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:0 14px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em}
th,td{padding:5px 8px;border-bottom:1px solid #e5e8e8;text-align:right}
td{white-space:nowrap}
th:first-child,td:first-child{text-align:left}
.wrap{overflow-x:auto}
footer{color:#566573;font-size:.8em;margin:24px 0 8px}
@media (max-width:480px){main{padding:10px}table{font-size:.78em}th,td{padding:4px 4px}}
"""


def page(overview: Overview, charts: Sequence[Chart], image_src: Callable[[Chart], str], title: str = "listener report") -> str:
    report = overview.report
    total = overview.total.rows[0] if overview.total.rows else None
    parts = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
        f"<title>{escape(title)}: {escape(report.period.name)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{escape(title)}</h1><p class=\"meta\">{escape(human.heading(report))}</p>",
        (f"<p class=\"meta\">Made {escape(report.generated_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M'))} UTC. "
         "Own mentions are not counted; response times and SLA are per department.</p>"),
    ]
    if total is not None:
        parts.append(_cards(total, report.baseline is not None))
    if charts:
        parts.append("<div class=\"charts\">")
        parts += [f"<figure><figcaption>{escape(c.title)}</figcaption><img src=\"{escape(image_src(c), quote=True)}\" "
                  f"alt=\"{escape(c.alt, quote=True)}\" width=\"{c.width}\" height=\"{c.height}\"></figure>" for c in charts]
        parts.append("</div>")
    parts.append(_table(report))
    if report.pruned or overview.total.pruned:
        parts.append(f"<p class=\"meta\">* {escape(PRUNED_NOTE)}</p>")
    parts.append("<footer>listener · times are medians unless marked; changes in counts compare daily rates; "
                 "– means no data.</footer></main></body></html>")
    return "".join(parts)


def _cards(row: Row, with_baseline: bool) -> str:
    cards = []
    for name in KEY_FIGURES:
        moved = getattr(row.change, name) if row.change else None
        base = ""
        if with_baseline and (row.baseline is None or getattr(row.baseline, name) is None):
            base = "<div class=\"base\">before: no data</div>"
        elif with_baseline:
            base = (f"<div class=\"base\">before {escape(human.shown(name, row.baseline))} · "
                    f"<span class=\"{human.verdict(name, moved)}\">{escape(human.change(name, moved))}</span></div>")
        cards.append(f"<div class=\"card\"><div class=\"name\">{escape(human.LABELS[name])}</div>"
                     f"<div class=\"value\">{escape(human.shown(name, row.figures))}</div>{base}</div>")
    return "<div class=\"cards\">" + "".join(cards) + "</div>"


def _table(report) -> str:
    """All figures: one column per group (figures down the side read better on a narrow screen)."""
    rows = report.rows
    heading = "All figures" if report.by is None else f"All figures by {report.by}"
    head = "".join(f"<th>{escape('(none)' if r.group is None else str(r.group))}</th>" for r in rows)
    if report.by is None:
        head = "<th>period</th>" + ("<th>baseline</th><th>change</th>" if report.baseline is not None else "")
    body = []
    for name in FIGURES:
        cells = [f"<td>{escape(human.shown(name, r.figures))}</td>" for r in rows]
        if report.by is None and report.baseline is not None and rows:
            row = rows[0]
            moved = getattr(row.change, name)
            cells += [f"<td>{escape(human.shown(name, row.baseline))}</td>",
                      f"<td class=\"{human.verdict(name, moved)}\">{escape(human.change(name, moved))}</td>"]
        body.append(f"<tr><th scope=\"row\">{escape(human.LABELS[name])}</th>{''.join(cells)}</tr>")
    if report.pruned:
        cells = [f"<td>{escape(human.value('mentions', r.figures.pruned))}</td>" for r in rows]
        if report.by is None and report.baseline is not None and rows:
            cells += [f"<td>{escape(human.value('mentions', rows[0].baseline.pruned))}</td>", "<td></td>"]
        body.append(f"<tr><th scope=\"row\">of which pruned *</th>{''.join(cells)}</tr>")
    return (f"<h2>{escape(heading)}</h2><div class=\"wrap\"><table><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def data_uri(chart: Chart) -> str:
    return "data:image/png;base64," + base64.b64encode(chart.png).decode()


def standalone(overview: Overview, charts: Sequence[Chart], title: str = "listener report") -> str:
    """A page for a file or the web: charts inline as data: URIs."""
    return page(overview, charts, data_uri, title)


def message(overview: Overview, charts: Sequence[Chart], sender: str, recipients: Sequence[str],
            title: str = "listener report") -> EmailMessage:
    """multipart/alternative: the figures as plain text, and the page with its charts as related CID parts."""
    domain = sender.rpartition("@")[2] or "listener.invalid"
    cids = {c.name: make_msgid(idstring=c.name, domain=domain) for c in charts}
    msg = EmailMessage()
    msg["Subject"] = f"{title}: {overview.report.period.name}".replace("\r", " ").replace("\n", " ")
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(idstring="report", domain=domain)
    msg.set_content(human.text(overview.report))
    msg.add_alternative(page(overview, charts, lambda c: "cid:" + cids[c.name][1:-1], title), subtype="html")
    html_part = msg.get_payload()[1]
    for chart in charts:
        html_part.add_related(chart.png, "image", "png", cid=cids[chart.name], filename=f"{chart.name}.png",
                              disposition="inline")
    return msg
