"""How typed Japanese reads: each word's reading in katakana, from a morphological analyser
(fugashi, MeCab's Python binding, with the `unidic-lite` dictionary in its wheel: nothing is
downloaded). 「解約」 and 「かいやく」 both read カイヤク, so one matches the other.

Chosen over SudachiPy with sudachidict-core on the same measurements (bench/analysers.py,
bench/README.md): as accurate on the topic's words, ten times quicker to open and less private
memory; both map a dictionary file of which reading a few thousand words touches ~160-175 MB
(shared by every process, and given back under memory pressure). The dictionary opens once per
process; readings of what people type are kept, since they type the same few hundred things.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_lock = threading.Lock()
_tagger: Any = None


def _open() -> Any:
    global _tagger
    with _lock:
        if _tagger is None:
            import fugashi
            import unidic_lite

            _tagger = fugashi.Tagger("-d " + unidic_lite.DICDIR)
    return _tagger


CACHED_UP_TO = 200  # characters: what people type; a long paste is read, not kept


def reading(text: str) -> str:
    """The text as it reads, in katakana; a word the dictionary does not know (a name, Latin
    letters, digits) stays as it is written."""
    return _kept(text) if len(text) <= CACHED_UP_TO else _read(text)


@functools.lru_cache(maxsize=16384)
def _kept(text: str) -> str:
    return _read(text)


# One text at a time through the tagger: a MeCab tagger is not safe to share between threads,
# and since scenarios reload in a thread (edition.py) their readings are built beside the event
# loop's (uncontended, the lock costs nothing measurable).
_reading = threading.Lock()


def _read(text: str) -> str:
    tagger = _tagger or _open()
    with _reading:
        return "".join(getattr(word.feature, "kana", None) or word.surface
                       for word in tagger(text))
