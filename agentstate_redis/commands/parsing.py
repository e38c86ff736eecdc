"""How a command module declares its subcommand: its name, its help, and the function it runs.

>>> def add_parser(sub: Subparsers) -> None:
...     p = command_parser(sub, "health", run, help="check Redis", description=DESCRIPTION)
...     p.add_argument("--quiet", action="store_true")
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeAlias

#: What ``build_parser`` hands each command module's ``add_parser``.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command_parser(
    sub: Subparsers, name: str, run: Callable[[argparse.Namespace], Any], *, help: str, description: str
) -> argparse.ArgumentParser:
    """The subcommand ``name``'s parser, which runs ``run(args)`` when chosen; the caller adds its options.

    ``p = command_parser(sub, "health", run, help="check Redis", description="Exit 0 if ...")``
    """
    p = sub.add_parser(name, help=help, description=description)
    p.set_defaults(run=run)
    return p
