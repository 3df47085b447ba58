"""Classifier speed: texts/s on one core, for short texts and for blog-length texts, next to
TextBlob in the same run, and the start-up time (import + first classification, a fresh process).

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

from listener.classify import classify

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
    started = time.perf_counter()
    for text in texts:
        fn(text)
    return len(texts) / (time.perf_counter() - started)


def startup() -> float:
    code = "import time; t=time.perf_counter(); from listener.classify import classify; classify('Tack för hjälpen!'); print(time.perf_counter()-t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(3)]
    return min(runs)


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
    print(f"{'':28} {'short texts/s':>14} {'blog texts/s':>13}")
    print(f"{'listener (lang + label)':28} {ours_short:>14,.0f} {ours_blog:>13,.0f}")
    print(f"{'TextBlob (polarity only)':28} {tb_short:>14,.0f} {tb_blog:>13,.0f}")
    print(f"listener, short texts with every third word unseen: {ours_unseen:,.0f} texts/s")
    print(f"ratio listener/TextBlob: short {ours_short / tb_short:.1f}x, blog {ours_blog / tb_blog:.1f}x (target >= 10,000 short texts/s)")
    print(f"start-up (import + first classification, best of 3 fresh processes): {startup():.2f} s (target < 1 s)")


if __name__ == "__main__":
    main()
