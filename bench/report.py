"""Report speed over a million mentions: `listener report --by department` for a month and a year.

Generates 1,000,000 mentions over one year (2025-12-01 .. 2026-11-30) with routes (a fifth go to
two departments), responses (60 % answered) and SLA deadlines into a SQLite file, then times
listener's figures function (the code path of `listener report`) next to the same aggregate in
DuckDB reading the same SQLite file, and a naive version that reads the period's rows into Python.
Targets on SQLite: a month < 100 ms, a year < 1 s.

What is timed: `compute(conn, period, by="department")` on an open connection, best of three: the
report's computation. Apart from that, the whole `listener report --by department --format json`
command as a user runs it (a new Python process: imports, config, engine, the report, the JSON).

    pip install '.[bench]'
    python bench/report.py [--mentions 1000000] [--db /tmp/listener-report.db] [--keep]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from listener.reports.figures import compute
from listener.reports.periods import Period
from listener.store.engine import make_engine, upgrade

START = datetime(2025, 12, 1, tzinfo=UTC)
DAYS = 365
NOW = datetime(2026, 12, 1, tzinfo=UTC)
DEPARTMENTS = ["communications", "customer-service", "marketing", "press"]
LABELS = np.array(["praise", "criticism", "neutral"])
MONTH = Period("2026-10", date(2026, 10, 1), date(2026, 10, 31))
YEAR = Period("year", date(2025, 12, 1), date(2026, 11, 30))
BATCH = 50_000


def stamp(seconds: np.ndarray) -> list[str]:
    """Times as SQLAlchemy stores them in SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff', UTC."""
    base = np.datetime64(START.replace(tzinfo=None), "us")
    values = base + (seconds * 1e6).astype("timedelta64[us]")
    return [s.replace("T", " ") for s in np.datetime_as_string(values, unit="us")]


def generate(path: Path, n: int, seed: int = 1) -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    rng = np.random.default_rng(seed)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    created = START.strftime("%Y-%m-%d %H:%M:%S.%f")
    db.executemany("INSERT INTO sources (id, name, connector, url, enabled, in_config, interval_s, next_poll_at, "
                   "failures, polls_with_new, silent, created_at) VALUES (?, ?, 'rss', '', 1, 1, 900, ?, 0, 0, 0, ?)",
                   [(i + 1, f"source-{i}", created, created) for i in range(8)])
    db.executemany("INSERT INTO departments (id, name, in_config) VALUES (?, ?, 1)",
                   [(i + 1, name) for i, name in enumerate(DEPARTMENTS)])
    for first in range(0, n, BATCH):
        count = min(BATCH, n - first)
        ids = np.arange(first + 1, first + count + 1)
        span = DAYS * 86400 / n  # ids follow time, as they do when mentions arrive
        published = np.sort(rng.uniform(first * span, (first + count) * span, count))
        lag = rng.exponential(300, count)
        labels = LABELS[rng.choice(3, count, p=[0.3, 0.2, 0.5])]
        question = rng.random(count) < 0.15
        own = rng.random(count) < 0.02
        source = rng.integers(1, 9, count)
        pub_s, seen_s = stamp(published), stamp(published + lag)
        db.executemany(
            "INSERT INTO mentions (id, source_id, external_id, platform, url, author_name, author_handle, title, text, "
            "lang, label, score, question, published_at, first_seen_at, content_hash, own, model_label, detection_lag_s) "
            "VALUES (?, ?, ?, 'rss', ?, 'Någon', '@nagon', '', ?, 'sv', ?, 0.0, ?, ?, ?, ?, ?, ?, ?)",
            [(int(i), int(s), f"e{i}", f"https://example.org/{i}", "En kommentar om leveransen som tog för lång tid. " * 3,
              str(lb), bool(q), p, fs, f"{i:064x}", bool(o), str(lb), float(lg))
             for i, s, lb, q, p, fs, o, lg in zip(ids, source, labels, question, pub_s, seen_s, own, lag, strict=True)],
        )
        routes = []
        for extra in (False, True):
            pick = rng.random(count) < (0.2 if extra else 1.0)
            department = rng.integers(1 + extra, 3 + extra, count)  # the second route goes elsewhere
            answered = rng.random(count) < 0.6
            response = rng.lognormal(np.log(3 * 3600), 1.0, count)
            business = response * rng.uniform(0.3, 1.0, count)
            with_sla = department == 2
            responded_s = stamp(published + response)
            due_s = stamp(published + 4 * 3600)
            for k in np.flatnonzero(pick):
                routes.append((
                    int(ids[k]), int(department[k]), responded_s[k] if answered[k] else None,
                    float(response[k]) if answered[k] else None, float(business[k]) if answered[k] else None,
                    due_s[k] if with_sla[k] else None,
                ))
        db.executemany("INSERT OR IGNORE INTO mention_routes (mention_id, department_id, priority, rule, "
                       "first_response_at, response_s, business_response_s, due_at) VALUES (?, ?, 'normal', 'r', ?, ?, ?, ?)",
                       routes)
        db.commit()
    db.execute("ANALYZE")
    db.commit()
    db.close()


