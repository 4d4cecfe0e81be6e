"""Run a Python program and write its own peak resident memory to a file when it exits.

Usage: ``python benchmarks/child_peak.py REPORT -c CODE [ARG...]`` | ``REPORT -m MODULE [ARG...]`` |
``REPORT SCRIPT [ARG...]``. The program runs in this process as ``__main__`` (as ``python -c`` / ``-m`` /
``SCRIPT`` would run it); at interpreter exit (after non-daemon threads finished, also on ``sys.exit``) the
process writes ``<bytes> <source>`` to REPORT.

Why not the parent's ``wait4`` rusage: on Linux a child's ``ru_maxrss`` carries its parent's high-water mark
across fork/vfork and exec (``python -c pass`` started by a large parent reads the parent's peak). ``VmHWM`` in
``/proc/self/status`` belongs to the process's own address space, created by exec. Where there is no
``/proc`` (macOS), the fallback is the process's own ``getrusage(RUSAGE_SELF).ru_maxrss``, reported with
source ``ru_maxrss`` so the caller can flag it as not verified.

Only the standard library: this file runs by path, before (and instead of) any project import.
"""

from __future__ import annotations

import atexit
import resource
import runpy
import sys
from pathlib import Path

VM_HWM = "VmHWM"
RU_MAXRSS = "ru_maxrss"


def own_peak_rss() -> tuple[int, str]:
    """This process's peak RSS in bytes and where it comes from (``VmHWM`` or the ``ru_maxrss`` fallback)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith(f"{VM_HWM}:"):
            return int(line.split()[1]) * 1024, VM_HWM
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (maxrss if sys.platform == "darwin" else maxrss * 1024), RU_MAXRSS


def _write_report(report: Path) -> None:
    peak, source = own_peak_rss()
    report.write_text(f"{peak} {source}\n")


def main(argv: list[str]) -> None:
    """Run the program of ``argv[1:]`` as ``__main__`` and report its peak RSS to ``argv[0]`` at exit."""
    if len(argv) < 2 or (argv[1] in ("-c", "-m") and len(argv) < 3):
        raise SystemExit("usage: child_peak.py REPORT (-c CODE | -m MODULE | SCRIPT) [ARG...]")
    report, program = Path(argv[0]), argv[1:]
    atexit.register(_write_report, report)
    if program[0] == "-c":
        sys.argv = ["-c", *program[2:]]
        sys.path[0] = ""  # as python -c: the working folder first
        exec(compile(program[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    elif program[0] == "-m":
        sys.argv = [program[1], *program[2:]]
        sys.path[0] = ""
        runpy.run_module(program[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = program
        sys.path[0] = str(Path(program[0]).resolve().parent)  # as python SCRIPT: the script's folder first
        runpy.run_path(program[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
