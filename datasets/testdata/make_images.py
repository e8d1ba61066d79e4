"""Writes datasets/testdata/ images in formats Go's standard library cannot
encode (WebP, CMYK JPEG), for dp's image decoding tests.

The picture is a 6x4 RGB gradient: R = 40*x, G = 60*y, B = 200 - 20*x.
"""
import os

import numpy as np
from PIL import Image

out = os.path.dirname(os.path.abspath(__file__))
os.makedirs(out, exist_ok=True)
w, h = 6, 4
a = np.zeros((h, w, 3), np.uint8)
for y in range(h):
    for x in range(w):
        a[y, x] = (40 * x, 60 * y, 200 - 20 * x)
img = Image.fromarray(a, "RGB")
img.save(os.path.join(out, "grad_lossless.webp"), lossless=True)
img.convert("CMYK").save(os.path.join(out, "grad_cmyk.jpg"), quality=100)
