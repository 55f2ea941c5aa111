"""``sealbox.access`` is pure: importing it brings in no I/O module, and its
source reads no wall clock and opens no file (ARCHITECTURE.md, "Layers")."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sealbox.access

ACCESS_DIR = Path(sealbox.access.__file__).resolve().parent
SRC = ACCESS_DIR.parents[1]

FORBIDDEN_MODULES = {
    "asyncio",
    "sqlite3",
    "socket",
    "ssl",
    "select",
    "selectors",
    "subprocess",
    "http.client",
    "urllib.request",
    "email.utils",  # imports socket
    "sealbox.store",
    "sealbox.server",
}
FORBIDDEN_CALLS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("time", "sleep"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("os", "open"),
    ("os", "listdir"),
    ("os", "getenv"),
    ("Path", "open"),
    ("Path", "read_text"),
    ("Path", "read_bytes"),
}
FORBIDDEN_NAMES = {"open", "input", "print"}
MODULES = sorted(ACCESS_DIR.rglob("*.py"))


def _module_names() -> list[str]:
    names = []
    for path in MODULES:
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_importing_sealbox_access_loads_no_io_module() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {_module_names()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    ).stdout
    loaded = set(json.loads(out))
    assert loaded & FORBIDDEN_MODULES == set()
    assert {
        "sealbox.access.evaluate",
        "sealbox.access.model",
        "sealbox.access.conditions",
    } <= loaded


def _calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in FORBIDDEN_CALLS:
                found.append(f"{func.value.id}.{func.attr} line {node.lineno}")
        elif isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
            found.append(f"{func.id} line {node.lineno}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ACCESS_DIR)))
def test_access_source_reads_no_clock_and_opens_no_file(path: Path) -> None:
    assert _calls(ast.parse(path.read_text(), filename=str(path))) == []


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nx = datetime.now()\n",
        "import time\nx = time.time()\n",
        "x = open('f')\n",
    ],
)
def test_purity_check_would_catch_a_clock_read_or_a_file(source: str) -> None:
    assert _calls(ast.parse(source)) != []
