"""The library's layers import downward only, with every labkit import at module level.

Bottom up (a module may import labkit modules of its own layer's package or of lower layers):
runtime/io -> envs -> data -> models -> diffusion -> policies -> train -> store/rollout -> analysis/stats/sb3
-> viz/llm -> sweep -> pretrain -> finetune -> the other taxonomy folders -> experiments -> course -> the
package's __init__/__main__. Taxonomy folders of one layer never import each other.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "labkit"
LAYERS = [
    {"runtime", "io"},
    {"envs"},
    {"data"},
    {"models"},
    {"diffusion"},
    {"policies"},
    {"train"},
    {"store", "rollout"},
    {"analysis", "stats", "sb3"},
    {"viz", "llm"},
    {"sweep"},
    {"pretrain"},
    {"finetune"},
    {"rewards", "world_models", "planning", "distill", "safety"},
    {"experiments"},
    {"course"},
    {"__init__", "__main__"},
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}
MODULES = sorted(p for p in PKG.rglob("*.py"))


def _unit(path: Path) -> str:
    """The layer unit of a file: its top-level package or module under labkit/."""
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imports(tree: ast.Module) -> list[tuple[str, bool, int]]:
    """(imported labkit unit, at module level?, line) for every labkit import in the file."""
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module + "." + a.name if node.module == "labkit" else node.module for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "labkit" and len(parts) > 1:
                out.append((parts[1], id(node) in top, node.lineno))
    return out


def test_every_unit_has_a_layer():
    units = {_unit(p) for p in MODULES}
    assert units <= set(LAYER_OF), f"give these a layer in tests/test_layers.py: {sorted(units - set(LAYER_OF))}"


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PKG)) for p in MODULES])
def test_imports_go_downward_and_sit_at_module_level(path):
    me = _unit(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for unit, at_top, line in _imports(tree):
        assert at_top, f"{path.name}:{line} imports labkit.{unit} inside a function: import at module level"
        if unit == me or unit not in LAYER_OF:
            continue
        assert LAYER_OF[unit] < LAYER_OF[me], (
            f"{path.relative_to(PKG)}:{line} (layer {LAYER_OF[me]}) imports labkit.{unit} "
            f"(layer {LAYER_OF[unit]}): layers import downward only"
        )


def test_the_check_sees_function_level_and_package_imports():
    tree = ast.parse(
        "from labkit import viz\nimport labkit.data.files\n\ndef f():\n    from labkit.rollout import evaluate\n"
    )
    assert _imports(tree) == [("viz", True, 1), ("data", True, 2), ("rollout", False, 5)]
