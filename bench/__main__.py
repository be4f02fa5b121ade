"""`make bench`: run every benchmark module in bench/ that defines ``main()``, or the ones named."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main(names: list[str]) -> None:
    modules = names or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    if not modules:
        print("no benchmarks yet")
    for name in modules:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}")
        module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
