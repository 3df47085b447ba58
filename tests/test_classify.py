import json

import pytest
from click.testing import CliRunner
from conftest import write_config

from listener.classify import classify
from listener.classify.lexicon import respell, words
from listener.classify.sentiment import sentences
from listener.cli import cli
from listener.domain import Label


@pytest.mark.parametrize("text, lang, label", [
    ("Fantastisk bra service, tack så mycket!", "sv", Label.PRAISE),
    ("Värdelös kundtjänst, jag är så besviken.", "sv", Label.CRITICISM),
    ("Tusind tak, I er fantastiske!", "da", Label.PRAISE),
    ("Elendig service, jeg er meget skuffet.", "da", Label.CRITICISM),
    ("Tusen takk for hjelpen, dere er helt fantastiske!", "no", Label.PRAISE),
    ("Elendig kundeservice, jeg er veldig skuffet.", "no", Label.CRITICISM),
    ("Great support, thank you so much!", "en", Label.PRAISE),
    ("Terrible service, I am really disappointed.", "en", Label.CRITICISM),
    ("Butikken åbner klokken ni.", "da", Label.NEUTRAL),
])
def test_language_and_label(text, lang, label):
    result = classify(text)
    assert (result.lang, result.label) == (lang, label)
    assert -1 <= result.score <= 1


@pytest.mark.parametrize("text, lang", [
    ("Nice", "en"), ("Thank you!", "en"), ("Good job", "en"),
    ("Bra jobbat", "sv"), ("Tack för hjälpen", "sv"),
    ("Tak for hjælpen", "da"), ("Godt klaret", "da"),
    ("Takk for hjelpen", "no"), ("Fint", "no"),
])
def test_a_lone_word_of_thanks_or_praise_is_praise(text, lang):
    assert classify(text, lang).label == Label.PRAISE


@pytest.mark.parametrize("text, lang", [
    ("Appen fungerer ikke.", "no"),
    ("Svaret kom fort.", "no"),
    ("Kjempebra kundeservice.", "no"),
    ("Hold da op.", "da"),
    ("Ingen svarar i telefon.", "sv"),
])
def test_whole_words_tell_close_languages_apart(text, lang):
    """Short texts whose letter n-grams alone point to a neighbouring language."""
    assert classify(text).lang == lang


@pytest.mark.parametrize("text, lang, label", [
    ("Personalet var uvenligt.", "da", Label.CRITICISM),
    ("Personalen var ohjälpsam.", "sv", Label.CRITICISM),
    ("Betjeningen var uhøflige.", "no", Label.CRITICISM),
    ("Hvorfor svarer I ikke?", "da", Label.CRITICISM),
    ("Why haven't you answered my email?", "en", Label.CRITICISM),
    ("Det tok altfor lang tid.", "no", Label.CRITICISM),
    ("Leveransen tog alldeles för lång tid.", "sv", Label.CRITICISM),
])
def test_complaints_without_a_negative_word(text, lang, label):
    """A prefix that negates, a why-not question and "too long" complain with no word that does."""
    assert classify(text, lang).label == label


@pytest.mark.parametrize("text, lang", [
    ("Här är uppgifterna du bad om.", "sv"),       # "gift" is poison, but not here
    ("Olika priser gäller i olika länder.", "sv"),  # "olika" is not a negated "lika"
    ("Vi har åbnet fire nye butikker.", "da"),      # "fire" is four
    ("Tilbuddet er gældende for danske kunder.", "da"),
    ("Taket er nytt.", "no"),                       # the roof, not "tak" (thanks)
])
def test_everyday_words_are_not_read_through_their_parts(text, lang):
    assert classify(text, lang).label == Label.NEUTRAL


@pytest.mark.parametrize("positive, negated, lang", [
    ("Det var bra", "Det var inte bra", "sv"),
    ("Jag gillar det", "Jag gillar inte det", "sv"),   # the negator after the verb
    ("Det var godt", "Det var ikke godt", "da"),
    ("Det var bra", "Det var ikkje bra", "no"),
    ("It was good", "It was not good", "en"),
])
def test_negation_flips(positive, negated, lang):
    assert classify(positive, lang).score > 0 > classify(negated, lang).score


@pytest.mark.parametrize("text, lang", [
    ("Leveransen har inte kommit, helt värdelöst", "sv"),
    ("Pakken er ikke kommet, helt elendigt", "da"),
    ("Pakken har ikke kommet; helt elendig", "no"),
    ("The parcel did not arrive: terrible service", "en"),
])
def test_negation_stops_at_a_clause_boundary(text, lang):
    """The negator belongs to the first clause; the complaint after the comma is not flipped."""
    assert classify(text, lang).label == Label.CRITICISM
    negator = next(w for w in ("inte", "ikke", "not") if f" {w} " in text)
    assert classify(text.replace(f" {negator} ", " "), lang).label == Label.CRITICISM


