"""Runs minigrad's benchmarks beside numpy / PyTorch / micrograd; prints a table,
writes JSON.

    python benchmarks/run.py                 # every family
    python benchmarks/run.py overhead gemm   # some families
    python benchmarks/run.py --quick         # fewer sizes and repeats

Families are the modules ``benchmarks/bench_<family>.py``. Results go to
``benchmarks/results/<family>.json`` (and the table to stdout).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Row, machine  # noqa: E402


def families() -> list[str]:
    return sorted(p.stem[len("bench_") :] for p in HERE.glob("bench_*.py"))


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'family':<10} {'case':<44} {'unit':<9} {'minigrad':>10} "
        f"{'peer':<10} {'peer val':>10} {'ratio':>7}  target"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.family:<10} {r.case[:44]:<44} {r.unit:<9} {fmt(r.minigrad):>10} "
            f"{r.peer_name[:10]:<10} {fmt(r.peer):>10} {fmt(r.ratio):>7}  {r.target}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("families", nargs="*", help=f"any of {families()}")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    chosen = args.families or families()
    out_dir = HERE / "results"
    os.makedirs(out_dir, exist_ok=True)
    info = machine()
    print(f"machine: {info}")
    all_rows: list[Row] = []
    for fam in chosen:
        mod = importlib.import_module(f"bench_{fam}")
        rows = mod.run(args.quick)
        all_rows += rows
        (out_dir / f"{fam}.json").write_text(
            json.dumps({"machine": info, "rows": [r.as_dict() for r in rows]}, indent=2)
        )
    print_table(all_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
