"""The timeouts of a module's last full run, checked again: a loop, a slow kill, or a survivor.

mutmut counts a mutant it stopped by the clock as killed, and its clock is partly wall time, so on
a loaded machine a survivor whose tests ran slowly can be counted killed (docs/testing.md,
"Counting"). This runs each mutant that the module's last full run counted as a timeout once more,
against the whole test selection of that run, under a CPU-time limit instead: `--factor` times the
CPU time the selection takes with no mutant on. The machine's load cannot decide that limit.

    python -m mutation.timeouts --module durable

Prints per mutant `loops` (it reached the limit), `killed` (a test failed) or `SURVIVED` (every
test passed: a gap, to be killed by a test). Exit status 1 when one survived.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tomllib
from pathlib import Path

from mutation.run import SCRATCH, Module, _results, load_modules

FACTOR = 10.0  # the limit, in multiples of the selection's CPU time with no mutant on
MIN_LIMIT_S = 20  # pytest's start-up alone varies by a few seconds
# pytest's exit codes (an internal error counts as a kill, as in mutmut); a signal is the limit
_VERDICTS = {0: "SURVIVED", 1: "killed", 3: "killed"}


def _pytest_args(scratch: Path) -> list[str]:
    """The tests and options of the module's run, as its scratch pyproject gave them to mutmut."""
    config = tomllib.loads((scratch / "pyproject.toml").read_text())["tool"]["mutmut"]
    return [*config["pytest_add_cli_args_test_selection"], *config["pytest_add_cli_args"], "-x"]


def _run(scratch: Path, mutant: str, limit_s: int | None) -> tuple[int, float]:
    """pytest with `mutant` on (none: ""), in the mutated tree; its exit code and CPU seconds."""

    def limit_cpu() -> None:
        os.nice(19)
        if limit_s is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (limit_s, limit_s + 1))

    env = {
        **os.environ,
        "MUTANT_UNDER_TEST": mutant,
        "PYTHONDONTWRITEBYTECODE": "1",
        "HYPOTHESIS_PROFILE": "mutation",
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *_pytest_args(scratch)],
        cwd=scratch / "mutants",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=limit_cpu,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.returncode, cpu


def check(module: Module, factor: float) -> int:
    """Prints each timeout's verdict; returns how many survived."""
    scratch = SCRATCH / module.path.replace("/", "__").removesuffix(".py")
    if not (scratch / "mutants" / (module.path + ".meta")).exists():
        raise RuntimeError(f"{module.path} has had no full run yet; run mutation.run first")
    [result] = _results([module], scratch, None, 0.0)
    timeouts = [m for m in result.mutants if m.status == "timeout"]
    if not timeouts:
        print(f"{module.path}: no timeouts")
        return 0
    code, baseline = _run(scratch, "", None)
    if code != 0:
        raise RuntimeError(f"the tests of {module.path} fail with no mutant on (exit {code})")
    limit = max(MIN_LIMIT_S, round(baseline * factor))
    print(f"{module.path}: {len(timeouts)} timeouts; the tests take {baseline:.1f} s of CPU, "
          f"limit {limit} s")  # fmt: skip
    survived = 0
    for mutant in timeouts:
        code, cpu = _run(scratch, mutant.name, limit)
        verdict = _VERDICTS.get(code, "loops" if code < 0 else f"exit {code}")
        survived += verdict == "SURVIVED"
        print(f"    {verdict:<8} {cpu:5.1f} s  {mutant.where}  {mutant.change}  {mutant.name}")
        sys.stdout.flush()
    return survived


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", required=True, help="the modules whose path contains this")
    parser.add_argument("--factor", type=float, default=FACTOR, help="the CPU limit (default 10)")
    args = parser.parse_args(argv)
    modules = load_modules(args.module)
    if not modules:
        print(f"no module of mutation/modules.toml matches {args.module!r}", file=sys.stderr)
        return 2
    try:
        survived = sum(check(module, args.factor) for module in modules)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
