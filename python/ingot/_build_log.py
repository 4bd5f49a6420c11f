"""Build progress and the build report.

Progress: the C++ compile calls back with (phase, done, total). A tqdm bar appears once a build
has run for more than a second, when tqdm is installed and stderr is a terminal (or when
progress=True is asked for); progress=False never shows one.

The build report (`module.build_report`) gives the wall time of each phase: export (torch.export
and decompositions), lowering, partition, convert, backend build (tactic timing included),
tactic timing, serialization (serialize + verify), module (building the GraphModule).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Dict, List, Optional

logger = logging.getLogger("ingot")

_PHASE_TEXT = {"lower": "lowering", "partition": "partitioning", "build": "building engines"}


class Progress:
    """Receives the compile's progress callbacks; shows a tqdm bar for builds over a second."""

    def __init__(self, enabled: Optional[bool], delay_s: float = 1.0):
        self.enabled = enabled
        self.delay_s = delay_s
        self.t0 = time.perf_counter()
        self.bar = None
        self.events: List[tuple] = []

    def _want_bar(self) -> bool:
        if self.enabled is False:
            return False
        if self.enabled is None and not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
            return False
        return time.perf_counter() - self.t0 > self.delay_s

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.events.append((phase, done, total, time.perf_counter() - self.t0))
        logger.debug("build progress: %s %d/%d", phase, done, total)
        if self.bar is None and self._want_bar():
            try:
                from tqdm import tqdm
            except ImportError:
                self.enabled = False
                return
            self.bar = tqdm(total=max(total, 1), desc="ingot", unit="step", leave=False, file=sys.stderr)
        if self.bar is not None:
            self.bar.set_description(f"ingot: {_PHASE_TEXT.get(phase, phase)}")
            if self.bar.total != max(total, 1):
                self.bar.reset(total=max(total, 1))
            self.bar.n = done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class BuildReport:
    """Where a build's time went, per phase (seconds), and what it produced."""

    PHASES = ("export", "lowering", "partition", "convert", "backend_build", "tactic_timing", "serialization", "module")

    def __init__(self, phases: Dict[str, float], total_s: float, engines: int, warnings: List[str],
                 retrace: Optional[str] = None):
        self.phases = phases
        self.total_s = total_s
        self.engines = engines
        self.warnings = list(warnings)
        # Why the export phase retraced the program with run_decompositions; None when the
        # training IR was lowered in place (ingot._training_ir).
        self.retrace = retrace

    def to_dict(self) -> dict:
        return {"phases": dict(self.phases), "total_s": self.total_s, "engines": self.engines,
                "warnings": self.warnings, "retrace": self.retrace}

    def __str__(self) -> str:
        lines = [f"ingot build report: {self.total_s:.3f} s, {self.engines} engine(s)"]
        for name in self.PHASES:
            if name in self.phases:
                note = "  (part of backend_build)" if name == "tactic_timing" else ""
                if name == "export" and self.retrace:
                    note = f"  (retraced: {self.retrace})"
                lines.append(f"  {name:<14} {self.phases[name]:9.3f} s{note}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"BuildReport({self.to_dict()!r})"


def make_report(timings: dict, export_s: float, module_s: float, total_s: float, engines: int,
                warnings: List[str], retrace: Optional[str] = None) -> BuildReport:
    phases = {
        "export": export_s,
        "lowering": timings["lower"],
        "partition": timings["partition"],
        "convert": timings["convert"],
        "backend_build": timings["backend_build"],
        "tactic_timing": timings["tactic_timing"],
        "serialization": timings["serialize"],
        "module": module_s,
    }
    return BuildReport(phases, total_s, engines, warnings, retrace)


def log_report(report: BuildReport) -> None:
    logger.info("built %d engine(s) in %.3f s", report.engines, report.total_s)
    for name in BuildReport.PHASES:
        logger.debug("  phase %s: %.3f s", name, report.phases.get(name, 0.0))
