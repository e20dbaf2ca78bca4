"""``python -m minigrad exercises list|start|check``.

Layer: exercises (command line). Exit codes: 0 when the check passes (or the
command succeeded), 1 when it fails (wrong, not implemented yet, does not import;
or ``start`` refused to overwrite), 2 on usage errors (bad arguments, no such
file, not an exercise file, unknown exercise).
"""

from __future__ import annotations

import argparse
import sys

from minigrad.exercises.catalog import EXERCISES
from minigrad.exercises.checker import ExerciseFileError, check_file
from minigrad.exercises.starters_io import write_starter

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minigrad exercises",
        description="Gradient-checking exercises: write forward and backward, "
        "and let the checker tell you what is wrong.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the exercises")
    start = sub.add_parser("start", help="write an exercise's starter file")
    start.add_argument("name", help="the exercise (see `list`)")
    start.add_argument("dir", nargs="?", default=".", help="where (default: here)")
    start.add_argument(
        "--force", action="store_true", help="overwrite an existing file"
    )
    check = sub.add_parser("check", help="check your solution")
    check.add_argument("path", help="the exercise file you filled in")
    return parser


def main(argv: list[str]) -> int:
    """Runs the ``exercises`` command line; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "list":
        width = max(len(n) for n in EXERCISES)
        for name, ex in EXERCISES.items():
            print(f"{name:<{width}}  {ex.title}")
        print("\nStart one with: python -m minigrad exercises start NAME [DIR]")
        return 0
    if args.command == "start":
        if args.name not in EXERCISES:
            print(
                f"no exercise named {args.name!r}; the exercises are: "
                f"{', '.join(EXERCISES)}",
                file=sys.stderr,
            )
            return 2
        try:
            path = write_starter(args.name, args.dir, force=args.force)
        except FileExistsError as exc:
            print(exc, file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"cannot write the starter file: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {path}: fill in the parts that raise NotImplementedError,")
        print(f"then run: python -m minigrad exercises check {path}")
        return 0
    try:
        result = check_file(args.path)
    except ExerciseFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(result.report)
    return 0 if result.passed else 1
