"""`python -m bench` runs every benchmark module; `python -m bench NAME [args…]` runs one.

A benchmark is a module `bench/NAME.py` with `main(argv: list[str]) -> int`: broadcast, faq, pdf, throughput.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("available:", ", ".join(names) or "none")
        return 0
    if args and not args[0].startswith("-"):
        name, rest = args[0], args[1:]
        if name not in names:
            print(f"no benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        return int(importlib.import_module(f"bench.{name}").main(rest) or 0)
    status = 0
    for name in names:
        print(f"== {name}", flush=True)
        status = max(status, int(importlib.import_module(f"bench.{name}").main(args) or 0))
    return status


if __name__ == "__main__":
    sys.exit(main())
