"""`make mutate`: mutation testing of the safety modules with mutmut, one module at a time.

Each module of mutation/modules.toml is mutated in a scratch copy of the tree (build/mutation/)
and its mutants are run against the tests listed for it; mutmut then runs, for each mutant, only
those of the listed tests that call the mutated function. Prints the kill ratio per module, after
subtracting the reviewed equivalent mutants of mutation/equivalents.toml, and every surviving
mutant with file and line. Results go to bench/results/mutation.json.

    python -m mutation.run                      every module (the full run, `make mutate`)
    python -m mutation.run --module framing     the modules whose path contains "framing"
    python -m mutation.run --sample 40 --seed 16   40 mutants drawn at random (`make test`)

Exit status 1 when a non-equivalent mutant survived, 2 when the tool itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mutation.locate import locate
from mutation.verdicts import ModuleResult, summarize

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutation"
RESULTS = ROOT / "bench" / "results" / "mutation.json"
MUTMUT = Path(sys.executable).parent / "mutmut"
# Copied into the scratch tree: the packages, the tests and what the tests read.
COPIED = ("firmware_bridge", "controller", "profiles", "simulator", "tests", "docs", "bench")
COPIED_FILES = ("pyproject.toml", "README.md", "Makefile")
IGNORED = shutil.ignore_patterns("__pycache__", "results", ".hypothesis", "*.pyc")


@dataclass(frozen=True)
class Module:
    path: str
    tests: tuple[str, ...]
    in_sample: bool


def load_modules(selector: str | None) -> list[Module]:
    table = tomllib.loads((ROOT / "mutation" / "modules.toml").read_text())["module"]
    modules = [
        Module(entry["path"], tuple(entry["tests"]), bool(entry.get("sample", False)))
        for entry in table
    ]
    if selector:
        modules = [m for m in modules if selector in m.path]
    return modules


def load_equivalents() -> dict[str, str]:
    """Mutant name -> the reviewed reason it cannot change behaviour."""
    table = tomllib.loads((ROOT / "mutation" / "equivalents.toml").read_text())
    return {entry["mutant"]: entry["reason"] for entry in table.get("equivalent", [])}


def _prepare(module: Module, scratch: Path) -> None:
    """A fresh copy of the tree whose pyproject tells mutmut what to mutate and which tests run."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(ROOT / name, scratch / name, ignore=IGNORED)
    for name in COPIED_FILES:
        shutil.copy2(ROOT / name, scratch / name)
    config = {
        "source_paths": ["firmware_bridge", "controller", "profiles", "simulator"],
        "only_mutate": [module.path],
        "pytest_add_cli_args_test_selection": list(module.tests),
        "pytest_add_cli_args": ["-p", "no:randomly", "-p", "no:cacheprovider", "-q"],
        "also_copy": ["docs", "bench", "README.md", "Makefile"],
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"] + [
        f"{key} = {json.dumps(value)}" for key, value in config.items()
    ]
    with (scratch / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n".join(lines) + "\n")


def _mutmut(scratch: Path, args: list[str], log: Path) -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("a") as out:
        return subprocess.run(
            [str(MUTMUT), *args], cwd=scratch, stdout=out, stderr=subprocess.STDOUT, env=env
        ).returncode


def _verdicts(scratch: Path, module: Module) -> dict[str, int | None]:
    meta = scratch / "mutants" / (module.path + ".meta")
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return codes


def run_module(module: Module, jobs: int, sample: int | None, seed: int) -> ModuleResult:
    scratch = SCRATCH / module.path.replace("/", "__").removesuffix(".py")
    log = scratch.parent / (scratch.name + ".log")
    _prepare(module, scratch)
    log.write_text("")
    started = time.monotonic()
    chosen: list[str] | None = None
    if sample is not None:
        # The first call makes the mutants and the test map; no mutant matches its pattern.
        if _mutmut(scratch, ["run", "--max-children", str(jobs), "none-of-them"], log) != 0:
            raise RuntimeError(f"mutmut could not start on {module.path}; see {log}")
        names = sorted(_verdicts(scratch, module))
        chosen = sorted(
            random.Random(f"{seed}:{module.path}").sample(names, min(sample, len(names)))
        )
        args = ["run", "--max-children", str(jobs), *chosen]
    else:
        args = ["run", "--max-children", str(jobs)]
    if chosen != [] and _mutmut(scratch, args, log) != 0:
        raise RuntimeError(f"mutmut failed on {module.path}; see {log}")
    codes = _verdicts(scratch, module)
    if chosen is not None:
        codes = {name: codes.get(name) for name in chosen}
    mutants = [locate(ROOT, scratch, module.path, name, code) for name, code in codes.items()]
    return ModuleResult(module.path, mutants, time.monotonic() - started)


def _print(result: ModuleResult, equivalents: dict[str, str]) -> None:
    summary = summarize(result, equivalents)
    print(
        f"{result.path:<44} {summary['killed']:>4}/{summary['counted']:<4} killed "
        f"{summary['kill_ratio_percent']:>6.1f}%  ({summary['equivalent']} equivalent, "
        f"{result.seconds:.0f} s)"
    )
    for mutant in result.mutants:
        if mutant.alive and mutant.name not in equivalents:
            print(f"    SURVIVED {mutant.where}  {mutant.change}  [{mutant.status}] {mutant.name}")
    sys.stdout.flush()


def _write(
    results: list[ModuleResult], equivalents: dict[str, str], args: argparse.Namespace
) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "tool": "mutmut " + _tool_version(),
        "mode": "sample" if args.sample else "full",
        "sample_per_module": args.sample,
        "seed": args.seed,
        "modules": [
            summarize(result, equivalents) | {"survivors": _survivors(result, equivalents)}
            for result in results
        ],
    }
    target = RESULTS.with_name("mutation-sample.json") if args.sample else RESULTS
    target.write_text(json.dumps(report, indent=2) + "\n")


def _survivors(result: ModuleResult, equivalents: dict[str, str]) -> list[dict[str, str]]:
    return [m.as_json() for m in result.mutants if m.alive and m.name not in equivalents]


def _tool_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", help="only the modules whose path contains this")
    parser.add_argument("--sample", type=int, help="mutants drawn at random per sampled module")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=1, help="mutmut workers (default 1)")
    args = parser.parse_args(argv)
    modules = load_modules(args.module)
    if args.sample:
        modules = [m for m in modules if m.in_sample]
    if not modules:
        print(f"no module of mutation/modules.toml matches {args.module!r}", file=sys.stderr)
        return 2
    equivalents = load_equivalents()
    results = []
    for module in modules:
        try:
            results.append(run_module(module, args.jobs, args.sample, args.seed))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        _print(results[-1], equivalents)
    _write(results, equivalents, args)
    alive = sum(len(_survivors(result, equivalents)) for result in results)
    return 1 if alive else 0


if __name__ == "__main__":
    sys.exit(main())
