"""Peak memory of a LeNet-5 training step (28x28, batch 64, cross-entropy,
SGD with momentum): minigrad against PyTorch CPU (not a test).

    python benchmarks/mem_lenet.py [--steps 5] [--threads 1]

Each framework runs in a fresh subprocess: after the imports, the model, the
optimizer and one batch exist, the script records the process's peak
resident set size (ru_maxrss), runs the steps, and reports how much the peak
grew: the memory the step itself needs (activations, gradients, momentum
buffers, workspaces, allocator caches). For minigrad it also reports
tracemalloc's peak over the steps (numpy's allocations; PyTorch's C++
allocator is invisible to tracemalloc). Issue 13's target: minigrad's step
within 2x PyTorch's.

The growth includes one-time work of the first step (PyTorch's lazy kernel
and thread-pool set-up, minigrad's workspaces), which is part of what a
user's first training step costs. Measured 2026-12-04 on the 2-core dev
machine, 5 steps: minigrad 8.5 MiB (tracemalloc peak 4.7 MiB), PyTorch
31.0 MiB at 1 thread (0.27x); 7.7 vs 29.3 MiB at 2 threads (0.26x).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, tracemalloc
import numpy as np
fw, steps = sys.argv[1], int(sys.argv[2])
if fw == "torch":
    import torch as lib
    lib.set_num_threads(int(sys.argv[3]))
    nn, optim = lib.nn, lib.optim
    tensor = lambda a: lib.from_numpy(a)
else:
    import minigrad as lib
    lib.set_num_threads(int(sys.argv[3]))
    nn, optim = lib.nn, lib.optim
    tensor = lambda a: lib.tensor(a)
lib.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
    nn.Linear(84, 10),
)
opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
rng = np.random.default_rng(0)
x = tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
y = tensor(rng.integers(0, 10, 64).astype(np.int64))
def kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before = kib()
if fw != "torch":
    tracemalloc.start()
for _ in range(steps):
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
traced = tracemalloc.get_traced_memory()[1] if fw != "torch" else None
print(json.dumps({"rss_growth_kib": kib() - before, "baseline_kib": before,
                  "traced_peak_kib": None if traced is None else traced // 1024}))
"""


def measure(fw: str, steps: int, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, fw, str(steps), str(threads)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    res = {fw: measure(fw, args.steps, args.threads) for fw in ("minigrad", "torch")}
    for fw, r in res.items():
        extra = (
            f", tracemalloc peak {r['traced_peak_kib'] / 1024:.1f} MiB"
            if r["traced_peak_kib"] is not None
            else ""
        )
        print(
            f"{fw:<9} step peak RSS growth {r['rss_growth_kib'] / 1024:6.1f} MiB "
            f"(baseline {r['baseline_kib'] / 1024:.0f} MiB){extra}"
        )
    ratio = res["minigrad"]["rss_growth_kib"] / max(res["torch"]["rss_growth_kib"], 1)
    print(f"ratio minigrad / torch: {ratio:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
