"""Human labels: `listener label`, `labels import|export`, and what reclassify does with them."""

import json

import pytest
from click.testing import CliRunner
from conftest import write_config
from test_classify import DANISH_BLOG

from listener.cli import cli


@pytest.fixture
def run(tmp_path, server, db_url):
    url = server.add("/kommentarer", body=DANISH_BLOG.encode())
    path = write_config(tmp_path, f'[[sources]]\nname = "dk-blog"\nconnector = "rss"\nurl = "{url}"\n', db_url)

    def invoke(*args):
        return CliRunner().invoke(cli, ["-c", str(path), *args])

    assert invoke("poll").exit_code == 0
    return invoke


def _mentions(run, *args) -> dict[str, dict]:
    return {r["author"]: r for r in map(json.loads, run("mentions", "--format", "json", *args).stdout.splitlines())}


def test_a_human_label_is_shown_with_the_models_beside_it_and_survives_reclassify(run):
    mette = _mentions(run)["Mette"]
    assert (mette["label"], mette["model_label"], mette["label_by"]) == ("criticism", "criticism", None)

    result = run("label", str(mette["id"]), "neutral", "--by", "Anna")
    assert result.exit_code == 0 and result.stdout == f"mention {mette['id']}: neutral\n"
    after = _mentions(run)["Mette"]
    assert (after["label"], after["model_label"], after["label_by"]) == ("neutral", "criticism", "Anna")
    assert list(_mentions(run, "--label", "neutral")) == ["Mette"]

    assert run("reclassify").exit_code == 0
    again = _mentions(run)
    assert (again["Mette"]["label"], again["Mette"]["model_label"], again["Mette"]["label_by"]) == ("neutral", "criticism", "Anna")
    assert (again["Lars"]["label"], again["Lars"]["label_by"]) == ("praise", None)

    exported = [json.loads(line) for line in run("labels", "export").stdout.splitlines()]
    assert exported == [{"text": after["text"], "lang": "da", "label": "neutral", "mention_id": mette["id"]}]


def test_label_rejects_an_unknown_mention_and_an_unknown_label(run):
    result = run("label", "999", "praise")
    assert result.exit_code == 1 and "no mention with id 999" in result.output
    result = run("label", "1", "happy")
    assert result.exit_code == 2 and "'happy' is not one of" in result.output


def test_import_is_all_or_nothing_and_names_every_bad_line(run, tmp_path):
    lars = _mentions(run)["Lars"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        json.dumps({"text": "Pakken er stadig ikke kommet", "lang": "da", "label": "criticism"}),
        "{not json",
        json.dumps({"text": "Hej", "lang": "da", "label": "happy"}),
        json.dumps({"text": "Hej", "lang": "da", "label": "neutral", "mention_id": 424242}),
        json.dumps({"lang": "da", "label": "neutral"}),
    ]) + "\n", encoding="utf-8")
    result = run("labels", "import", str(bad))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line.split(":")[1] for line in lines[:4]] == ["2", "3", "4", "5"]
    assert "no mention with id 424242" in lines[2] and "nothing imported" in lines[-1]
    assert run("labels", "export").stdout == ""

    good = tmp_path / "good.jsonl"
    good.write_text("\n".join([
        json.dumps({"text": "Pakken er stadig ikke kommet", "lang": "da", "label": "criticism"}),
        json.dumps({"text": "Tak!", "lang": "da", "label": "praise", "mention_id": lars["id"]}),
        json.dumps({"text": "Wann öffnet ihr?", "lang": "de", "label": "neutral"}),
    ]) + "\n", encoding="utf-8")
    result = run("labels", "import", str(good), "--by", "Import")
    assert result.exit_code == 0 and result.stdout == "imported 3 labels\n"
    exported = [json.loads(line) for line in run("labels", "export").stdout.splitlines()]
    assert {(e["text"], e["lang"], e["label"]) for e in exported} >= {
        ("Pakken er stadig ikke kommet", "da", "criticism"), ("Wann öffnet ihr?", "de", "neutral")}
    assert _mentions(run)["Lars"]["label_by"] == "Import"


def test_a_label_moves_the_report_by_department(run):
    def criticism_and_praise():
        report = json.loads(run("report", "--period", "2000-01-01..2030-12-31", "--by", "department",
                                "--format", "json").stdout)
        row = next(r for r in report["rows"] if r["group"] == "communications")
        return row["criticism"], row["praise"]

    before = criticism_and_praise()
    assert run("label", str(_mentions(run)["Mette"]["id"]), "praise").exit_code == 0
    assert criticism_and_praise() == (before[0] - 1, before[1] + 1)
