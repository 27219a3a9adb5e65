"""Runs the cases against one pen, in order, and leaves the motor stopped whatever happens."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from serial import SerialException

from firmware_bridge.clock import NS_PER_MS, TimeSource
from firmware_bridge.conformance import cases_link, cases_pen, cases_physical
from firmware_bridge.conformance.context import Context, Operator, Settings
from firmware_bridge.conformance.model import Case, CaseResult, KitRun, Outcome
from firmware_bridge.conformance.probe import Nonconformance, Port, Probe, Skipped
from firmware_bridge.protocol import Stop, StopReason

# The handshake first (every case needs the pen's limits); the cartridge case last (it uses up
# the seated cartridge).
CASES: tuple[Case, ...] = (*cases_link.CASES, *cases_pen.CASES, *cases_physical.CASES)


class SelectionError(ValueError):
    """--only matched no case; the message lists what would."""


def select(only: Sequence[str]) -> tuple[Case, ...]:
    """The cases whose id is in `only` or whose section starts with one of them ("7.2", "§5")."""
    if not only:
        return CASES
    wanted = [w if w.startswith("§") or not w[:1].isdigit() else f"§{w}" for w in only]
    chosen = tuple(
        case
        for case in CASES
        if case.id in wanted or any(case.section.startswith(w) for w in wanted if w[:1] == "§")
    )
    if not chosen:
        known = ", ".join(sorted({c.section for c in CASES} | {c.id for c in CASES}))
        raise SelectionError(f"--only {' '.join(only)} matches no case; choose from: {known}")
    return chosen


def run_kit(
    port: Port,
    clock: TimeSource,
    operator: Operator,
    *,
    settings: Settings | None = None,
    only: Sequence[str] = (),
    on_result: Callable[[CaseResult], None] | None = None,
) -> KitRun:
    """Every selected case against the pen on `port`; the handshake always runs first."""
    chosen = select(only)
    ctx = Context(Probe(port, clock), operator, settings or Settings())
    handshake, rest = CASES[0], [c for c in chosen if c is not CASES[0]]
    results = [_run(ctx, handshake)]
    if on_result is not None:
        on_result(results[0])
    if results[0].outcome is not Outcome.PASSED:
        why = "not run: the handshake failed"
        results += [CaseResult(c.id, c.section, c.title, Outcome.SKIPPED, why, 0.0) for c in rest]
    else:
        for case in rest:
            results.append(_run(ctx, case))
            if on_result is not None:
                on_result(results[-1])
        _leave_safe(ctx, final=True)
    return KitRun(results, ctx.identify, ctx.cartridge)


def _run(ctx: Context, case: Case) -> CaseResult:
    start = ctx.probe.now_ns()
    section, message = case.section, ""
    try:
        case.run(ctx)
        outcome = Outcome.PASSED
    except Nonconformance as failure:
        outcome, section, message = Outcome.FAILED, failure.section, failure.message
    except Skipped as skip:
        outcome, message = Outcome.SKIPPED, str(skip)
    except (SerialException, OSError) as exc:
        outcome, message = Outcome.ERROR, f"the port failed: {exc}"
    except Exception as exc:  # a fault of the kit itself: reported, the other cases still run
        outcome, message = Outcome.ERROR, f"the kit failed: {type(exc).__name__}: {exc}"
    finally:
        _leave_safe(ctx)
    took = (ctx.probe.now_ns() - start) / NS_PER_MS
    return CaseResult(case.id, section, case.title, outcome, message, took)


def _leave_safe(ctx: Context, final: bool = False) -> None:
    """No lease renewed and a STOP sent after every case, so the motor never runs on (S4, S5)."""
    probe = ctx.probe
    probe.keep_lease(None)
    try:
        probe.send(Stop(StopReason.SESSION_END))
        probe.wait_ms(ctx.reply_ms)
        if final:
            ctx.reset()
    except (SerialException, OSError, Nonconformance):
        pass
