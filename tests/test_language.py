"""Language ID beyond the four languages listener reads: another language gets its own code."""

import pytest

from listener.classify import classify
from listener.classify.explain import explain
from listener.domain import Label

FOREIGN = {
    "de": ["Das Paket ist schon wieder nicht angekommen, und niemand beantwortet meine E-Mails.",
           "Wann öffnet die neue Filiale in der Innenstadt?",
           "Vielen Dank für die schnelle Hilfe gestern, das war wirklich großartig!"],
    "fi": ["Paketti ei ole vieläkään saapunut, vaikka tilasin sen kolme viikkoa sitten.",
           "Milloin uusi myymälä avataan keskustassa?",
           "Kiitos nopeasta avusta eilen, palvelu oli todella hyvää!"],
    "fr": ["Le colis n'est toujours pas arrivé et personne ne répond à mes courriels.",
           "Quand est-ce que le nouveau magasin ouvre dans le centre-ville ?",
           "Merci beaucoup pour votre aide rapide hier, c'était vraiment formidable !"],
    "es": ["El paquete todavía no ha llegado y nadie contesta a mis correos.",
           "¿Cuándo abre la nueva tienda en el centro de la ciudad?",
           "Muchas gracias por la ayuda rápida de ayer, ¡fue realmente estupendo!"],
    "nl": ["Het pakket is nog steeds niet aangekomen en niemand beantwoordt mijn e-mails.",
           "Wanneer gaat de nieuwe winkel in het centrum open?",
           "Hartelijk dank voor de snelle hulp gisteren, dat was echt geweldig!"],
    "is": ["Pakkinn er ekki enn kominn og enginn svarar tölvupóstunum mínum.",
           "Hvenær opnar nýja verslunin í miðbænum?",
           "Takk kærlega fyrir skjóta hjálp í gær, þetta var alveg frábært!"],
    "pl": ["Paczka wciąż nie dotarła i nikt nie odpowiada na moje maile.",
           "Kiedy otwiera się nowy sklep w centrum miasta?",
           "Bardzo dziękuję za szybką pomoc wczoraj, to było naprawdę wspaniałe!"],
    "it": ["Il pacco non è ancora arrivato e nessuno risponde alle mie email.",
           "Quando apre il nuovo negozio in centro città?",
           "Grazie mille per l'aiuto veloce di ieri, è stato davvero fantastico!"],
}


@pytest.mark.parametrize("lang", sorted(FOREIGN))
def test_a_text_in_another_language_gets_its_own_code_and_is_not_read(lang):
    for text in FOREIGN[lang]:
        result = classify(text)
        assert result.lang == lang, text
        assert (result.label, result.score) == (Label.NEUTRAL, 0.0)
        assert not explain(text).readable


def test_the_four_languages_are_still_told_apart():
    for text, lang in [("Leveransen kom i tid och paketet var helt", "sv"),
                       ("Pakken kom for sent og var gået i stykker", "da"),
                       ("Kundeservice svarer aldri på telefonen", "no"),
                       ("Nobody answers the support line", "en"),
                       ("Tusen takk for god hjelp i går", "no"),
                       ("Kva tid opnar den nye butikken?", "no"),  # Nynorsk
                       ("Kvifor svarar de ikkje på e-posten min?", "no")]:
        assert classify(text).lang == lang


def test_too_short_to_tell_is_never_another_language():
    assert classify("Danke!", default_lang="sv").lang == "sv"
    assert classify("😍😍", default_lang="da").lang == "da"


def _run(code: str, cache: str) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "LISTENER_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return out.splitlines()[-1]  # after any log line


def test_the_language_tables_are_shared_through_the_cache_directory_or_held_in_memory(tmp_path):
    code = ("from listener.classify import classify, language; "
            "print(classify('Wann öffnet die neue Filiale in der Innenstadt?').lang, "
            "classify('Tusind tak for den hurtige hjælp').lang, type(language._model().nextmove).__name__)")
    assert _run(code, str(tmp_path)).split() == ["de", "da", "memoryview"]
    assert sorted(p.name.split("-")[-1] for p in tmp_path.iterdir()) == ["all_ptc.npy", "nextmove.npy"]
    assert _run(code, str(tmp_path)).split() == ["de", "da", "memoryview"]  # the second process maps them
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert _run(code, str(blocked / "cache")).split() == ["de", "da", "array"]
