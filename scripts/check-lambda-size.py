"""Fail when a built Lambda function, with the layer it runs with, is over Lambda's unzipped size limit.

    python scripts/check-lambda-size.py [.aws-sam/build]

Lambda refuses a function whose code plus all its layers exceed 250 MB unzipped (262,144,000 bytes);
``sam build`` does not check it, and a deploy would fail late. Run after ``sam build`` (``make
deploy-checks``); prints each function's total and the headroom of the largest.
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 262_144_000  # bytes, unzipped: function code and all its layers
LAYER = "MaoLayer"  # every function runs with the one shared layer (template Globals)


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str]) -> int:
    build = Path(argv[1] if len(argv) > 1 else ".aws-sam/build")
    layer = tree_bytes(build / LAYER)
    totals = {d.name: tree_bytes(d) + layer for d in sorted(build.iterdir()) if d.is_dir() and d.name != LAYER}
    if not totals:
        print(f"no built functions under {build}", file=sys.stderr)
        return 2
    over = {name: size for name, size in totals.items() if size > LIMIT}
    largest = max(totals, key=totals.__getitem__)
    print(f"layer {layer / 1e6:.1f} MB; largest function with layer: {largest} {totals[largest] / 1e6:.1f} MB "
          f"of {LIMIT / 1e6:.1f} MB ({(LIMIT - totals[largest]) / 1e6:.1f} MB headroom)")
    for name, size in over.items():
        print(f"{name}: {size / 1e6:.1f} MB unzipped is over Lambda's limit", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
