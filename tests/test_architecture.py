"""The layers of docs/architecture.md are a rule `lint-imports` checks (pyproject.toml's
contracts): these tests run it on the tree, and on a copy with one import that runs back up.
Inside every package too, no import runs back up (`ARROWS_UP`)."""

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.slow


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_its_layers(tmp_path: Path) -> None:
    result = _lint_imports(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "broken"),
    [
        # The kit reaching up into a domain.
        ("kit/ids.py", "import todo_api.tasks.service", "todo_api.kit is not allowed"),
        # One domain reaching into another.
        ("tasks/errors.py", "import todo_api.lists.service", "todo_api.tasks is not allowed"),
        # A table importing the kit.
        ("tables/users.py", "import todo_api.kit.ids", "todo_api.tables is not allowed"),
        # A domain using the identity provider's internals.
        ("lists/errors.py", "import todo_api.accounts.service", "todo_api.accounts.service"),
        # A domain reaching past auth's face: the token verifier is not part of it.
        (
            "tasks/user_routes.py",
            "import todo_api.auth.tokens",
            "todo_api.tasks.user_routes -> todo_api.auth.tokens",
        ),
        # Nor is who is calling's own module: the face is the package that re-exports it.
        (
            "tasks/user_routes.py",
            "import todo_api.auth.dependencies",
            "todo_api.tasks.user_routes -> todo_api.auth.dependencies",
        ),
        # Nor are its errors' and credentials' modules: the package re-exports what other rooms
        # use of them.
        (
            "edge/ops.py",
            "import todo_api.auth.errors",
            "todo_api.edge.ops -> todo_api.auth.errors",
        ),
        (
            "live/tickets.py",
            "import todo_api.auth.credentials",
            "todo_api.live.tickets -> todo_api.auth.credentials",
        ),
        # Nor is a module auth adds later: the face is an allow-list.
        (
            "lists/errors.py",
            "import todo_api.auth.jwks",
            "todo_api.lists.errors -> todo_api.auth.jwks",
        ),
        # Who is calling reaching up into the authorization server that uses it (the arrow
        # that once ran back up inside auth).
        (
            "auth/dependencies.py",
            "import todo_api.oauth.store",
            "todo_api.auth is not allowed to import todo_api.oauth",
        ),
        # The identity provider reaching up into the authorization server built on it.
        (
            "accounts/recovery.py",
            "import todo_api.oauth.store",
            "todo_api.accounts is not allowed to import todo_api.oauth",
        ),
        # Inside accounts: the account service reaching up into its routes.
        (
            "accounts/service.py",
            "import todo_api.accounts.router",
            "todo_api.accounts.service is not allowed to import todo_api.accounts.router",
        ),
        # Inside oauth: the rows reaching up into the sign-in page.
        (
            "oauth/store.py",
            "import todo_api.oauth.pages",
            "todo_api.oauth.store is not allowed to import todo_api.oauth.pages",
        ),
        # Inside web: what every page shares reaching up into an area's pages.
        (
            "web/common/site.py",
            "import todo_api.web.tasks.list_pages",
            "todo_api.web.common is not allowed to import todo_api.web.tasks",
        ),
        # Inside web: one area's pages importing another's.
        (
            "web/settings/profile.py",
            "import todo_api.web.tasks.calendar",
            "todo_api.web.settings is not allowed to import todo_api.web.tasks",
        ),
        # The hashed tokens reaching up into who is calling.
        (
            "auth/hashed_tokens.py",
            "import todo_api.auth.dependencies",
            "todo_api.auth.hashed_tokens is not allowed to import todo_api.auth.dependencies",
        ),
    ],
)
def test_an_import_that_runs_back_up_is_caught(
    tmp_path: Path, module: str, bad_import: str, broken: str
) -> None:
    tree = _copy(tmp_path)
    path = tree / "src/todo_api" / module
    path.write_text(path.read_text() + f"\n{bad_import}  # noqa\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert broken in result.stdout


# An arrow up: inside one package, an import from one of its children (a module, or a
# subpackage taken whole) to another, from which a chain of imports leads back. grimp is the
# import graph lint-imports reads.
ARROWS_UP = """
import grimp

graph = grimp.build_graph("todo_api", cache_dir=None)
modules = graph.modules
for package in sorted({m.rpartition(".")[0] for m in modules} - {""}):
    def child(module):
        if not module.startswith(package + "."):
            return None
        return package + "." + module[len(package) + 1 :].split(".")[0]
    edges = {}
    for module in modules:
        source = child(module)
        for target in map(child, graph.find_modules_directly_imported_by(module)):
            if source and target and target != source:
                edges.setdefault(source, set()).add(target)
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            seen, stack = set(), [target]
            while stack:
                for after in edges.get(stack.pop(), ()):
                    if after not in seen:
                        seen.add(after)
                        stack.append(after)
            if source in seen:
                print(source, "->", target)
"""


def _arrows_up(tree: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", ARROWS_UP],
        env={"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def test_no_package_has_an_import_running_back_up(tmp_path: Path) -> None:
    assert _arrows_up(_copy(tmp_path)) == []


def test_an_arrow_up_inside_a_package_is_found(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    path = tree / "src/todo_api/dav/call.py"
    path.write_text(path.read_text() + "\nimport todo_api.dav.server  # noqa\n")
    assert "todo_api.dav.call -> todo_api.dav.server" in _arrows_up(tree)


# Who may keep memberships: the access rule itself, the lists domain (which makes, changes and
# ends them), the change feed (which reads their stamps), and the tables and migrations.
MEMBERSHIP_KEEPERS = ("kit/access.py", "kit/changes.py", "lists/", "tables/", "migrations/")


def _names_memberships(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.ImportFrom)
        and any(alias.name == "list_members" for alias in node.names)
        for node in ast.walk(tree)
    )


def test_every_other_module_asks_the_access_rule_who_sees_a_list() -> None:
    package = ROOT / "src/todo_api"
    readers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if not str(path.relative_to(package)).startswith(MEMBERSHIP_KEEPERS)
        and _names_memberships(path)
    }
    assert readers == set()


# A module past this many lines holds more than one thing: split it by what each part holds.
MAX_SOURCE_LINES = 800


def test_no_source_file_is_over_the_limit() -> None:
    package = ROOT / "src/todo_api"
    too_long = {
        str(path.relative_to(package)): lines
        for path in package.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_SOURCE_LINES
    }
    assert too_long == {}


# auth's face, what other rooms may import of it: the package itself (its re-exports) and the
# modules its contract lets any room import (by an ignored import), three at most; today the
# package alone.
FACE_SIZE = 3


def test_auths_face_is_three_modules_at_most() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(
        contract
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["name"] == "Other rooms use auth only through its face"
    )
    assert contract["protected_modules"] == ["todo_api.auth.**"]
    face = {"todo_api.auth"} | {
        ignored.partition(" -> ")[2] for ignored in contract.get("ignore_imports", [])
    }
    assert all(module.startswith("todo_api.auth") for module in face), face
    assert len(face) <= FACE_SIZE, sorted(face)
    assert face == {"todo_api.auth"}


def _routers_beside_a_router(package: Path) -> list[str]:
    return sorted(
        str(path.relative_to(package))
        for path in package.rglob("*_router.py")
        if (path.parent / "router.py").exists()
    )


def test_no_room_has_a_router_beside_its_router() -> None:
    """A room's routes are in its `router.py` or in a module named for what they serve."""
    assert _routers_beside_a_router(ROOT / "src/todo_api") == []


def test_a_router_beside_a_router_is_found(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    (tree / "src/todo_api/lists/people_router.py").write_text("")
    assert _routers_beside_a_router(tree / "src/todo_api") == ["lists/people_router.py"]
