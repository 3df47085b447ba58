"""Build the word-frequency table listener's language ID weighs next to py3langid's n-grams.

The table holds, for each word in wordfreq's "small" lists for Swedish, Danish, Norwegian Bokmål
and English (~30,000 words each), its frequency per language in centibels (100 × log10 of the
frequency; -600 is once in a million words), blank where the language's list lacks it. Whole
words tell Danish from Norwegian where their shared letter n-grams cannot ("brud"/"brudd",
"procent"/"prosent"). The data is wordfreq's, CC BY-SA 4.0 (see NOTICE). Run after upgrading
wordfreq:

    pip install wordfreq && python scripts/build_word_frequencies.py
"""

import gzip
import math
from importlib.metadata import version
from pathlib import Path

import wordfreq

LANGS = {"sv": "sv", "da": "da", "no": "nb", "en": "en"}
OUT = Path(__file__).parent.parent / "src/listener/classify/wordfreq.tsv.gz"


def main() -> None:
    tables = {lang: wordfreq.get_frequency_dict(code, wordlist="small") for lang, code in LANGS.items()}
    words = sorted(set().union(*tables.values()))
    header = "\t".join(["# word", *LANGS])
    lines = [f"{header}\t(centibels; wordfreq {version('wordfreq')}, CC BY-SA 4.0)"]
    for word in words:
        if "\t" in word or "\n" in word:
            continue
        cells = [str(round(100 * math.log10(t[word]))) if word in t else "" for t in tables.values()]
        lines.append("\t".join([word, *cells]))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    OUT.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))  # mtime=0: the same bytes on every build
    print(f"{OUT}: {len(lines) - 1:,} words, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
