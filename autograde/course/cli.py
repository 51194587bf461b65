"""``cnnlab-grade``: the course commands (see docs/grading.md).

cnnlab-grade bundle [ASSIGNMENT ...] --out DIR
cnnlab-grade collect SRC --course-dir DIR
cnnlab-grade grade [ASSIGNMENT ...] --course-dir DIR [--workers N] [--db URL]
cnnlab-grade report --course-dir DIR [--out FILE]
cnnlab-grade export canvas --course-dir DIR [--roster ROSTER.csv]
cnnlab-grade export gradescope ASSIGNMENT --out autograder.zip
cnnlab-grade check NOTEBOOK
cnnlab-grade demo
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from autograde.config import LIMITS, default_workers

# commands whose module adds its own subparser (register) and runs it (run)
MODULES = {"bundle": "bundle", "report": "report", "export": "export"}


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("ib").rstrip("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def _add_limits(p: argparse.ArgumentParser) -> None:
    timeout, gib = LIMITS["timeout"], LIMITS["memory"] / (1 << 30)
    p.add_argument(
        "--timeout", type=float, default=timeout, help=f"seconds per cell (default {timeout:g})"
    )
    p.add_argument(
        "--memory", default=f"{gib:g}GiB", help=f"memory limit per submission (default {gib:g}GiB)"
    )
    p.add_argument(
        "--no-landlock", action="store_true", help="do not restrict file access (debugging)"
    )


def _options(args) -> dict:
    opts = {"timeout": float(args.timeout), "memory": _size(args.memory)}
    if args.no_landlock:
        opts["landlock"] = False
    return opts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnlab-grade",
        description="Collect, autograde and self-check the course notebooks (docs/grading.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("collect", help="gather submissions into DIR/submitted")
    p.add_argument("src", help="a folder (nbgrader layout or flat) or a .zip from an LMS")
    p.add_argument("--course-dir", required=True, type=Path)
    p = sub.add_parser("grade", help="autograde every submission")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--course-dir", required=True, type=Path)
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--db", default=None, help="SQLAlchemy URL (default sqlite:///DIR/gradebook.db)")
    p.add_argument("--no-progress", action="store_true")
    _add_limits(p)
    p = sub.add_parser("check", help="run the public tests of one notebook")
    p.add_argument("notebook", type=Path)
    _add_limits(p)
    p = sub.add_parser("demo", help="build and grade a demo class")
    p.add_argument("--dir", type=Path, default=None, help="where to build it (default demo-class/)")
    p.add_argument("--workers", type=int, default=default_workers())
    for module in MODULES.values():
        importlib.import_module(f"autograde.course.{module}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in MODULES:
        return importlib.import_module(f"autograde.course.{MODULES[args.command]}").run(args)
    if args.command == "collect":
        from autograde.course.collect import collect, print_report

        report = collect(Path(args.src), args.course_dir)
        print_report(report)
        return 0
    if args.command == "grade":
        from autograde.course import grade
        from autograde.course.feedback import summary_table

        rows = grade.run(
            args.course_dir,
            args.assignments or None,
            workers=args.workers,
            db_url=args.db,
            options=_options(args),
            progress=not args.no_progress,
        )
        print(summary_table(rows))
        print(f"\nwrote {args.course_dir / 'grades.csv'} and feedback/ for {len(rows)} rows")
        return 0
    if args.command == "check":
        from autograde.course.check import check

        return check(args.notebook, _options(args))
    if args.command == "demo":
        from autograde.course.demo import demo

        return demo(args.dir, workers=args.workers)
    return 2


if __name__ == "__main__":
    sys.exit(main())