def best(fn, runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def listener_figures(engine, period: Period):
    with engine.connect() as conn:
        return compute(conn, period, now=NOW, by="department")


DUCKDB_SQL = """
WITH m AS (
  SELECT id, label, question, detection_lag_s AS lag
  FROM db.mentions WHERE published_at >= ? AND published_at < ? AND NOT own
)
SELECT d.name, count(*) AS mentions,
       count(*) FILTER (WHERE m.label = 'criticism') AS criticism,
       count(*) FILTER (WHERE r.first_response_at IS NOT NULL) AS answered,
       quantile_cont(r.response_s, 0.5) AS median_s, quantile_cont(r.response_s, 0.9) AS p90_s,
       quantile_cont(r.business_response_s, 0.5) AS business_median_s,
       count(*) FILTER (WHERE r.first_response_at <= r.due_at) /
         nullif(count(*) FILTER (WHERE r.due_at IS NOT NULL AND (r.first_response_at IS NOT NULL OR r.due_at <= ?)), 0)
         AS sla_met_share,
       quantile_cont(m.lag, 0.5) AS lag_median_s
FROM m JOIN db.mention_routes r ON r.mention_id = m.id JOIN db.departments d ON d.id = r.department_id
GROUP BY d.name ORDER BY d.name
"""


def duckdb_connection(path: Path):
    import duckdb

    conn = duckdb.connect()
    try:
        import duckdb_extension_sqlite_scanner as offline  # the extension from PyPI: no download at run time

        extension = next(Path(offline.__file__).parent.glob("extensions/*/sqlite_scanner.duckdb_extension"))
        conn.execute(f"LOAD '{extension}'")
    except ImportError:
        conn.execute("INSTALL sqlite; LOAD sqlite")
    conn.execute(f"ATTACH '{path}' AS db (TYPE sqlite, READ_ONLY)")
    conn.execute("SET sqlite_all_varchar = false")
    return conn


def duckdb_figures(conn, period: Period):
    start, end = (t.replace(tzinfo=None) for t in (period.start, period.end))
    return conn.execute(DUCKDB_SQL, [start, end, NOW.replace(tzinfo=None)]).fetchall()


def naive_figures(path: Path, period: Period) -> dict:
    """Read every route of the period into Python and aggregate there: what a first script does."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT d.name, m.label, r.response_s FROM mentions m JOIN mention_routes r ON r.mention_id = m.id "
        "JOIN departments d ON d.id = r.department_id WHERE m.published_at >= ? AND m.published_at < ? AND m.own = 0",
        [period.start.strftime("%Y-%m-%d %H:%M:%S"), period.end.strftime("%Y-%m-%d %H:%M:%S")],
    ).fetchall()
    db.close()
    out: dict = {}
    for name, _label, response in rows:
        out.setdefault(name, []).append(response)
    return {k: (len(v), statistics.median([x for x in v if x is not None])) for k, v in out.items()}


def cli_seconds(path: Path, period: Period) -> float:
    """Wall time of the whole `listener report` command, best of three."""
    config = path.with_suffix(".toml")
    config.write_text(f'[store]\nurl = "sqlite:///{path}"\n', encoding="utf-8")
    command = [sys.executable, "-m", "listener", "-c", str(config), "report", "--by", "department", "--format", "json",
               "--period", f"{period.first.isoformat()}..{period.last.isoformat()}"]
    return best(lambda: subprocess.run(command, check=True, capture_output=True))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--keep", action="store_true", help="reuse --db if it exists")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "listener-report.db"
    if not (args.keep and path.exists()):
        path.unlink(missing_ok=True)
        started = time.perf_counter()
        generate(path, args.mentions)
        print(f"generated {args.mentions:,} mentions in {time.perf_counter() - started:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB): {path}")
    engine = make_engine(f"sqlite:///{path}")
    try:
        duck = duckdb_connection(path)
    except Exception as exc:  # noqa: BLE001 - the comparison is optional; say why it is missing
        duck = None
        print(f"DuckDB comparison skipped: {exc}")
    print(f"{'':28} {'month':>10} {'year':>10}")
    results = {}
    for name, fn in (("listener (SQLite)", lambda p: listener_figures(engine, p)),
                     ("DuckDB over the SQLite file", (lambda p: duckdb_figures(duck, p)) if duck else None),
                     ("naive: rows into Python", lambda p: naive_figures(path, p))):
        if fn is None:
            continue
        month, month_result = best(lambda fn=fn: fn(MONTH))
        year, _ = best(lambda fn=fn: fn(YEAR), runs=1 if name.startswith("naive") else 3)
        results[name] = (month, year, month_result)
        print(f"{name:28} {month * 1000:8.0f} ms {year * 1000:8.0f} ms")
    listener_month, listener_year, figures = results["listener (SQLite)"]
    naive_month, naive_year, _ = results["naive: rows into Python"]
    print(f"listener vs naive: {naive_month / listener_month:.1f}x (month), {naive_year / listener_year:.1f}x (year)")
    print(f"targets: month < 100 ms: {'met' if listener_month < 0.1 else 'MISSED'}; "
          f"year < 1 s: {'met' if listener_year < 1 else 'MISSED'}")
    print(f"{'listener report (the command)':28} {cli_seconds(path, MONTH) * 1000:8.0f} ms "
          f"{cli_seconds(path, YEAR) * 1000:8.0f} ms")
    cs = figures["customer-service"]
    print(f"customer-service, {MONTH.name}: {cs.mentions} mentions, answered {cs.answered_share:.0%}, "
          f"median {cs.first_response_median_s / 3600:.2f} h, p90 {cs.first_response_p90_s / 3600:.2f} h, "
          f"SLA met {cs.sla_met_share:.0%}")
    if duck is not None:
        duck_row = next(r for r in results["DuckDB over the SQLite file"][2] if r[0] == "customer-service")
        print(f"DuckDB agrees: {duck_row[1]} mentions, median {duck_row[4] / 3600:.2f} h")


if __name__ == "__main__":
    main()
