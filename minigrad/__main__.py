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

        print(f"minigrad {minigrad.__version__}")
        for k, v in minigrad.backend_info().items():
            print(f"{k}: {v}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
