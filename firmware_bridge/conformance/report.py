"""The kit's results as people and CI read them: a table, JUnit XML and JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from typing import Any

from firmware_bridge.conformance.model import CaseResult, KitRun, Outcome

SUITE = "penctl conformance"


def summary(results: Sequence[CaseResult]) -> dict[str, int]:
    counts = Counter(r.outcome.value for r in results)
    return {outcome.value: counts.get(outcome.value, 0) for outcome in Outcome}


def table(results: Sequence[CaseResult]) -> str:
    """One line per case: outcome, section, case, time and what was wrong or why skipped."""
    width = max((len(r.id) for r in results), default=4)
    lines = [f"{'result':<8} {'section':<14} {'case':<{width}} {'ms':>7}  detail"]
    for r in results:
        lines.append(
            f"{r.outcome.value.upper():<8} {r.section:<14} {r.id:<{width}} "
            f"{r.duration_ms:>7.0f}  {r.message}".rstrip()
        )
    counts = summary(results)
    lines.append(", ".join(f"{n} {name}" for name, n in counts.items()))
    return "\n".join(lines)


def as_json(run: KitRun) -> dict[str, Any]:
    results = run.results
    return {
        "suite": SUITE,
        "protocol_version": 1,
        "passed": run.passed,
        "summary": summary(results),
        "pen": run.identify.fields() if run.identify else None,
        "cartridge": run.cartridge.fields() if run.cartridge else None,
        "cases": [
            {
                "id": r.id,
                "section": r.section,
                "title": r.title,
                "outcome": r.outcome.value,
                "message": r.message,
                "duration_ms": round(r.duration_ms, 1),
            }
            for r in results
        ],
    }


def junit_xml(run: KitRun) -> str:
    """JUnit XML as CI servers read it: one testcase per case, classname its section."""
    results, identify = run.results, run.identify
    counts = summary(results)
    suite = ET.Element(
        "testsuite",
        name=SUITE,
        tests=str(len(results)),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{sum(r.duration_ms for r in results) / 1000:.3f}",
    )
    if identify is not None:
        properties = ET.SubElement(suite, "properties")
        for name in ("model", "serial_number", "firmware_version"):
            ET.SubElement(properties, "property", name=name, value=str(getattr(identify, name)))
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=r.section,
            name=f"{r.id}: {r.title}",
            time=f"{r.duration_ms / 1000:.3f}",
        )
        tag = {Outcome.FAILED: "failure", Outcome.ERROR: "error", Outcome.SKIPPED: "skipped"}
        if r.outcome in tag:
            ET.SubElement(case, tag[r.outcome], message=f"{r.section}: {r.message}")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
