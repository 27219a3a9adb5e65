"""`make mutate`: mutation testing of the safety modules with mutmut, one module at a time.

Each module of mutation/modules.toml is mutated in a scratch copy of the tree (build/mutation/)
and its mutants are run against the tests listed for it; mutmut then runs, for each mutant, only
those of the listed tests that call the mutated function. Prints the kill ratio per module, after
subtracting the reviewed equivalent mutants of mutation/equivalents.toml, and every surviving
mutant with file and line. Results go to bench/results/mutation.json.

    python -m mutation.run                      every module (the full run, `make mutate`)
    python -m mutation.run --module framing     the modules whose path contains "framing"
    python -m mutation.run --module codec --again  only the last full run's survivors, again
    python -m mutation.run --sample 2 --seed 16    2 mutants per sampled module (`make test`)
    python -m mutation.run --equivalents        only the reviewed equivalents, made afresh

Exit status 1 when a non-equivalent mutant survived or an entry of equivalents.toml no longer
holds (its mutant now makes another change than the one reviewed, renumbered by a change to its
function; or was killed; or, after a full run, is no mutant of the module), 2 when the tool
itself failed.
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
from mutation.verdicts import ModuleResult, Reviewed, stale_equivalents, summarize

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutation"
RESULTS = ROOT / "bench" / "results" / "mutation.json"
MUTMUT = Path(sys.executable).parent / "mutmut"
# Copied into the scratch tree: the packages, the tests and what the tests read.
COPIED = (
    "firmware_bridge",
    "controller",
    "profiles",
    "simulator",
    "tests",
    "docs",
    "bench",
    "examples",
)
COPIED_FILES = ("pyproject.toml", "README.md", "Makefile")
IGNORED = shutil.ignore_patterns("__pycache__", "results", ".hypothesis", "*.pyc")


@dataclass(frozen=True)
class Module:
    path: str
    tests: tuple[str, ...]
    sample_tests: tuple[str, ...]  # the fast ones, for the sampled run; empty: not sampled
    deselect: tuple[str, ...] = ()  # tests of those files too slow to run once per mutant


def load_modules(selector: str | None) -> list[Module]:
    table = tomllib.loads((ROOT / "mutation" / "modules.toml").read_text())["module"]
    modules = [
        Module(
            entry["path"],
            tuple(entry["tests"]),
            tuple(entry.get("sample_tests", ())),
            tuple(entry.get("deselect", ())),
        )
        for entry in table
    ]
    if selector:
        modules = [m for m in modules if selector in m.path]
    return modules


def load_equivalents() -> Reviewed:
    """The reviewed mutants: equivalent ones by name, unreachable ones by their function."""
    table = tomllib.loads((ROOT / "mutation" / "equivalents.toml").read_text())
    equivalent = table.get("equivalent", [])
    return Reviewed(
        {entry["mutant"]: entry["reason"] for entry in equivalent},
        {entry["function"]: entry["reason"] for entry in table.get("import_time", [])},
        {entry["mutant"]: entry["change"] for entry in equivalent if "change" in entry},
        {entry["mutant"]: entry["offset"] for entry in equivalent if "offset" in entry},
    )


def _prepare(modules: list[Module], scratch: Path) -> None:
    """A fresh copy of the tree, configured for `modules`."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(ROOT / name, scratch / name, ignore=IGNORED)
    for name in COPIED_FILES:
        shutil.copy2(ROOT / name, scratch / name)
    _configure(modules, scratch)


