"""Nothing is built at import time: importing every module creates no file, folder or database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

IMPORT_EVERYTHING = """
import importlib, pkgutil, sluice
for module in pkgutil.walk_packages(sluice.__path__, "sluice."):
    if ".migrations" not in module.name and module.name != "sluice.__main__":
        importlib.import_module(module.name)
"""


def test_importing_every_module_touches_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SLUICE_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
