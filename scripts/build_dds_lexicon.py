"""Build lexicons/da_dds.tsv from the Danish Sentiment Lexicon (DDS 0.2, CC BY-SA 4.0).

DDS (Det Danske Sentimentleksikon) by Sanni Nimb, Sussi Olsen and Thomas Troelsgård, published by
Det Danske Sprog- og Litteraturselskab (DSL) and Center for Sprogteknologi, Københavns Universitet
(CST): 14,008 headwords with a polarity of -5..5 and all their word forms. This keeps the forms of
headwords with a polarity of at least 2 either way, rescaled to listener's -4..4 (a form of several
headwords gets their mean), one line per form, sorted. The mildest headwords (±1: "alvor",
"forbehold", "kritik") are left out: measured on the Danish evaluation items used for tuning, they
turn neutral sentences into opinions (macro-F1 0.690 with them, 0.710 without, 0.713 before DDS).
Forms shorter than three letters ("a", the imperative of "ae") and forms among Danish's 2,000 most
frequent words ("helt" is a hero and also "completely") are left out too: an everyday word's
sense in DDS is too often not the one in a sentence. The result is a derivative of DDS and under
CC BY-SA 4.0 too.

    python scripts/build_dds_lexicon.py path/to/2_headword_headword_polarity.csv
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path

from listener.classify import frequencies
from listener.classify.lexicon import EVERYDAY

OUT = Path(__file__).parent.parent / "src/listener/classify/lexicons/da_dds.tsv"
SCALE = 0.8
MIN_POLARITY = 2
HEADER = """# Danish valences from DDS, the Danish Sentiment Lexicon (Det Danske Sentimentleksikon) v0.2,
# 2022-12-20, compiled by Sanni Nimb, Sussi Olsen and Thomas Troelsgård; published by Det Danske
# Sprog- og Litteraturselskab (DSL) and Center for Sprogteknologi, Københavns Universitet (CST).
# https://github.com/dsldk/danish-sentiment-lexicon - CC BY-SA 4.0
# (https://creativecommons.org/licenses/by-sa/4.0/). Changed for listener: headwords of polarity
# -1 and 1, forms under three letters and Danish's 2,000 most frequent words left out; every word form of the others listed with its headword's polarity rescaled
# from -5..5 to -4..4 (the mean where a form belongs to several headwords). This file is
# likewise under CC BY-SA 4.0.
"""


def main() -> None:
    source = Path(sys.argv[1])
    everyday = frequencies.common("da", EVERYDAY)
    values: dict[str, list[float]] = defaultdict(list)
    with source.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            polarity = int(row[4])
            if abs(polarity) < MIN_POLARITY:
                continue
            for form in {row[0], *row[5].split(";")}:
                form = form.strip().lower()
                if len(form) >= 3 and " " not in form and not form.endswith("'") and form not in everyday:
                    values[form].append(polarity * SCALE)
    lines = [f"{form}\t{round(sum(v) / len(v), 2):g}" for form, v in sorted(values.items())]
    OUT.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(lines):,} forms")


if __name__ == "__main__":
    main()
