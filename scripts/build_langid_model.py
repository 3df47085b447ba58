"""Build listener's language-ID model: py3langid's model restricted to sv, da, no (+nn), en, plus
a coarse copy of all its ISO 639-1 languages to tell when a text is in none of those.

py3langid (BSD-3-Clause, (c) Marco Lui, Adrien Barbaresi and contributors) ships one model for
97 languages, xz-compressed; loading it takes ~1 s. listener needs four, so this keeps the same
byte-level DFA and only the five columns of naive-Bayes weights it uses, saved with zlib, which
loads in a fraction of the time. The other languages' columns (every two-letter code, "zxx" for
no language left out) are kept as int8, one scale per column: enough to tell German from Danish,
at a quarter of the size. Run after upgrading py3langid:

    pip install py3langid && python scripts/build_langid_model.py
"""

from pathlib import Path

import numpy as np
import py3langid
from py3langid.modelio import load_model

LANGS = ["sv", "da", "no", "nn", "en"]
OUT = Path(__file__).parent.parent / "src/listener/classify/langid.npz"


def main() -> None:
    source = Path(py3langid.__file__).parent / "data/model.npz.xz"
    ptc, pc, classes, nextmove, row, out = load_model(source)
    columns = [classes.index(lang) for lang in LANGS]
    ptc = np.asarray(ptc, dtype=np.float32)
    others = sorted({i for i, c in enumerate(classes) if len(c) == 2 and c != "zxx"} | set(columns))
    scale = np.abs(ptc[:, others]).max(axis=0) / 127
    nextmove = np.asarray(nextmove).reshape(-1, 256)
    rows, row_index = np.unique(nextmove[np.asarray(row)], axis=0, return_inverse=True)
    np.savez_compressed(
        OUT,
        ptc=np.ascontiguousarray(ptc[:, columns], dtype=np.float32),
        all_ptc=np.round(ptc[:, others] / scale).astype(np.int8),
        all_scale=scale.astype(np.float32),
        all_pc=np.asarray(pc, dtype=np.float32)[others],
        all_classes=np.array([classes[i] for i in others]),
        pc=np.asarray(pc)[columns].astype(np.float32),
        classes=np.array(LANGS),
        nextmove=rows.astype(np.uint16 if rows.max() < 1 << 16 else np.uint32),
        nextmove_row=row_index.ravel().astype(np.uint32),
        out_feat=np.asarray(out, dtype=np.int32),
        source=np.array(f"py3langid {py3langid.__version__ if hasattr(py3langid, '__version__') else ''}".strip()),
    )
    print(f"{OUT}: {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
