"""Minimal safetensors writer/reader for dp's golden files.

Debian's python3-torch has no safetensors package, and the format is small:
an 8-byte little-endian header length, a JSON header mapping each name to
dtype, shape and byte offsets, then the raw little-endian data. dp's Go
reader (package checkpoint) reads exactly this.
"""
import json
import struct

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64",
           np.dtype("int64"): "I64", np.dtype("int32"): "I32",
           np.dtype("uint8"): "U8", np.dtype("bool"): "BOOL"}


def save(path, tensors, metadata=None):
    """Write a dict name -> numpy array (or torch tensor) as safetensors."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()
        a = np.ascontiguousarray(a)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        raw = a.tobytes()
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
