"""`bulkmail simulate` (not built yet)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("simulate", help="(not built yet)")
    parser.set_defaults(func=lambda args: 2)
