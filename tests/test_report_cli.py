"""`listener report` and `listener export` as a user runs them: JSON shape, CSV, HTML, streaming."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from reporting import BASELINE_JANUARY, WEEK_47, M, R, at, insert, run

from listener.cli import cli
from listener.reports.figures import FIGURES
from listener.store import exports

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"&'


def test_json_is_one_object_with_rows_beside_the_baseline(report_store):
    engine, config = report_store
    insert(engine, WEEK_47 + BASELINE_JANUARY)
    out = json.loads(run(config, "report", "--period", "2026-W47", "--baseline", "before-social", "--format", "json"))
    assert out["period"] == {"start": "2026-11-16", "end": "2026-11-22"}
    assert out["baseline"] == {"name": "before-social", "start": "2026-01-01", "end": "2026-01-31"}
    (row,) = out["rows"]
    assert list(row) == ["group", *FIGURES, "pruned", "baseline", "change"]
    assert out["note"] is None and row["pruned"] == 0 and row["baseline"]["pruned"] == 0
    assert row["group"] is None and row["mentions"] == 5 and row["answered_share"] == 0.6
    assert row["baseline"]["mentions"] == 2 and row["baseline"]["neutral"] == 0
    assert row["change"]["neutral"] is None and row["change"]["first_response_median_s"] == 3600.0


def test_json_without_baseline_by_department_and_an_empty_period(report_store):
    engine, config = report_store
    insert(engine, WEEK_47)
    out = json.loads(run(config, "report", "--period", "2026-W47", "--by", "department", "--format", "json"))
    assert out["baseline"] is None
    assert [r["group"] for r in out["rows"]] == ["comms", "cs"]
    assert out["rows"][1]["baseline"] is None and out["rows"][1]["change"] is None
    empty = json.loads(run(config, "report", "--period", "2025-01-01..2025-01-31", "--format", "json"))
    assert empty["rows"] == [{"group": None, **dict.fromkeys(FIGURES), "pruned": 0, "baseline": None, "change": None}]


def test_a_period_can_serve_as_baseline_and_bad_ones_are_one_line(report_store):
    engine, config = report_store
    insert(engine, WEEK_47)
    out = json.loads(run(config, "report", "--period", "2026-W47", "--baseline", "2026-W46", "--format", "json"))
    assert out["baseline"] == {"name": "2026-W46", "start": "2026-11-09", "end": "2026-11-15"}
    assert out["rows"][0]["baseline"]["mentions"] == 1
    result = CliRunner().invoke(cli, ["-c", str(config), "report", "--baseline", "before-socail"])
    assert result.exit_code == 2 and "before-social" in result.output and "Traceback" not in result.output


def test_csv_has_a_column_per_figure_and_one_row_per_group(report_store):
    engine, config = report_store
    insert(engine, WEEK_47 + BASELINE_JANUARY)
    rows = list(csv.DictReader(io.StringIO(run(config, "report", "--period", "2026-W47", "--by", "week",
                                                "--baseline", "before-social", "--format", "csv"))))
    assert [r["group"] for r in rows] == ["2026-W47"]
    assert rows[0]["mentions"] == "5" and rows[0]["baseline_mentions"] == "2" and rows[0]["sla_met_share"].startswith("0.33")
    assert rows[0]["change_neutral"] == ""


def test_table_reads_as_figures_beside_the_baseline(report_store):
    engine, config = report_store
    insert(engine, WEEK_47 + BASELINE_JANUARY)
    out = run(config, "report", "--period", "2026-W47", "--baseline", "before-social")
    assert "2026-W47 (2026-11-16 – 2026-11-22), against before-social" in out
    line = next(line for line in out.splitlines() if line.strip().startswith("First response, median "))
    assert line.split()[-6:] == ["3", "h", "2", "h", "+1", "h"]


def test_html_file_escapes_hostile_group_names_and_has_inline_charts(report_store, tmp_path):
    engine, config = report_store
    insert(engine, [M(at(16), "criticism", routes=[R(HOSTILE, 3600, 3600, 7200)], campaigns=(HOSTILE,)),
                    M(at(17), "praise", routes=[R("cs", 600, 600, 7200)])] + BASELINE_JANUARY)
    page = tmp_path / "report.html"
    run(config, "report", "--period", "2026-W47", "--by", "campaign", "--baseline", "before-social",
        "--format", "html", "-o", str(page))
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "onerror=alert" not in text.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.count('src="data:image/png;base64,') == 4
    assert "http://" not in text and "https://" not in text  # nothing to fetch


def test_table_aligns_every_groups_figures_in_one_column(report_store):
    engine, config = report_store
    insert(engine, [M(at(16), "criticism", routes=[R("cs", 600, 600, 7200)]),
                    M(at(17), "praise", routes=[R("a-much-longer-department", None, None, 7200)])])
    out = run(config, "report", "--period", "2026-W47", "--by", "department")
    ends = {len(line) for line in out.splitlines() if line.startswith("  ") and line.split()[-1][-1].isdigit()
            and not line.strip().startswith("Detection")}
    assert len(ends) == 1, out


def test_html_cards_say_so_when_the_baseline_has_no_data(report_store, tmp_path):
    engine, config = report_store
    insert(engine, [M(at(16), "criticism", routes=[R("cs", 600, 600, 7200)])])
    page = tmp_path / "report.html"
    run(config, "report", "--period", "2026-W47", "--baseline", "before-social", "--format", "html", "-o", str(page))
    text = page.read_text(encoding="utf-8")
    assert text.count('<div class="base">before: no data</div>') == 6 and "before –" not in text

    insert(engine, BASELINE_JANUARY)
    run(config, "report", "--period", "2026-W47", "--baseline", "before-social", "--format", "html", "-o", str(page))
    text = page.read_text(encoding="utf-8")
    assert '<div class="name">Mentions</div><div class="value">1</div><div class="base">before 2 · ' in text


def test_export_streams_every_mention_with_its_routes_across_batches(report_store):
    engine, _ = report_store
    ids = insert(engine, WEEK_47)
    with engine.connect() as conn:
        rows = list(exports.stream(conn, batch=2))  # a two-route mention straddles a batch boundary
    assert [r["id"] for r in rows] == ids
    assert [r["department"] for r in rows[1]["routes"]] == ["comms", "cs"]
    assert rows[1]["routes"][1]["response_s"] == 18000 and rows[6]["routes"][0]["first_response_at"] is None


def test_export_by_author_answers_a_subject_access_request(report_store):
    engine, config = report_store
    insert(engine, [M(at(16), author="Åsa Öberg", handle="@asa"), M(at(17), author="Other", handle="@ÅSA"),
                    M(at(18), author="Someone", handle="@someone")])
    jsonl = [json.loads(line) for line in run(config, "export", "--author", "åsa öberg").splitlines()]
    assert [r["author"] for r in jsonl] == ["Åsa Öberg"]
    by_handle = [json.loads(line) for line in run(config, "export", "--author", "åsa").splitlines()]
    assert [r["author"] for r in by_handle] == ["Other"]


def test_export_csv_and_since(report_store, tmp_path):
    engine, config = report_store
    insert(engine, WEEK_47)
    out = tmp_path / "all.csv"
    run(config, "export", "--format", "csv", "--since", "2026-11-16", "-o", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 6  # the W46 mention is older
    assert rows[1]["departments"] == "comms, cs" and rows[1]["response_s"] == "18000.0"
    assert rows[0]["published_at"] == "2026-11-16T10:00:00Z"


def test_export_memory_stays_flat(report_store, tmp_path):
    """More rows than one batch go through without the whole result held: the cursor is a stream."""
    engine, _ = report_store
    start = datetime(2026, 1, 1, tzinfo=UTC)
    insert(engine, [M(start + timedelta(minutes=i), routes=[R("cs")]) for i in range(2500)])
    with engine.connect() as conn:
        stream = exports.stream(conn, batch=1000)
        first = next(stream)
        assert first["routes"][0]["department"] == "cs"
        assert sum(1 for _ in stream) == 2499