def _configure(modules: list[Module], scratch: Path) -> None:
    """Our pyproject, plus a [tool.mutmut] table: what to mutate and which tests to run."""
    tests = sorted({test for module in modules for test in module.tests})
    deselected = sorted({test for module in modules for test in module.deselect})
    config = {
        "source_paths": ["firmware_bridge", "controller", "profiles", "simulator"],
        "only_mutate": [module.path for module in modules],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:randomly", "-p", "no:cacheprovider", "-q"]
        + [arg for test in deselected for arg in ("--deselect", test)],
        "also_copy": ["docs", "bench", "examples", "README.md", "Makefile"],
        "use_git_change_detection": False,
        # A mutant that loops is stopped after 4x its tests' CPU time (mutmut's default, 15x,
        # spends minutes on each).
        "timeout_multiplier": 4.0,
        # mutmut also stops a mutant after (its tests' time + this) x 4 seconds of *wall* time
        # and counts it killed. Its tests' time leaves out fixtures and collection, so at the
        # default of 1 s a survivor that runs its whole selection on a loaded machine was
        # "killed" by the clock (94 of the verifier's first 540); 15 s leaves room for that.
        "timeout_constant": 15.0,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    table = "\n".join(["", "[tool.mutmut]", *lines, ""])
    (scratch / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + table)


def _mutmut(scratch: Path, args: list[str], log: Path) -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HYPOTHESIS_PROFILE": "mutation"}
    with log.open("a") as out:
        return subprocess.run(
            [str(MUTMUT), *args], cwd=scratch, stdout=out, stderr=subprocess.STDOUT, env=env
        ).returncode


def _generate(scratch: Path, log: Path) -> None:
    """Only mutmut's first step, making the mutants (so their names can be drawn), without its
    test run. mutmut has no command for it; these are the calls `mutmut run` starts with."""
    steps = (
        "m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths(); m.create_mutants(1)"
    )
    code = f"import mutmut.__main__ as m; {steps}"
    with log.open("a") as out:
        done = subprocess.run([sys.executable, "-c", code], cwd=scratch, stdout=out, stderr=out)
    if done.returncode != 0:
        raise RuntimeError(f"mutmut could not make the mutants; see {log}")


def _verdicts(scratch: Path, module: Module) -> dict[str, int | None]:
    meta = scratch / "mutants" / (module.path + ".meta")
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return codes


def run_group(
    modules: list[Module], name: str, jobs: int, sample: int | None, seed: int
) -> list[ModuleResult]:
    """One mutmut run over `modules` in one scratch tree; `sample` mutants per module, or all."""
    scratch = SCRATCH / name
    log = scratch.parent / (name + ".log")
    _prepare(modules, scratch)
    log.write_text("")
    started = time.monotonic()
    chosen: dict[str, list[str]] | None = None
    if sample is not None:
        _generate(scratch, log)
        chosen = {}
        for module in modules:
            names = sorted(_verdicts(scratch, module))
            rng = random.Random(f"{seed}:{module.path}")
            chosen[module.path] = sorted(rng.sample(names, min(sample, len(names))))
        _run_named(scratch, log, jobs, [n for picked in chosen.values() for n in picked])
    elif _mutmut(scratch, ["run", "--max-children", str(jobs)], log) != 0:
        raise RuntimeError(f"mutmut failed; see {log}")
    return _results(modules, scratch, chosen, time.monotonic() - started)


def rerun_survivors(module: Module, name: str, jobs: int, reviewed: Reviewed) -> ModuleResult:
    """After new tests: the survivors of the module's last full run, against today's tests.

    Tests are only ever added, so a mutant killed then is killed still; the module itself must
    be unchanged since that run, or every mutant needs running again."""
    scratch = SCRATCH / name
    log = scratch.parent / (name + ".log")
    if not (scratch / "mutants" / (module.path + ".meta")).exists():
        raise RuntimeError(f"{module.path} has had no full run yet; run it without --again")
    if (scratch / module.path).read_bytes() != (ROOT / module.path).read_bytes():
        raise RuntimeError(f"{module.path} changed since its full run; run it without --again")
    started = time.monotonic()
    for tests in (scratch / "tests", scratch / "mutants" / "tests"):
        shutil.rmtree(tests)
        shutil.copytree(ROOT / "tests", tests, ignore=IGNORED)
    _configure([module], scratch)
    # Without its saved map of which test calls which function, mutmut maps today's tests again
    # (and keeps every verdict it has, which a changed test selection would otherwise reset).
    (scratch / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    [before] = _results([module], scratch, None, 0.0)
    alive = [m.name for m in before.mutants if m.alive and not reviewed.excuses(m.name)]
    _run_named(scratch, log, jobs, alive)
    return _results([module], scratch, None, time.monotonic() - started)[0]


def check_equivalents(modules: list[Module], jobs: int, reviewed: Reviewed) -> list[str]:
    """The reviewed equivalents of `modules`, made afresh from today's code and run against
    today's tests (minutes, not the hours of every mutant): the entries that no longer hold."""
    scratch = SCRATCH / "equivalents"
    log = scratch.parent / "equivalents.log"
    _prepare(modules, scratch)
    log.write_text("")
    _generate(scratch, log)
    names = [n for m in modules for n in _verdicts(scratch, m) if n in reviewed.equivalent]
    _run_named(scratch, log, jobs, names)
    results = _results(modules, scratch, None, 0.0)
    return [line for r in results for line in stale_equivalents(r, reviewed, full=True)]


def _run_named(scratch: Path, log: Path, jobs: int, names: list[str]) -> None:
    if names and _mutmut(scratch, ["run", "--max-children", str(jobs), *names], log) != 0:
        raise RuntimeError(f"mutmut failed; see {log}")


def _results(
    modules: list[Module], scratch: Path, chosen: dict[str, list[str]] | None, seconds: float
) -> list[ModuleResult]:
    results = []
    for module in modules:
        codes = _verdicts(scratch, module)
        if chosen is not None:
            codes = {n: codes.get(n) for n in chosen[module.path]}
        mutants = [locate(ROOT, scratch, module.path, n, code) for n, code in codes.items()]
        results.append(ModuleResult(module.path, mutants, seconds / len(modules)))
    return results


def _print(result: ModuleResult, equivalents: Reviewed, full: bool) -> None:
    summary = summarize(result, equivalents)
    print(
        f"{result.path:<44} {summary['killed']:>4}/{summary['counted']:<4} killed "
        f"{summary['kill_ratio_percent']:>6.1f}%  ({summary['equivalent']} equivalent, "
        f"{summary['import_time']} import-time, {result.seconds:.0f} s)"
    )
    for mutant in result.mutants:
        if mutant.alive and not equivalents.excuses(mutant.name):
            print(f"    SURVIVED {mutant.where}  {mutant.change}  [{mutant.status}] {mutant.name}")
    for line in stale_equivalents(result, equivalents, full=full):
        print(f"    STALE EQUIVALENT {line}: check its entry in mutation/equivalents.toml")
    sys.stdout.flush()


def _write(
    results: list[ModuleResult], equivalents: Reviewed, sample: int | None, again: bool = False
) -> None:
    """Full runs update their modules in mutation.json and keep the others' last results, so
    modules can be run one at a time; the sampled run has a file of its own."""
    target = RESULTS.with_name("mutation-sample.json") if sample else RESULTS
    target.parent.mkdir(parents=True, exist_ok=True)
    kept: dict[str, object] = {}
    if not sample and target.exists():
        kept = {m["module"]: m for m in json.loads(target.read_text()).get("modules", [])}
    stamp = {
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": _commit(),
        "survivors_rerun": again,
    }
    for result in results:
        survivors = {
            "survivors": _survivors(result, equivalents),
            "stale_equivalents": stale_equivalents(result, equivalents, full=not (sample or again)),
        }
        kept[result.path] = summarize(result, equivalents) | stamp | survivors
    report = {
        "tool": "mutmut " + _tool_version(),
        "mode": "sample" if sample else "full",
        "sample_per_module": sample,
        "modules": list(kept.values()),
    }
    target.write_text(json.dumps(report, indent=2) + "\n")


def _commit() -> str:
    """The commit the results belong to, with "+changes" when the tree differed from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _survivors(result: ModuleResult, equivalents: Reviewed) -> list[dict[str, str]]:
    return [m.as_json() for m in result.mutants if m.alive and not equivalents.excuses(m.name)]


def _tool_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def _check_equivalents(modules: list[Module], jobs: int) -> int:
    reviewed = load_equivalents()
    try:
        stale = check_equivalents(modules, jobs, reviewed)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in stale:
        print(f"STALE EQUIVALENT {line}")
    prefixes = tuple(m.path.removesuffix(".py").replace("/", ".") + "." for m in modules)
    checked = sum(name.startswith(prefixes) for name in reviewed.equivalent)
    print(f"{checked} reviewed equivalents of {len(modules)} modules: {len(stale)} no longer hold")
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", help="only the modules whose path contains this")
    parser.add_argument("--sample", type=int, help="mutants drawn at random per sampled module")
    parser.add_argument("--seed", type=int, default=16, help="of the sample (default 16)")
    parser.add_argument("--jobs", type=int, default=1, help="mutmut workers (default 1)")
    parser.add_argument(
        "--again", action="store_true", help="rerun only the survivors of the last full run"
    )
    parser.add_argument(
        "--equivalents", action="store_true", help="check only the reviewed equivalents"
    )
    args = parser.parse_args(argv)
    modules = load_modules(args.module)
    if args.equivalents and modules:
        return _check_equivalents(modules, args.jobs)
    if args.sample:
        modules = [
            Module(m.path, m.sample_tests, m.sample_tests) for m in modules if m.sample_tests
        ]
    if not modules:
        print(f"no module of mutation/modules.toml matches {args.module!r}", file=sys.stderr)
        return 2
    equivalents = load_equivalents()
    if args.sample:
        groups = [("sample", modules)]
    else:
        groups = [(m.path.replace("/", "__").removesuffix(".py"), [m]) for m in modules]
    results: list[ModuleResult] = []
    full = not (args.sample or args.again)
    for name, group in groups:
        try:
            if args.again:
                done = [rerun_survivors(group[0], name, args.jobs, equivalents)]
            else:
                done = run_group(group, name, args.jobs, args.sample, args.seed)
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for result in done:
            _print(result, equivalents, full)
        _write(done, equivalents, args.sample, args.again)
        results += done
    alive = sum(len(_survivors(result, equivalents)) for result in results)
    stale = sum(len(stale_equivalents(r, equivalents, full=full)) for r in results)
    return 1 if alive or stale else 0


if __name__ == "__main__":
    sys.exit(main())
