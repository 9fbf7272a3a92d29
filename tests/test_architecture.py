"""The shape of src/publish_action as a successor reads it: no import loops (counting imports inside
functions, which only hide a loop), and an orchestrator and uploader that speak to the credential protocol
without asking which kind of credential they hold."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "publish_action"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """The lines of ``if TYPE_CHECKING:`` blocks: imports there are for annotations only, never run."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports anywhere (annotations-only imports
    left out); ``from package import name`` counts as an import of ``package.name`` when that is a module,
    else of ``package``."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        targets: set[str] = set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", 0) in skip:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")
                    if path.name != "__init__.py":
                        base = base[:-1]
                    base = base[: len(base) - node.level + 1]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                # ``from package import submodule`` depends on the submodule; any other name on the module.
                for alias in node.names:
                    submodule = f"{module}.{alias.name}"
                    targets.add(submodule if submodule in paths else module)
        graph[name] = {target for target in targets if target in paths and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_finds_a_loop_hidden_in_a_function() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_loops() -> None:
    graph = import_graph()
    assert "publish_action.credentials.trusted" in graph["publish_action.credentials"]
    assert cycles(graph) == []


def test_the_orchestrator_and_the_uploader_never_ask_which_credential_they_hold() -> None:
    for name in ("publish.py", "upload.py", "confirm.py"):
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance":
                assert "Credential" not in ast.unparse(node) and "TrustedPublishing" not in ast.unparse(node), (
                    f"{name}:{node.lineno}: {ast.unparse(node)}"
                )
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "kind":
                assert "credential" not in ast.unparse(node.left), f"{name}:{node.lineno}: {ast.unparse(node)}"
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert not imported & {"TrustedPublishing", "StaticCredential"}, name


#: The rooms from the bottom up: a module may import its own layer and those below, never one above.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"publish_action", "errors", "redact", "hosts", "sizes", "stopping", "inputs", "progress"}),
    frozenset({"http", "index_answers", "archive"}),
    frozenset({"identity", "index", "rules", "metadata", "settings"}),
    frozenset({"dists", "attestations", "credentials", "preflight", "provenance"}),
    frozenset({"outcomes"}),
    frozenset({"confirm", "upload", "upload_answers", "served", "grading"}),
    frozenset({"report"}),
    frozenset({"publish", "check"}),
    frozenset({"workflows", "__main__"}),
)


def _layer(module: str) -> int:
    parts = module.split(".")
    room = parts[1] if len(parts) > 1 else parts[0]
    for number, rooms in enumerate(LAYERS):
        if room in rooms:
            return number
    raise AssertionError(f"{module} is in no layer: add its room to LAYERS")


def test_no_import_goes_against_the_layering() -> None:
    against = [
        f"{source} (layer {_layer(source)}) imports {target} (layer {_layer(target)})"
        for source, targets in import_graph().items()
        for target in sorted(targets)
        if _layer(target) > _layer(source)
    ]
    assert against == []


def test_the_layering_check_sees_an_arrow_upwards() -> None:
    assert _layer("publish_action.publish") > _layer("publish_action.identity.github")
    assert _layer("publish_action.report.targets") == _layer("publish_action.report")


#: The variables CI providers set, which only :mod:`publish_action.identity` reads.
_CI_VARIABLE = re.compile(r"^(GITHUB|GITLAB|CI|RUNNER|ACTIONS|GCE|GOOGLE)_[A-Z0-9_]+$")


def ci_variable_reads(tree: ast.Module) -> list[str]:
    """``environ.get("GITHUB_…")``, ``environ["CI_…"]`` and ``os.getenv("…")`` of a CI provider's variable."""
    found = []
    for node in ast.walk(tree):
        key: ast.expr | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getenv"):
            key = node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript):
            key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and _CI_VARIABLE.match(key.value):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_only_the_identity_room_reads_ci_variables() -> None:
    reads = {
        str(path.relative_to(PACKAGE)): found
        for path in PACKAGE.rglob("*.py")
        if "identity" not in path.relative_to(PACKAGE).parts
        and (found := ci_variable_reads(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert reads == {}
    identity = ast.parse((PACKAGE / "identity" / "gitlab.py").read_text(encoding="utf-8"))
    assert any("CI_PROJECT_PATH" in read for read in ci_variable_reads(identity))


def test_no_private_name_is_imported_from_another_module() -> None:
    """A leading underscore means "this module's own": private modules may be imported inside their package,
    private names never leave their module."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.module or node.module == "__future__":
                continue
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                is_module = (PACKAGE.parent / node.module.replace(".", "/") / f"{alias.name}.py").exists()
                same_package = node.module == module.rsplit(".", 1)[0] or node.module == module
                if private and not (is_module and same_package):
                    found.append(f"{module}: from {node.module} import {alias.name}")
    assert found == []


#: A module a successor reads in one sitting.
MODULE_LINES = 400


def test_no_module_is_longer_than_a_sitting() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    }
    assert long == {}


def _function_bodies() -> dict[str, list[str]]:
    """Each function's body (from the first statement after its docstring), with the places it appears."""
    found: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            if sum(1 for statement in body for _ in ast.walk(statement)) < 25:
                continue  # one-liners and small delegations may well read the same
            found.setdefault(ast.dump(ast.Module(body=body, type_ignores=[])), []).append(
                f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"
            )
    return found


def test_no_function_is_a_copy_of_another() -> None:
    copies = [places for places in _function_bodies().values() if len(places) > 1]
    assert copies == []