def test_an_emoticon_after_the_full_stop_belongs_to_the_sentence_before():
    text = "I am off to another meeting today. TTYL! :)"
    assert sentences(text) == ["I am off to another meeting today.", "TTYL! :)"]
    assert classify(text, "en").label == Label.PRAISE
    assert sentences("Bra jobbat! 😍") == ["Bra jobbat!", "😍"]  # emoji stand alone, as tuned


@pytest.mark.parametrize("intensified, alone, lang", [
    ("Det blev ju skit snyggt", "Skit!", "sv"),
    ("Det blev ju fan snyggt", "Fan!", "sv"),
])
def test_an_intensifier_before_a_word_of_sentiment_has_none_of_its_own(intensified, alone, lang):
    assert classify(intensified, lang).label == Label.PRAISE
    assert classify(alone, lang).label == Label.CRITICISM


@pytest.mark.parametrize("plain, intensified, lang", [
    ("Det var bra", "Det var väldigt bra", "sv"),
    ("Det var godt", "Det var meget godt", "da"),
    ("Det var bra", "Det var kjempebra", "no"),
    ("It was good", "It was extremely good", "en"),
    ("It was good", "It was GOOD", "en"),
    ("It was good", "It was good!!!", "en"),
])
def test_intensifiers_raise_the_score(plain, intensified, lang):
    assert classify(intensified, lang).score > classify(plain, lang).score > 0


def test_emoji_and_emoticons_carry_sentiment():
    assert classify("Leveransen 😡", "sv").label == Label.CRITICISM
    assert classify("Leveransen 😍😍", "sv").label == Label.PRAISE
    assert classify("Leveransen :(", "sv").score < 0
    assert classify("Pakken kom 👍🏽", "da").score > 0  # a skin tone does not hide the emoji
    assert classify("Pakken kom :D", "da").label == Label.PRAISE  # emoticons keep their case
    assert classify("XOXO", "en").score == classify("xoxo", "en").score > 0


def test_handles_links_and_names_carry_no_sentiment():
    assert classify("@happy_customer https://example.com/great", "en").label == Label.NEUTRAL
    assert classify("@anonymous Yaaaay!", "en").label == Label.PRAISE
    # "Brandt" is a name, not "brand" (fire) with an inflection
    assert classify("Advokat Jon Brandt er blevet beskikket som bisidder.", "da").label == Label.NEUTRAL


def test_but_weighs_what_follows():
    assert classify("The food was good but the service was terrible", "en").label == Label.CRITICISM


def test_one_sharp_complaint_in_a_long_neutral_post_is_criticism():
    neutral = " ".join(f"Vi besökte butiken på gatan nummer {n} under eftermiddagen." for n in range(30))
    post = neutral + " Personalen var otroligt otrevlig och leveransen var en katastrof. " + neutral
    result = classify(post, "sv")
    assert result.label == Label.CRITICISM
    assert classify(neutral, "sv").label == Label.NEUTRAL


def test_questions_are_flagged_even_when_neutral():
    for text, lang in [("Hvornår åbner butikken?", "da"), ("När öppnar ni", "sv"), ("Kva kostar det", "no"),
                       ("How do I reset my password", "en")]:
        result = classify(text, lang)
        assert result.question and result.label == Label.NEUTRAL
    assert not classify("Butiken öppnar nio.", "sv").question


def test_norwegian_codes_and_source_language_hint():
    assert classify("Det var bra", "nb").lang == "no"
    assert classify("Det var bra", "nn").lang == "no"
    assert classify("😍😍", default_lang="da").lang == "da"


def test_deterministic_and_robust_to_hostile_input():
    text = "Fantastisk!! \x00\u202e <script>alert(1)</script> " + "😀" * 1000
    assert classify(text) == classify(text)
    assert classify("").label == Label.NEUTRAL
    assert classify("1234 5678 !!!! ????").label == Label.NEUTRAL


def test_scandinavian_respelling_borrows_words():
    assert respell("dejlig", "da", "no") == "deilig"
    assert respell("kærlighed", "da", "no") == "kjærlighet"
    assert "deilig" in words("no") and "strålende" in words("da")


def test_classify_command(tmp_path):
    result = CliRunner().invoke(cli, ["-c", str(write_config(tmp_path, "")), "classify", "Tusen takk for hjelpen, dere er helt fantastiske!", "Elendig service, jeg er skuffet"])
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and len(lines) == 2
    assert lines[0].startswith("no\tpraise\t+") and lines[1].split("\t")[1] == "criticism"


