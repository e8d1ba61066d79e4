"""Print the numpy values that eval/coco's tests compare with.

COCOeval builds its thresholds with np.linspace and averages with np.mean
(pairwise summation in 8192-value blocks); the Go code reproduces both bit
for bit, and coco_test.go holds the repr() of these values:

    /usr/bin/python3 tools/reference/eval_numpy_values.py
"""
import numpy as np

print("np.linspace(.5, 0.95, 10) =", [repr(float(x)) for x in np.linspace(.5, 0.95, 10)])
r = np.linspace(.0, 1.00, 101)
print("np.linspace(0, 1, 101)[i] == i*0.01 for i < 100:", all(r[i] == i * 0.01 for i in range(100)), "last:", repr(float(r[-1])))
for n in [9, 17, 100, 129, 1000, 8193, 20000]:
    a = np.full(n, 0.1)
    naive = 0.0
    for x in a:
        naive += x
    print(f"n={n}: np.mean={float(np.mean(a))!r} left-to-right={naive / n!r}")
