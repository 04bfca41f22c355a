"""The e5 embeddings of many texts, computed once per machine.

Embedding the training and evaluation posts takes minutes on two cores (reviews are long), and
training, evaluating and the benchmark all need the same vectors: they are kept in a cache file
per encoder depth and tuning, keyed by each text's digest (in ~/.cache/socialcrm, or SOCIALCRM_CACHE_DIR). A
text is embedded exactly as the engine embeds it at run time (`local_sentiment.clipped`, the
model's layers and tuning), so cached and live vectors are the same.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from chalicelib.models.text import well_formed
from chalicelib.nlp.encoder import encoder
from chalicelib.nlp.local_sentiment import LAYERS, clipped

BATCH = 256
SAVE_EVERY = 10 * BATCH


def cache_path(layers: int, tuning: Path | None = None) -> Path:
    """One file per depth and tuned layers' file (by its digest: tuning again starts a new one)."""
    folder = Path(os.environ.get("SOCIALCRM_CACHE_DIR") or Path.home() / ".cache" / "socialcrm")
    tuned = f"-tuned-{hashlib.sha256(tuning.read_bytes()).hexdigest()[:12]}" if tuning else ""
    return folder / f"e5-query-{layers}-layers{tuned}.npz"


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _load(path: Path) -> dict[str, NDArray[np.float32]]:
    if not path.exists():
        return {}
    with np.load(path) as stored:
        return dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))


def _save(path: Path, vectors: dict[str, NDArray[np.float32]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(vectors)
    partial = path.with_suffix(".part.npz")
    np.savez(partial, keys=np.array(keys), vectors=np.stack([vectors[key] for key in keys]))
    partial.replace(path)


def embed(
    texts: Sequence[str], layers: int = LAYERS, tuning: Path | None = None, progress: bool = True
) -> NDArray[np.float64]:
    """Each text's embedding ("query:" form, the first `layers` layers, tuned by `tuning`'s
    layers if given), from the cache where it is there."""
    path = cache_path(layers, tuning)
    known = _load(path)
    inputs = [clipped(well_formed(text)) for text in texts]
    keys = [_key(text) for text in inputs]
    missing = list(dict.fromkeys(key for key in keys if key not in known))
    by_key = dict(zip(keys, inputs, strict=True))
    for start in range(0, len(missing), BATCH):
        chunk = missing[start : start + BATCH]
        known.update(zip(chunk, encoder(layers, tuning).query([by_key[key] for key in chunk]), strict=True))
        done = start + len(chunk)
        # Kept every few thousand texts (an interrupted run resumes there) and at the end: the file
        # holds every vector so far, and writing it after each batch wrote it hundreds of times.
        if done == len(missing) or done % SAVE_EVERY == 0:
            _save(path, known)
        if progress:
            print(f"embedded {done} of {len(missing)} new texts", flush=True)
    return np.asarray([known[key] for key in keys], dtype=np.float64)
