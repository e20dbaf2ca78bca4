"""``python -m minigrad <command>``: demo, exercises, info."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["exercises"]:
        # Routed before argparse so that `exercises --help` reaches its own parser.
        from minigrad.exercises.cli import main as exercises_main

        return exercises_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m minigrad")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="train small networks on built-in data",
        description="Trains the classic small networks (logic gates, XOR, exam "
        "scores, an MLP on the 8x8 digits) and prints what each learned.",
    )
    demo.add_argument(
        "--cnn",
        action="store_true",
        help="also train a convolutional network on the 8x8 digits and print "
        "its test accuracy and training time",
    )
    sub.add_parser("info", help="version and compiled backend")
    # Listed for --help only: the command itself is routed above.
    sub.add_parser("exercises", help="gradient-checking exercises (list/start/check)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from minigrad.demo import run

        return run(cnn=args.cnn)
    if args.command == "info":
        import minigrad

        _print_info(minigrad.__version__, minigrad.backend_info())
        return 0
    return 1


# What each field of `info` means, printed beside it.
_INFO_HELP = {
    "isa": "CPU instruction set the matrix-multiply kernel uses",
    "isa_forced": "True if MINIGRAD_ISA chose it instead of the CPU check",
    "available_isas": "instruction sets this build has kernels for",
    "num_threads": "most threads a kernel may use (set_num_threads, "
    "MINIGRAD_NUM_THREADS)",
    "threads_now": "threads a kernel would get now, leaving cores busy with "
    "other programs",
    "compiler": "C compiler the extensions were built with",
    "openmp": "OpenMP version date (0: built without threads)",
    "omp_wait_policy": "what idle OpenMP threads do (PASSIVE: sleep, not spin)",
    "forked_child": "True in a forked worker, which runs on one thread",
}


def _print_info(version: str, info: dict[str, object]) -> None:
    print(f"minigrad {version}")
    width = max(len(f"{k}: {v}") for k, v in info.items())
    for k, v in info.items():
        text = f"{k}: {v}"
        print(f"{text:<{width}}  # {_INFO_HELP.get(k, '')}".rstrip(" #"))


if __name__ == "__main__":
    sys.exit(main())
