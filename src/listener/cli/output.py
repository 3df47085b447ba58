"""Printing rows for people and programs: tables, JSON Lines, formula-safe CSV; time options."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import click

from listener.config import parse_duration
from listener.text import one_line

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def parse_since(value: str) -> datetime:
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f'"{value}" is neither a duration (7d, 12h) nor a date (2026-11-01)', param_hint="--since") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


def emit(rows: list[dict[str, Any]], fmt: str, table_columns: list[str]) -> None:
    if fmt == "json":
        click.echo("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), nl=False)
    elif fmt == "csv":
        if rows:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in rows)
            click.echo(buf.getvalue(), nl=False)
    else:
        click.echo(table(rows, table_columns), nl=False)


def csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formulas: a cell starting with = + - @ is read as text, not run.
    A list or mapping is written as JSON."""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(nothing)\n"
    width = {"text": 60, "title": 40, "last_error": 60}
    cells = [[cell(row.get(c), width.get(c, 30)) for c in columns] for row in rows]
    sizes = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    buf = io.StringIO()
    for line in ([columns] + cells):
        buf.write("  ".join(v.ljust(sizes[i]) for i, v in enumerate(line)).rstrip() + "\n")
    return buf.getvalue()


def cell(value: Any, width: int) -> str:
    text = one_line("" if value is None else str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


