"""The layering of ARCHITECTURE.md §1, declared as import-linter contracts in pyproject.toml,
and, inside controller, the one rule a contract cannot say simply: only `penctl audit` imports the
journal's audit package (a session loads the writer alone).

`make lint` runs `lint-imports`; here it runs on the tree (every contract kept) and on copies of
the tree with one wrong import each, to show that the contracts bite: each copy fails, naming the
broken contract and the import that broke it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("controller", "firmware_bridge", "profiles", "simulator")

LAYERS = "controller sits above firmware_bridge and profiles, which are independent of each other"
PROFILES_ALONE = "profiles imports nothing else of ours"
FIRMWARE_BRIDGE_ALONE = "firmware_bridge imports no other package of ours"
SIMULATOR_ON_PROTOCOL = (
    "simulator imports only firmware_bridge.protocol and firmware_bridge.clock of ours"
)
SIMULATOR_ONLY_IN_SIM = "within controller only the sim and session commands import simulator"
CONTRACTS = (
    LAYERS,
    PROFILES_ALONE,
    FIRMWARE_BRIDGE_ALONE,
    SIMULATOR_ON_PROTOCOL,
    SIMULATOR_ONLY_IN_SIM,
)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages and pyproject.toml under `root`.

    It finds pyproject.toml in its working directory and puts that directory first on sys.path;
    PYTHONPATH says the same, so the packages under `root`, not the installed ones, are analysed.
    COLUMNS keeps each contract's verdict on one line.
    """
    script = Path(sys.executable).with_name("lint-imports")
    command = str(script) if script.exists() else shutil.which("lint-imports")
    assert command, "lint-imports is not installed: `make test` installs the test extra"
    return subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"},
    )


def test_every_contract_is_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def pristine_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four packages and pyproject.toml, copied once; each test copies this again."""
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    assert _lint_imports(root).returncode == 0, "the untouched copy must pass"
    return root


@pytest.mark.parametrize(
    ("module", "wrong_import", "broken", "offence"),
    [
        pytest.param(
            "profiles/units.py",
            "import controller",
            {LAYERS, PROFILES_ALONE},
            "profiles.units -> controller",
            id="profiles-imports-controller",
        ),
        pytest.param(
            "profiles/units.py",
            "import simulator",
            # controller imports profiles.units: controller now reaches simulator through it
            {PROFILES_ALONE, SIMULATOR_ONLY_IN_SIM},
            "profiles.units -> simulator",
            id="profiles-imports-simulator",
        ),
        pytest.param(
            "simulator/model.py",
            "import controller",
            {SIMULATOR_ON_PROTOCOL},
            "simulator.model -> controller",
            id="simulator-imports-controller",
        ),
        pytest.param(
            "simulator/model.py",
            "import profiles",
            {SIMULATOR_ON_PROTOCOL},
            "simulator.model -> profiles",
            id="simulator-imports-profiles",
        ),
        pytest.param(
            "simulator/model.py",
            "import firmware_bridge.transport",
            {SIMULATOR_ON_PROTOCOL},
            "simulator.model -> firmware_bridge.transport",
            id="simulator-imports-the-host-transport",
        ),
        pytest.param(
            "simulator/__init__.py",
            "import firmware_bridge",
            {SIMULATOR_ON_PROTOCOL},
            "simulator -> firmware_bridge",
            id="simulator-init-imports-firmware-bridge",
        ),
        pytest.param(
            "firmware_bridge/transport.py",
            "import simulator",
            {FIRMWARE_BRIDGE_ALONE, SIMULATOR_ONLY_IN_SIM},
            "firmware_bridge.transport -> simulator",
            id="firmware-bridge-imports-simulator",
        ),
        pytest.param(
            "firmware_bridge/clock.py",
            "import profiles",
            {LAYERS, FIRMWARE_BRIDGE_ALONE},
            "firmware_bridge.clock -> profiles",
            id="firmware-bridge-imports-profiles",
        ),
        pytest.param(
            "controller/commands/run.py",
            "import simulator.pen",
            {SIMULATOR_ONLY_IN_SIM},
            "controller.commands.run -> simulator.pen",
            id="controller-run-imports-simulator",
        ),
    ],
)
def test_a_wrong_import_breaks_its_contract(
    pristine_copy: Path,
    tmp_path: Path,
    module: str,
    wrong_import: str,
    broken: set[str],
    offence: str,
) -> None:
    root = tmp_path / "tree"
    shutil.copytree(pristine_copy, root)
    with (root / module).open("a", encoding="utf-8") as source:
        source.write(f"\n{wrong_import}  # the wrong import under test\n")
    result = _lint_imports(root)
    assert result.returncode == 1, result.stdout + result.stderr
    for name in CONTRACTS:
        verdict = "BROKEN" if name in broken else "KEPT"
        assert f"{name} {verdict}" in result.stdout, result.stdout
    assert offence in result.stdout


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_penctl_audit_imports_the_auditors_tools() -> None:
    """A session loads the journal's writer, never its verifier or reports (§1)."""
    audit = "controller.journal.audit"
    allowed = {ROOT / "controller" / "commands" / "audit.py"}
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "controller").rglob("*.py")
        if path not in allowed and (ROOT / "controller" / "journal" / "audit") not in path.parents
        for name in _imports(path)
        if name == audit or name.startswith(audit + ".")
    }
    assert not wrong, sorted(wrong)
