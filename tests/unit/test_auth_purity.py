"""``sealbox.auth`` is pure: importing it brings in no I/O module, and its
source reads no wall clock and opens no file (ARCHITECTURE.md, "Layers")."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sealbox.auth

AUTH_DIR = Path(sealbox.auth.__file__).resolve().parent
SRC = AUTH_DIR.parents[1]

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
# Attribute calls that read the clock, sleep or touch files.
FORBIDDEN_CALLS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "sleep"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("os", "open"),
    ("os", "listdir"),
    ("Path", "open"),
}
FORBIDDEN_NAMES = {"open", "input", "print"}


def _auth_modules() -> list[str]:
    names = []
    for path in sorted(AUTH_DIR.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_importing_sealbox_auth_loads_no_io_module() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {_auth_modules()!r}:\n"
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
    assert "sealbox.auth.authenticate" in loaded
    assert "sealbox.auth.sigv4.verify" in loaded


@pytest.mark.parametrize(
    "path", sorted(AUTH_DIR.rglob("*.py")), ids=lambda p: str(p.relative_to(AUTH_DIR))
)
def test_auth_source_reads_no_clock_and_opens_no_file(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
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
    assert found == []


def test_purity_check_would_catch_a_clock_read() -> None:
    tree = ast.parse("from datetime import datetime\nx = datetime.now()\n")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    func = calls[0].func
    assert isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
    assert (func.value.id, func.attr) in FORBIDDEN_CALLS
