"""Figures as people read them: 42 %, 3 h 20 min, +12 %; shared by the terminal table and the HTML page."""

from __future__ import annotations

from listener.reports.figures import APPROXIMATE, COUNTS, FIGURES, PRUNED_NOTE, SHARES, Figures, Report

LABELS = {
    "mentions": "Mentions",
    "praise": "Praise",
    "criticism": "Criticism",
    "neutral": "Neutral",
    "praise_share": "Praise share",
    "criticism_share": "Criticism share",
    "neutral_share": "Neutral share",
    "questions": "Questions",
    "answered": "Answered",
    "answered_share": "Answered share",
    "first_response_median_s": "First response, median",
    "first_response_p90_s": "First response, 90th percentile",
    "business_first_response_median_s": "First response, median (business hours)",
    "first_response_mean_s": "First response, mean",
    "business_first_response_mean_s": "First response, mean (business hours)",
    "sla_met_share": "SLA met",
    "detection_lag_median_s": "Detection lag, median",
}

BETTER_WHEN_LOWER = frozenset({"criticism", "criticism_share", "first_response_median_s", "first_response_p90_s",
                               "business_first_response_median_s", "first_response_mean_s",
                               "business_first_response_mean_s", "detection_lag_median_s"})


def value(name: str, figure: float | None) -> str:
    if figure is None:
        return "–"
    if name in COUNTS:
        return f"{int(figure):,}".replace(",", " ")
    if name in SHARES:
        return f"{figure * 100:.0f} %"
    return duration(figure)


def shown(name: str, figures: Figures) -> str:
    """The figure as ``value`` shows it, with "≈ " before one read from pruned days' histograms."""
    figure = getattr(figures, name)
    approximate = figures.pruned and name in APPROXIMATE and figure is not None
    return ("≈ " if approximate else "") + value(name, figure)


def duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours / 24:.1f} d"


def change(name: str, moved: float | None) -> str:
    """+12 % for counts (daily rate), +5 pt for shares, −20 min for times."""
    if moved is None:
        return "–"
    sign = "+" if moved > 0 else "−" if moved < 0 else "±"
    if name in COUNTS:
        return f"{sign}{abs(moved) * 100:.0f} %"
    if name in SHARES:
        return f"{sign}{abs(moved) * 100:.0f} pt"
    return f"{sign}{duration(moved)}"


def verdict(name: str, moved: float | None) -> str:
    """"better", "worse" or "" for colouring a change; volume and praise counts are neither."""
    if not moved or name in ("mentions", "neutral", "neutral_share", "questions"):
        return ""
    if change(name, moved)[1:].startswith("0 "):  # shows as no change
        return ""
    lower = name in BETTER_WHEN_LOWER
    return "better" if (moved < 0) == lower else "worse"


def heading(report: Report) -> str:
    text = _span(report.period)
    if report.baseline is not None:
        text += f", against {_span(report.baseline)}"
    return text


def _span(period) -> str:
    dates = f"{period.first} – {period.last}"
    return dates if ".." in period.name else f"{period.name} ({dates})"


def text(report: Report) -> str:
    """The report for a terminal or a plain-text mail: one block per group, a line per figure, the
    columns of every block aligned alike so groups can be compared down the page."""
    blocks = []
    for row in report.rows:
        lines = [("", "period", "baseline", "change")] if report.baseline is not None else []
        for name in FIGURES:
            current = shown(name, row.figures)
            if report.baseline is None:
                lines.append((LABELS[name], current))
            else:
                lines.append((LABELS[name], current, shown(name, row.baseline),
                              change(name, getattr(row.change, name))))
        if row.figures.pruned or (row.baseline and row.baseline.pruned):
            counts = (row.figures.pruned, *((row.baseline.pruned,) if report.baseline is not None else ()))
            lines.append(("of which pruned *", *(value("mentions", n) for n in counts),
                          *(("",) if report.baseline is not None else ())))
        blocks.append((row, lines))
    every = [line for _, lines in blocks for line in lines]
    widths = [max(len(line[i]) for line in every) for i in range(len(every[0]))] if every else []
    out = [heading(report), ""]
    for row, lines in blocks:
        if report.by is not None:
            out.append(f"{report.by}: {'(none)' if row.group is None else row.group}")
        out += ["  " + "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                                 for i, cell in enumerate(line)).rstrip() for line in lines]
        out.append("")
    if report.pruned:
        out += [f"* {PRUNED_NOTE}", ""]
    return "\n".join(out)
