"""The layout shows the architecture: the product never depends on the demo package, and
no product module grows past a size a reader can take in."""

from __future__ import annotations

import ast
from pathlib import Path

from pipelines.config import REPO_ROOT

PRODUCT_PACKAGES = ("pipelines", "assets")
# The CLI's demo commands are the one way into the demo package, and only inside them.
DEMO_ENTRY_POINTS = {
    ("pipelines/cli.py", name) for name in ("demo", "sample_portal", "generate_epd", "ui")
}
MAX_LINES = 520  # "about 500": a little over is fine, far over is not


def _product_modules() -> list[Path]:
    return sorted(p for pkg in PRODUCT_PACKAGES for p in (REPO_ROOT / pkg).rglob("*.py"))


def _imports_of(tree: ast.AST):
    """(enclosing function name or None, imported module) for every import in a module."""

    def walk(node: ast.AST, function: str | None):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef) else function
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield function, alias.name
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                yield function, child.module
            yield from walk(child, inner)

    yield from walk(tree, None)


def test_no_product_module_imports_the_demo_package() -> None:
    offenders = []
    for path in _product_modules():
        rel = path.relative_to(REPO_ROOT).as_posix()
        for function, module in _imports_of(ast.parse(path.read_text())):
            is_demo = module == "demo" or module.startswith("demo.")
            if is_demo and (rel, function) not in DEMO_ENTRY_POINTS:
                offenders.append(f"{rel} ({function or 'module level'}) imports {module}")
    assert offenders == []


def test_the_import_check_sees_a_nested_import() -> None:
    source = "def demo():\n    from demo.run import main\nimport demo.settings\n"
    assert list(_imports_of(ast.parse(source))) == [
        ("demo", "demo.run"),
        (None, "demo.settings"),
    ]


def test_product_modules_are_small() -> None:
    sizes = {
        p.relative_to(REPO_ROOT).as_posix(): len(p.read_text().splitlines())
        for p in _product_modules()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
