"""``mao`` command line: evaluation harnesses, imports and local operations.

Subcommands live in their own modules and are imported only when chosen, so ``mao --help`` is fast
and one broken optional dependency cannot take the whole CLI down. A command module exposes
``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# (group, name) -> (module, help). group None = top-level command.
COMMANDS: dict[tuple[str | None, str], tuple[str, str]] = {
    ("eval", "attribution"): ("mao.eval.attribution", "score failure attribution on Who&When-format JSONL"),
    ("eval", "detectors"): ("mao.eval.detectors", "score the detectors on labelled data, write results file"),
    ("eval", "injection"): ("mao.eval.injection", "score the prompt-injection detector on labelled JSONL"),
    (None, "import"): ("mao.cli.import_file", "upload a JSON/JSONL file as an import job and follow it"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mao", description="MAO multi-agent observability")
    top = parser.add_subparsers(dest="command", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for (group, name), (module, help_text) in COMMANDS.items():
        if group is None:
            sub = top.add_parser(name, help=help_text)
        else:
            if group not in groups:
                gp = top.add_parser(group, help=f"{group} commands")
                groups[group] = gp.add_subparsers(dest="subcommand", required=True)
            sub = groups[group].add_parser(name, help=help_text)
        sub.set_defaults(_module=module)
        _add_arguments(sub, module)
    return parser


def _add_arguments(sub: argparse.ArgumentParser, module: str) -> None:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        sub.set_defaults(_missing=True)
        return
    mod.add_arguments(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_missing", False):
        parser.error(f"command not available in this build: {args._module}")
    mod = importlib.import_module(args._module)
    return int(mod.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
