"""Every module imports on its own in a fresh interpreter (no import cycles, no hidden import-order dependence)."""

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for package in ("limssr_core", "app") for path in (ROOT / package).rglob("*.py")
    if path.name != "__main__.py"
)


def _import_alone(name: str) -> str | None:
    result = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True)
    return None if result.returncode == 0 else result.stderr.strip().splitlines()[-1]


@pytest.mark.slow  # one interpreter per module: about a minute
def test_every_module_imports_alone_in_a_fresh_interpreter():
    with ThreadPoolExecutor(max_workers=2) as pool:
        errors = dict(zip(MODULES, pool.map(_import_alone, MODULES)))
    failures = {name: error for name, error in errors.items() if error}
    assert len(MODULES) > 50 and not failures, failures


@pytest.mark.parametrize("package", ["limssr_core"])
def test_the_library_holds_no_argparse_and_no_print(package):
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        if "commands" in path.relative_to(ROOT).parts:
            continue
        text = path.read_text()
        if re.search(r"^\s*import argparse|(?<![\w.])print\(", text, re.M):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"argparse/print outside limssr_core/commands: {offenders}"
