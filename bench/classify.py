"""Classifier speed: texts/s on one core, for short texts and for blog-length texts, next to
TextBlob in the same run, with a learned model too; the start-up time (import + first
classification, a fresh process); and the memory the classifier adds to a fresh process.

The texts are generated from everyday Swedish, Danish, Norwegian and English sentences, so the
benchmark needs nothing outside this repository.

    python bench/classify.py [--texts 20000]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time

from textblob import TextBlob

from listener.classify import classify, learn

SENTENCES = {
    "sv": ["Leveransen kom i tid och paketet var helt", "Kundtjänsten svarade inte på mitt mejl",
           "Jättebra service, tack för hjälpen", "Varför tar det så lång tid att få svar",
           "Appen kraschar varje gång jag loggar in", "Personalen i butiken var trevlig och kunnig"],
    "da": ["Pakken kom for sent og var gået i stykker", "Tusind tak for den hurtige hjælp",
           "Hvornår åbner butikken igen efter ombygningen", "Jeg er meget skuffet over kundeservicen",
           "Det var en dejlig oplevelse i jeres butik", "Ingen har svaret på min klage endnu"],
    "no": ["Pakken kom fram i tide og alt var i orden", "Kundeservice svarer aldri på telefonen",
           "Tusen takk for god hjelp i går", "Hvorfor må jeg vente tre uker på en refusjon",
           "Nettsiden er treg og vanskelig å bruke", "Veldig fornøyd med kjøpet, anbefales"],
    "en": ["The delivery arrived on time and in perfect shape", "Nobody answers the support line",
           "Thanks for the quick help yesterday", "Why does a refund take three weeks",
           "The app crashes every time I log in", "Staff were friendly and knew their stuff"],
}
EMOJI = ["", "", "", " 😍", " 😡", " 👍", "!", "?", " :("]


def short_texts(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        lang = rng.choice(list(SENTENCES))
        out.append(" ".join(rng.sample(SENTENCES[lang], 2)) + rng.choice(EMOJI) + f" #{rng.randint(1, 999)}")
    return out


def unseen_word_texts(n: int, rng: random.Random) -> list[str]:
    """Short texts where every third word is one the classifier has never seen (names, typos)."""
    letters = "abdefghijklmnoprstuvyåäöæø"
    out = []
    for text in short_texts(n, rng):
        words = text.split()
        for i in range(0, len(words), 3):
            words[i] = "".join(rng.choice(letters) for _ in range(rng.randint(4, 9)))
        out.append(" ".join(words))
    return out


def blog_texts(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        lang = rng.choice(list(SENTENCES))
        out.append(". ".join(rng.choice(SENTENCES[lang]) + f" {rng.randint(1, 99)}" for _ in range(60)) + ".")
    return out


def rate(fn, texts: list[str]) -> float:
    """Texts per CPU-second of this process: on a machine shared with other work, wall-clock time
    measures the neighbours too."""
    started = time.process_time()
    for text in texts:
        fn(text)
    return len(texts) / (time.process_time() - started)


def startup() -> float:
    code = "import time; t=time.perf_counter(); from listener.classify import classify; classify('Tack för hjälpen!'); print(time.perf_counter()-t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(3)]
    return min(runs)


MEMORY = """
import listener.cli, numpy
def status():
    out = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS", "RssAnon", "RssFile")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out
before = status()
from listener.classify import classify, learn
for text, lang in [("Tack för hjälpen!", None), ("Tusind tak for hjælpen", None), ("Tusen takk", None),
                   ("Thanks a lot", None), ("Wann öffnet ihr?", None)] + [("x", l) for l in ("sv", "da", "no", "en")]:
    classify(text, lang)
after = status()
print(*(round(after[k] - before[k], 1) for k in ("VmRSS", "RssAnon", "RssFile")), round(before["VmRSS"], 1))
"""


def memory() -> tuple[float, float, float, float]:
    """MB added by loading the classifier (every language's lexicon and the language model) to a
    fresh process that has imported the CLI and numpy: resident, private (anonymous) and
    file-backed (memory-mapped tables, shared by every process that maps them); and that base."""
    out = subprocess.run([sys.executable, "-c", MEMORY], capture_output=True, text=True, check=True).stdout
    return tuple(float(x) for x in out.split()[-4:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=20_000, help="short texts (default 20000)")
    args = parser.parse_args()
    rng = random.Random(7)
    short, blogs = short_texts(args.texts, rng), blog_texts(max(50, args.texts // 100), rng)
    print(f"short texts: {sum(map(len, short)) / len(short):.0f} chars; blog texts: {sum(map(len, blogs)) / len(blogs):,.0f} chars")
    for text in short_texts(2_000, random.Random(1)):  # steady state: a running daemon has seen words before
        classify(text)
    ours_short, ours_blog = rate(classify, short), rate(classify, blogs)
    ours_unseen = rate(classify, unseen_word_texts(args.texts, rng))
    tb_short, tb_blog = rate(lambda t: TextBlob(t).sentiment, short), rate(lambda t: TextBlob(t).sentiment, blogs)
    labels = [(t, None, rng.choice(["praise", "criticism", "neutral"])) for t in short_texts(10_000, rng)]
    started = time.process_time()
    model = learn(labels)
    trained = time.process_time() - started
    for text in short[:2_000]:
        classify(text, model=model)
    learned_short = rate(lambda t: classify(t, model=model), short)
    print(f"{'':28} {'short texts/s':>14} {'blog texts/s':>13}")
    print(f"{'listener (lang + label)':28} {ours_short:>14,.0f} {ours_blog:>13,.0f}")
    print(f"{'TextBlob (polarity only)':28} {tb_short:>14,.0f} {tb_blog:>13,.0f}")
    print(f"{'listener + learned model':28} {learned_short:>14,.0f}")
    print(f"listener, short texts with every third word unseen: {ours_unseen:,.0f} texts/s")
    print(f"learned model: trained on 10,000 labels in {trained:.1f} s")
    print(f"ratio listener/TextBlob: short {ours_short / tb_short:.1f}x, blog {ours_blog / tb_blog:.1f}x (target >= 10,000 short texts/s)")
    print(f"start-up (import + first classification, best of 3 fresh processes): {startup():.2f} s (target < 1 s)")
    resident, private, mapped, base = memory()
    print(f"memory added by the classifier: {resident:.0f} MB resident = {private:.0f} MB private + {mapped:.0f} MB "
          f"memory-mapped tables shared between processes (base process {base:.0f} MB; target < 60 MB)")


if __name__ == "__main__":
    main()
