"""The layering rules of ARCHITECTURE.md, checked on the source with `ast`.

- Nothing under `tui/` but `tui/app.py` imports textual, `screens` or `widgets`: the core
  (cluster access, read models, the demo server) works without a UI.
- `widgets/` imports nothing from `tui.cluster` (nor the kubernetes client): widgets draw,
  they know nothing of Kubernetes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI_PACKAGES = ("textual", "screens", "widgets")
CLUSTER_PACKAGES = ("tui.cluster", "kubernetes")


def imported_modules(source: str, module: str) -> set[str]:
    """Every module a source file imports, anywhere in it (also inside functions).

    `module` is the dotted name of the file, to resolve relative imports.
    """
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from tui import cluster` imports tui.cluster.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def offending(imports: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in imports for bad in forbidden if name == bad or name.startswith(bad + ".")
    )


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts)


def test_there_is_something_to_check() -> None:
    assert (ROOT / "tui" / "app.py").is_file()
    assert python_files("tui") and python_files("widgets")


@pytest.mark.parametrize("path", python_files("tui"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_does_not_import_the_ui(path: Path) -> None:
    if path == ROOT / "tui" / "app.py":
        return
    imports = imported_modules(path.read_text(encoding="utf-8"), module_name(path))
    assert not offending(imports, UI_PACKAGES), (
        f"{path.relative_to(ROOT)} imports UI code; only tui/app.py may"
    )


@pytest.mark.parametrize("path", python_files("widgets"), ids=lambda p: str(p.relative_to(ROOT)))
def test_widgets_know_nothing_of_kubernetes(path: Path) -> None:
    imports = imported_modules(path.read_text(encoding="utf-8"), module_name(path))
    assert not offending(imports, CLUSTER_PACKAGES), (
        f"{path.relative_to(ROOT)} imports cluster code"
    )


def test_checker_sees_every_form_of_import() -> None:
    """The rules are only as good as the parser: make sure it catches the sneaky forms."""
    source = (
        "import textual.app\n"
        "from rich import text\n"
        "def f():\n"
        "    from widgets.resource_table import ResourceTable\n"
        "from tui import cluster\n"
        "from ..cluster import informer\n"
    )
    imports = imported_modules(source, "tui.kubevirt.vm")
    assert {"textual.app", "widgets.resource_table"} <= set(offending(imports, UI_PACKAGES))
    assert "tui.cluster" in offending(imports, CLUSTER_PACKAGES)
    assert "tui.cluster.informer" in offending(imports, CLUSTER_PACKAGES)
    assert offending({"textualize", "screensaver"}, UI_PACKAGES) == []


def test_cli_starts_without_loading_textual() -> None:
    """`kvtui --help` stays instant: the CLI imports Textual only when the UI starts."""
    code = "import sys, tui.cli; print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
