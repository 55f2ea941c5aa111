"""The package layout holds (ARCHITECTURE.md): no two modules import each
other, however indirectly, ``TYPE_CHECKING`` imports and imports inside
functions included; a layer imports nothing above it; the API families
import one another only through ``api/common``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import sealbox

SRC = Path(sealbox.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ("sealbox", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imports(name: str) -> Iterator[str]:
    """Every sealbox module ``name`` imports, anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import module`` depends on the module; ``from pkg
            # import name`` on the package that defines the name.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                yield target


GRAPH = {name: set(_imports(name)) for name in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles() == []


# A module of the key's package may import nothing under these prefixes.
FORBIDDEN = {
    "sealbox.access": ("sealbox.api", "sealbox.edge", "sealbox.server", "sealbox.store",
                       "sealbox.cli"),
    "sealbox.auth": ("sealbox.api", "sealbox.edge", "sealbox.server", "sealbox.store",
                     "sealbox.cli"),
    "sealbox.http": ("sealbox.api", "sealbox.edge", "sealbox.server", "sealbox.store",
                     "sealbox.cli", "sealbox.access", "sealbox.auth"),
    "sealbox.store": ("sealbox.api", "sealbox.edge", "sealbox.server", "sealbox.cli"),
    # Links (issue 13): below the APIs, the edge and the server that call it.
    "sealbox.links": ("sealbox.api", "sealbox.edge", "sealbox.server", "sealbox.cli"),
    # The signature doctor (issue 14): pure, below the API that asks it.
    "sealbox.doctor": ("sealbox.api", "sealbox.edge", "sealbox.server", "sealbox.store",
                       "sealbox.cli"),
    # Access logs delivered as objects (issue 14): below the server that feeds them.
    "sealbox.logs": ("sealbox.api", "sealbox.edge", "sealbox.server", "sealbox.cli"),
    # Lifecycle rules and their worker (issue 16): below the API and the server.
    "sealbox.lifecycle": ("sealbox.api", "sealbox.edge", "sealbox.server", "sealbox.cli"),
    "sealbox.api.common": ("sealbox.api.s3", "sealbox.api.iam", "sealbox.api.cloudfront",
                           "sealbox.api.admin", "sealbox.edge", "sealbox.cli"),
    "sealbox.api.s3": ("sealbox.api.iam", "sealbox.api.cloudfront", "sealbox.api.admin",
                       "sealbox.edge", "sealbox.cli"),
    "sealbox.api.iam": ("sealbox.api.s3", "sealbox.api.cloudfront", "sealbox.api.admin",
                        "sealbox.edge", "sealbox.cli"),
    "sealbox.api.cloudfront": ("sealbox.api.iam", "sealbox.api.admin", "sealbox.edge",
                               "sealbox.cli"),
    # The console (issue 18) acts only through HTTP requests to the app
    # (console.calls), as the signed-in principal: it imports no API family
    # that could let it decide or act on its own.
    "sealbox.console": ("sealbox.api.s3", "sealbox.api.iam", "sealbox.api.cloudfront",
                        "sealbox.api.admin", "sealbox.api.sign", "sealbox.api.handlers",
                        "sealbox.edge", "sealbox.cli", "sealbox.server.asgi"),
    "sealbox.edge": ("sealbox.api.iam", "sealbox.api.cloudfront", "sealbox.api.admin",
                     "sealbox.cli"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name == package or name.startswith(package + ".")
        for target in targets
        if any(target == p or target.startswith(p + ".") for p in FORBIDDEN[package])
    )
    assert wrong == []
