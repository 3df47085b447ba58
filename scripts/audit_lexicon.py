"""List a language's frequent words that get a valence the lexicon does not give them directly.

Such a valence comes from a stem ("uppgifter" → "gift"), an English loan ("fire") or a
neighbouring language's lexicon, and for an everyday word it is often wrong. Read the list and
add a stopper (the word with valence 0) or a corrected value to lexicons/<lang>_extra.tsv or
no.tsv. Words among the EVERYDAY most frequent are already never derived; this looks further.

    python scripts/audit_lexicon.py da 5000
"""

import sys

from listener.classify import frequencies, lexicon
from listener.classify.sentiment import _valence


def main(lang: str, count: int) -> None:
    own, lent = lexicon.own_words(lang), lexicon.words(lang)
    for word in sorted(frequencies.common(lang, count)):
        value = _valence(word, lang)
        if value and word not in own:
            origin = "borrowed" if word in lent else "derived"
            print(f"{word}\t{value:+.1f}\t{origin}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5000)
