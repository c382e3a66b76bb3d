"""The layers as a running program sees them: the business logic loads no UI toolkit."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys
import console.cti, console.models, console.services
for package in (console.services, console.cti, console.models):
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
loaded = sorted({name.split(".")[0] for name in sys.modules} & {"textual", "rich"})
print(",".join(loaded))
"""


def test_importing_every_service_loads_neither_textual_nor_rich() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "", f"the services loaded: {done.stdout.strip()}"