def test_eval_command(tmp_path):
    data = tmp_path / "labelled.jsonl"
    rows = [
        {"text": "Fantastisk bra service, tack så mycket!", "lang": "sv", "label": "praise"},
        {"text": "Värdelös kundtjänst, jag är så besviken.", "lang": "sv", "label": "criticism"},
        {"text": "Butiken öppnar klockan nio på måndag.", "lang": "sv", "label": "neutral"},
        {"text": "Great support, thank you so much!", "lang": "en", "label": "praise"},
        {"text": "Terrible service, I am really disappointed.", "lang": "en", "label": "criticism"},
        {"text": "Tusen takk for hjelpen!", "lang": "nb", "label": "criticism"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-c", str(write_config(tmp_path, "")), "eval", str(data), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["languages"]["sv"] | {} and report["languages"]["sv"]["n"] == 3
    assert report["languages"]["sv"]["accuracy"] == 1.0 and report["languages"]["sv"]["macro_f1"] == 1.0
    assert report["languages"]["no"]["accuracy"] == 0.0  # gold says criticism; it is praise
    assert report["languages"]["no"]["confusion"]["criticism"]["praise"] == 1
    assert report["overall"]["n"] == 6 and report["overall"]["lang_accuracy"] == 1.0
    table = CliRunner().invoke(cli, ["-c", str(write_config(tmp_path, "")), "eval", str(data)]).stdout
    assert table.splitlines()[0].split() == ["lang", "n", "accuracy", "macro_f1", "lang_id"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "lang": "sv", "label": "happy"}\n')
    result = CliRunner().invoke(cli, ["-c", str(write_config(tmp_path, "")), "eval", str(bad)])
    assert result.exit_code == 1 and 'bad.jsonl:1: label "happy" is not one of' in result.output


DANISH_BLOG = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Kommentarer til: Vores nye butik</title><link>https://blog.example.dk/</link>
<generator>https://wordpress.org/?v=6.6.2</generator>
<item><title>Af: Mette</title><link>https://blog.example.dk/butik/#comment-11</link>
<dc:creator><![CDATA[Mette]]></dc:creator><pubDate>Mon, 23 Nov 2026 09:00:00 +0000</pubDate>
<guid isPermaLink="false">https://blog.example.dk/?p=7#comment-11</guid>
<content:encoded><![CDATA[<p>Jeg har ventet tre uger på min pakke, og ingen svarer på mine mails. Det er simpelthen elendig service, og jeg er meget skuffet.</p>]]></content:encoded></item>
<item><title>Af: Lars</title><link>https://blog.example.dk/butik/#comment-12</link>
<dc:creator><![CDATA[Lars]]></dc:creator><pubDate>Mon, 23 Nov 2026 10:00:00 +0000</pubDate>
<guid isPermaLink="false">https://blog.example.dk/?p=7#comment-12</guid>
<content:encoded><![CDATA[<p>Tusind tak for den hurtige hjælp i går, I er fantastiske! 😍</p>]]></content:encoded></item>
</channel></rss>"""


def test_a_polled_danish_blog_is_stored_with_language_and_label(tmp_path, server, db_url):
    url = server.add("/kommentarer", body=DANISH_BLOG.encode())
    path = write_config(tmp_path, f'[[sources]]\nname = "dk-blog"\nconnector = "rss"\nurl = "{url}"\n', db_url)
    run = lambda *a: CliRunner().invoke(cli, ["-c", str(path), *a])  # noqa: E731
    assert run("poll").exit_code == 0
    rows = {r["author"]: r for r in map(json.loads, run("mentions", "--format", "json").stdout.splitlines())}
    assert (rows["Mette"]["lang"], rows["Mette"]["label"]) == ("da", "criticism")
    assert (rows["Lars"]["lang"], rows["Lars"]["label"]) == ("da", "praise")
    assert rows["Mette"]["score"] < 0 < rows["Lars"]["score"]
    assert [r["author"] for r in map(json.loads, run("mentions", "--label", "criticism", "--format", "json").stdout.splitlines())] == ["Mette"]

    result = run("reclassify", "--since", "2026-01-01")
    assert result.exit_code == 0 and result.stdout == "reclassified 2 mentions\n"


def test_stretched_words_count_as_emphasis():
    assert classify("It was sooo goooood", "en").score > classify("It was good", "en").score > 0
    assert classify("Grymmmt bra!!", "sv").label == Label.PRAISE
