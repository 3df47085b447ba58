"""The model learned from human labels: what it changes, what it leaves, where it is stored."""

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_config

from listener import learning
from listener.classify import classify, learn
from listener.classify.explain import explain
from listener.classify.learned import LearnedModel
from listener.cli import cli
from listener.domain import Label
from listener.store import labels as label_store
from listener.store import models as model_store
from listener.store.labels import LabelledText

DOMAIN = Path(__file__).parent / "data" / "domain.jsonl"
HELD_OUT = Path(__file__).parent / "data" / "domain-heldout.jsonl"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _domain_halves(seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Per language, half the invented shop, bank and transport texts to learn from, half to test."""
    rows = _rows(DOMAIN)
    rng = random.Random(seed)
    train, test = [], []
    for lang in ("en", "sv", "da", "no"):
        mine = [r for r in rows if r["lang"] == lang]
        rng.shuffle(mine)
        train += mine[: len(mine) // 2]
        test += mine[len(mine) // 2 :]
    return train, test


def _model(rows) -> LearnedModel:
    return learn((r["text"], r["lang"], Label(r["label"])) for r in rows)


@pytest.mark.parametrize("lang", ["en", "sv", "da", "no"])
def test_a_few_dozen_domain_labels_find_complaints_without_sentiment_words_and_keep_questions_neutral(lang):
    """An organisation labels 36 of its own mentions; the model is measured on texts it never saw."""
    pool = [r for r in _rows(DOMAIN) if r["lang"] == lang]
    test = [r for r in _rows(HELD_OUT) if r["lang"] == lang]
    model = _model(random.Random(1).sample(pool, 36))
    complaints = [r for r in test if r["label"] == "criticism"]
    questions = [r for r in test if r["text"].endswith("?")]
    lexicon_found = sum(classify(r["text"], r["lang"]).label == Label.CRITICISM for r in complaints)
    learned_found = sum(classify(r["text"], r["lang"], model=model).label == Label.CRITICISM for r in complaints)
    assert lexicon_found <= len(complaints) // 4
    assert learned_found > len(complaints) // 2
    lexicon_turned = sum(classify(r["text"], r["lang"]).label == Label.CRITICISM for r in questions)
    turned = sum(classify(r["text"], r["lang"], model=model).label == Label.CRITICISM for r in questions)
    assert turned <= lexicon_turned
    praise = [r for r in test if r["label"] == "praise" and classify(r["text"], r["lang"]).label == Label.PRAISE]
    assert praise and all(classify(r["text"], r["lang"], model=model).label == Label.PRAISE for r in praise)


def test_a_language_without_labels_is_left_to_the_lexicon():
    train, _ = _domain_halves()
    model = _model([r for r in train if r["lang"] != "sv"])
    assert not model.knows("sv")
    for text in ("Tredje veckan och paketet har fortfarande inte kommit", "Tack för hjälpen!", "Hur dags öppnar ni?"):
        assert classify(text, "sv", model=model) == classify(text, "sv")


@pytest.mark.parametrize("lang", ["en", "sv", "da", "no"])
def test_labels_that_teach_nothing_leave_the_language_to_the_lexicon(lang):
    """Labels given round-robin, whatever the text says: cross-validation finds they do not help,
    and the model trusts them little or not at all."""
    pool = [r for r in _rows(DOMAIN) if r["lang"] == lang]
    model = learn((r["text"], lang, (Label.PRAISE, Label.CRITICISM, Label.NEUTRAL)[i % 3]) for i, r in enumerate(pool))
    assert model.scale(lang) <= 0.25
    test = [r for r in _rows(HELD_OUT) if r["lang"] == lang]
    changed = sum(classify(r["text"], lang, model=model).label != classify(r["text"], lang).label for r in test)
    assert changed <= 2
    assert LearnedModel.from_bytes(model.to_bytes()).scales == model.scales


def test_a_language_whose_labels_are_not_trusted_is_left_to_the_lexicon():
    pool = [r for r in _rows(DOMAIN) if r["lang"] == "da"]
    model = learn((r["text"], "da", (Label.PRAISE, Label.CRITICISM, Label.NEUTRAL)[i % 3]) for i, r in enumerate(pool))
    assert model.scale("da") == 0.0 and not model.knows("da")
    for r in _rows(HELD_OUT):
        if r["lang"] == "da":
            assert classify(r["text"], "da", model=model) == classify(r["text"], "da")


def test_training_is_deterministic_and_the_model_round_trips_as_bytes():
    train, test = _domain_halves()
    first, second = _model(train), _model(train)
    assert first.to_bytes() == second.to_bytes()
    loaded = LearnedModel.from_bytes(first.to_bytes())
    for r in test:
        assert classify(r["text"], r["lang"], model=loaded) == classify(r["text"], r["lang"], model=first)


def test_a_damaged_model_is_refused_with_a_clear_error():
    try:
        LearnedModel.from_bytes(b"not a model")
    except ValueError as exc:
        assert "learned model unreadable" in str(exc)
    else:
        raise AssertionError("no error")


def test_a_model_of_an_older_format_is_refused_with_a_request_to_retrain(monkeypatch):
    from listener.classify import learned

    model = _model(_domain_halves()[0])
    monkeypatch.setattr(learned, "FORMAT", learned.FORMAT - 1)
    old = model.to_bytes()
    monkeypatch.undo()
    try:
        LearnedModel.from_bytes(old)
    except ValueError as exc:
        assert "retrain with `listener learn`" in str(exc)
    else:
        raise AssertionError("no error")


def test_an_unread_language_is_neutral_unless_the_model_has_labels_in_it():
    text = "Das Paket ist schon wieder nicht angekommen"
    assert (classify(text, "de").label, classify(text, "de").score) == (Label.NEUTRAL, 0.0)
    assert not explain(text, "de").readable
    labels = [("Das Paket ist schon wieder nicht angekommen", "de", Label.CRITICISM),
              ("Schon wieder nicht angekommen, das Paket", "de", Label.CRITICISM),
              ("Wieder kein Paket, schon die dritte Woche", "de", Label.CRITICISM),
              ("Danke, das Paket ist angekommen", "de", Label.PRAISE),
              ("Wann öffnet der Laden?", "de", Label.NEUTRAL)] * 4
    model = learn(labels)
    assert model.knows("de")
    assert classify("Das Paket ist wieder nicht angekommen", "de", model=model).label == Label.CRITICISM


def test_the_model_round_trips_through_the_store_and_retrains_after_enough_new_labels(engine):
    train, test = _domain_halves()
    with engine.begin() as conn:
        label_store.import_labels(conn, [LabelledText(r["text"], r["lang"], Label(r["label"])) for r in train[:19]],
                                  by="t", at=NOW)
    assert learning.retrain_if_due(engine, NOW, after=20) is None
    with engine.begin() as conn:
        label_store.import_labels(conn, [LabelledText(r["text"], r["lang"], Label(r["label"])) for r in train[19:]],
                                  by="t", at=NOW)
    stored = learning.retrain_if_due(engine, NOW + timedelta(seconds=1), after=20)
    assert stored is not None and stored.labels == len(train)
    with engine.connect() as conn:
        loaded = model_store.newest(conn)
        assert model_store.labels_since_newest(conn) == 0
    assert loaded.id == stored.id and loaded.model.to_bytes() == stored.model.to_bytes()
    for r in test:
        assert classify(r["text"], r["lang"], model=loaded.model) == classify(r["text"], r["lang"], model=stored.model)
    assert learning.retrain_if_due(engine, NOW + timedelta(seconds=2), after=20) is None
    current = model_store.Current(engine)
    assert current.get().to_bytes() == stored.model.to_bytes()


def test_a_model_stored_by_an_older_listener_is_retrained_at_once(engine, monkeypatch):
    from listener.classify import learned

    train, _ = _domain_halves()
    with engine.begin() as conn:
        label_store.import_labels(conn, [LabelledText(r["text"], r["lang"], Label(r["label"])) for r in train],
                                  by="t", at=NOW)
    monkeypatch.setattr(learned, "FORMAT", learned.FORMAT - 1)
    old = learning.train(engine, NOW)
    monkeypatch.undo()
    with engine.connect() as conn:
        assert model_store.labels_since_newest(conn) == 0 and model_store.newest_is_outdated(conn)
    stored = learning.retrain_if_due(engine, NOW + timedelta(seconds=1), after=20)
    assert stored is not None and stored.id != old.id and stored.labels == len(train)
    with engine.connect() as conn:
        assert model_store.newest(conn).id == stored.id and not model_store.newest_is_outdated(conn)
    assert learning.retrain_if_due(engine, NOW + timedelta(seconds=2), after=20) is None


def test_explanation_names_the_deciding_words_and_the_learned_features():
    e = explain("Jeg er ikke glad for jeres service", "da")
    glad = next(item for item in e.evidence if item.token == "glad")
    assert glad.valence > 0 > glad.value and any(m.startswith("negated by ikke") for m in glad.modifiers)
    assert e.label == Label.CRITICISM and e.decided_by == "lexicon"

    e = explain("Really very good", "en")
    good = next(item for item in e.evidence if item.token == "good")
    assert any(m.startswith("intensified by") for m in good.modifiers) and good.value > good.valence

    long = "We visited the shop on Monday. The staff moved the shelves. This was the worst service ever. We left at five."
    e = explain(long, "en")
    assert e.label == Label.CRITICISM and e.deciding_sentence == "This was the worst service ever."

    train, _ = _domain_halves()
    model = _model(train)
    e = explain("Still waiting for the refund", "en", model=model)
    assert e.decided_by == "learned model" and e.learned
    assert any("still" in f.name or "waiting" in f.name for f in e.learned)


def _cli(tmp_path, db_url):
    path = write_config(tmp_path, "", db_url)
    return lambda *a: CliRunner().invoke(cli, ["-c", str(path), *a])


def test_learn_classify_and_eval_use_the_newest_model(tmp_path, db_url):
    run = _cli(tmp_path, db_url)
    assert run("learn").exit_code == 1
    train, test = _domain_halves()
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train), encoding="utf-8")
    held_out = tmp_path / "test.jsonl"
    held_out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in test), encoding="utf-8")

    before = json.loads(run("eval", str(held_out), "--format", "json").stdout)
    throwaway = json.loads(run("eval", str(held_out), "--learn-from", str(labels), "--format", "json").stdout)
    assert throwaway["overall"]["macro_f1"] > before["overall"]["macro_f1"] + 0.1
    assert run("labels", "export").stdout == ""  # --learn-from leaves the store alone

    assert run("labels", "import", str(labels)).exit_code == 0
    result = run("learn")
    assert result.exit_code == 0 and result.stdout.startswith(f"model 1: learned from {len(train)} labels (da ")
    after = json.loads(run("eval", str(held_out), "--format", "json").stdout)
    assert after["overall"] == throwaway["overall"]
    lexicon = json.loads(run("eval", str(held_out), "--format", "json", "--no-learned").stdout)
    assert lexicon["overall"] == before["overall"]

    text = "Still waiting for the refund I was promised"
    assert "\tcriticism\t" in run("classify", "--lang", "en", text).stdout
    assert "\tneutral\t" in run("classify", "--lang", "en", "--no-learned", text).stdout
    explained = run("classify", "--lang", "en", "--explain", text).stdout
    assert "decided by the learned model" in explained and 'word "still"' in explained


COMPLAINT_FEED = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Kommentarer</title>
<link>https://blog.example.dk/</link>
<item><title>Sofie</title><link>https://blog.example.dk/#c1</link><guid>c1</guid>
<pubDate>Mon, 23 Nov 2026 09:00:00 +0000</pubDate>
<description>Fjerde uge og pakken er stadig ikke kommet</description></item>
</channel></rss>"""


def test_the_daemon_retrains_after_enough_labels_and_new_mentions_use_the_model(tmp_path, db_url, server, clock):
    import asyncio

    from test_scheduler import make_poller

    from listener.alerts.worker import Deliverer
    from listener.http import HttpClient
    from listener.scheduler import Daemon, Poller

    url = server.add("/feed", body=COMPLAINT_FEED.encode())
    config, engine = make_poller(tmp_path, db_url, clock, {"blog": url})
    assert classify("Fjerde uge og pakken er stadig ikke kommet", "da").label == Label.NEUTRAL
    train, _ = _domain_halves()
    with engine.begin() as conn:
        label_store.import_labels(conn, [LabelledText(r["text"], r["lang"], Label(r["label"])) for r in train],
                                  by="t", at=clock())

    async def go():
        async with HttpClient(config.http) as http:
            poller = Poller(config, engine, http, clock)
            deliverer = Deliverer(config, engine)
            try:
                await Daemon(poller, deliverer).retrain()
                states = poller.claim(names=["blog"])
                await poller.poll(states[0])
            finally:
                await deliverer.aclose()

    asyncio.run(go())
    with engine.connect() as conn:
        assert model_store.newest(conn).labels == len(train)
        from listener.store.mentions import MentionFilter, query

        (row,) = query(conn, MentionFilter())
    assert (row["lang"], row["label"], row["model_label"]) == ("da", "criticism", "criticism")
