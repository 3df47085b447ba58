"""The report's charts as PNG images, drawn server-side so one page works as a file, on the web and in mail.

matplotlib's Agg backend draws without a display, and its own DejaVu Sans (shipped inside the
package) is the only font used, so the images look the same on every machine and nothing is fetched.
Each chart is a pure function from figures to PNG bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from listener.reports.figures import Figures, Overview

COLOURS = {"praise": "#2e7d32", "criticism": "#c62828", "neutral": "#90a4ae", "period": "#1565c0",
           "baseline": "#b0bec5", "sla": "#c62828"}
WIDTH, HEIGHT, DPI = 4.8, 3.0, 140  # 672 px wide: sharp on a phone, where it shows ~370 px wide
STYLE = {"font.family": "DejaVu Sans", "font.size": 11, "axes.spines.top": False, "axes.spines.right": False,
         "svg.fonttype": "none"}


@dataclass(frozen=True, slots=True)
class Chart:
    """One image: ``name`` doubles as its file and CID name; ``alt`` says in words what it shows."""

    name: str
    title: str
    alt: str
    png: bytes
    width: int
    height: int


def charts(overview: Overview, sla_hours: float | None = None) -> list[Chart]:
    """Every chart the data allows; a chart without any data to show is left out, not drawn empty."""
    out = [weekly_volume(overview.weeks), first_response(overview.weeks, sla_hours),
           sla_by_department(overview.departments.rows), baseline_vs_period(overview)]
    return [chart for chart in out if chart is not None]


def strictest_sla_hours(config) -> float | None:
    """The line drawn on the response chart: the strictest department SLA, when departments set one
    (the ``sla`` key of [[departments]])."""
    slas = [d.sla.total_seconds() / 3600 for d in config.departments if getattr(d, "sla", None)]
    return min(slas) if slas else None


def _figure(height: float = HEIGHT) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")


def _chart(name: str, title: str, alt: str, figure: Figure) -> Chart:
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format="png", metadata={"Software": None})
    width, height = (round(v * DPI) for v in figure.get_size_inches())
    return Chart(name, title, alt, buffer.getvalue(), width, height)


def _thin_ticks(ax, count: int) -> None:
    """Label every other week when there are many, so the labels never overlap at phone width."""
    if count > 8:
        for i, label in enumerate(ax.get_xticklabels()):
            label.set_visible(i % 2 == (count - 1) % 2)


def _week_label(name: str) -> str:
    return "W" + name.rpartition("W")[2]


def weekly_volume(weeks: dict[str, Figures]) -> Chart | None:
    if not any(f.mentions for f in weeks.values()):
        return None
    names = list(weeks)
    with matplotlib.rc_context(STYLE):
        figure = _figure()
        ax = figure.subplots()
        bottom = [0] * len(names)
        for label in ("criticism", "neutral", "praise"):
            heights = [getattr(weeks[n], label) or 0 for n in names]
            ax.bar([_week_label(n) for n in names], heights, bottom=bottom, color=COLOURS[label], label=label)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_ylabel("mentions")
        ax.legend(frameon=False, ncols=3, loc="lower left", bbox_to_anchor=(0, 1))
        _thin_ticks(ax, len(names))
        total = sum(f.mentions or 0 for f in weeks.values())
    return _chart("volume", "Mentions per week by label", f"Stacked bars: {total} mentions over {len(names)} weeks, "
                 "split into criticism, neutral and praise.", figure)


def first_response(weeks: dict[str, Figures], sla_hours: float | None) -> Chart | None:
    points = [(n, f.first_response_median_s, f.first_response_p90_s) for n, f in weeks.items()]
    if not any(median is not None for _, median, _ in points):
        return None
    labels = [_week_label(n) for n, _, _ in points]
    def hours(v):
        return v / 3600 if v is not None else float("nan")
    with matplotlib.rc_context(STYLE):
        figure = _figure()
        ax = figure.subplots()
        ax.plot(labels, [hours(m) for _, m, _ in points], marker="o", color=COLOURS["period"], label="median")
        ax.plot(labels, [hours(p) for _, _, p in points], marker=".", linestyle="--", color=COLOURS["period"],
                alpha=0.6, label="90th percentile")
        if sla_hours is not None:
            ax.axhline(sla_hours, color=COLOURS["sla"], linewidth=1.2, label=f"SLA {sla_hours:g} h")
        ax.set_ylabel("hours")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, ncols=3, loc="lower left", bbox_to_anchor=(0, 1))
        _thin_ticks(ax, len(labels))
    sla = f" against the SLA of {sla_hours:g} hours" if sla_hours is not None else ""
    return _chart("response", "First response per week", f"Lines: median and 90th percentile hours to the first "
                 f"response, week by week{sla}.", figure)


def sla_by_department(rows) -> Chart | None:
    shown = [r for r in rows if r.figures.sla_met_share is not None]
    if not shown:
        return None
    names = [_short(str(r.group)) for r in shown]
    with matplotlib.rc_context(STYLE):
        figure = _figure(max(1.8, 0.45 * len(shown) + 1.2))
        ax = figure.subplots()
        ax.barh(names, [r.figures.sla_met_share * 100 for r in shown], color=COLOURS["period"], label="period")
        base = [(i, r.baseline.sla_met_share * 100) for i, r in enumerate(shown)
                if r.baseline is not None and r.baseline.sla_met_share is not None]
        if base:
            ax.scatter([b for _, b in base], [i for i, _ in base], marker="|", s=400, color="black", label="baseline",
                       zorder=3)
            ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0, 1))
        ax.set_xlim(0, 100)
        ax.set_xlabel("% answered within the SLA")
        ax.invert_yaxis()
    parts = ", ".join(f"{n} {r.figures.sla_met_share:.0%}" for n, r in zip(names, shown, strict=True))
    return _chart("sla", "SLA met per department", f"Bars: share answered within the SLA: {parts}.", figure)


COMPARED = (("answered_share", "answered"), ("criticism_share", "criticism"), ("sla_met_share", "SLA met"))


def baseline_vs_period(overview: Overview) -> Chart | None:
    total = overview.total
    if total.baseline is None:
        return None
    row = total.rows[0]
    pairs = [(label, getattr(row.figures, name), getattr(row.baseline, name)) for name, label in COMPARED]
    pairs = [p for p in pairs if p[1] is not None or p[2] is not None]
    if not pairs:
        return None
    with matplotlib.rc_context(STYLE):
        figure = _figure(2.8)
        ax = figure.subplots()
        xs = range(len(pairs))
        ax.bar([x - 0.2 for x in xs], [(b or 0) * 100 for _, _, b in pairs], width=0.4, color=COLOURS["baseline"],
               label=f"baseline ({total.baseline.name})")
        ax.bar([x + 0.2 for x in xs], [(v or 0) * 100 for _, v, _ in pairs], width=0.4, color=COLOURS["period"],
               label="this period")
        ax.set_xticks(list(xs), [label for label, _, _ in pairs])
        ax.set_ylim(0, 100)
        ax.set_ylabel("%")
        ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0, 1))
    words = "; ".join(f"{label}: {_pct(v)} now, {_pct(b)} before" for label, v, b in pairs)
    return _chart("baseline", "This period against the baseline", f"Paired bars. {words}.", figure)


def _short(name: str, width: int = 22) -> str:
    """A long group name would squeeze the bars to nothing; the table below has it in full."""
    return name if len(name) <= width else name[: width - 1] + "…"


def _pct(share: float | None) -> str:
    return "no data" if share is None else f"{share:.0%}"
