"""Re-run every chapter under several seeds and with oneDNN off: do its claims still hold?

A chapter asserts what its trained results show ("dropout lowers the validation loss",
"the CNN reaches 91 %"). Such a claim is a fact about the method only if it holds for any
seed and on any CPU. This script executes each chapter top to bottom in a fresh kernel
(plain execution, not nbval: printed numbers may move, assertions must not) for every
setting and prints one row per chapter and setting, then a Markdown table for
bench/RESULTS.md.

    python scripts/robustness.py                       # all chapters, the six settings
    python scripts/robustness.py --chapters 04_training --settings seed=1 seed=0,onednn=off

Settings: ``seed=N`` (oneDNN on, the default) or ``seed=N,onednn=off``. Turning oneDNN off
changes the floating-point rounding the way another CPU's kernels do.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_SETTINGS = [f"seed={seed}" for seed in range(5)] + ["seed=0,onednn=off"]
CELL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Setting:
    """One way of running the book: a seed and whether oneDNN's kernels are on."""

    seed: int
    onednn: bool

    @classmethod
    def parse(cls, text: str) -> Setting:
        fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
        if set(fields) - {"seed", "onednn"} or "seed" not in fields:
            raise ValueError(f"a setting reads seed=N or seed=N,onednn=off, got {text!r}")
        if fields.get("onednn", "on") not in ("on", "off"):
            raise ValueError(f"onednn must be on or off, got {text!r}")
        return cls(int(fields["seed"]), fields.get("onednn", "on") == "on")

    def __str__(self) -> str:
        return f"seed {self.seed}, oneDNN {'on' if self.onednn else 'off'}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ, MAPPING_SEED=str(self.seed))
        env["TF_ENABLE_ONEDNN_OPTS"] = "1" if self.onednn else "0"
        return env


def failures(notebook: nbformat.NotebookNode) -> list[str]:
    """Each failing cell's index and the last line of its error (the assertion that failed)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                value = (output.get("evalue") or "").strip().splitlines()
                found.append(f"cell {index}: {output.get('ename')}"
                             + (f": {value[0][:120]}" if value else ""))
    return found


def run_chapter(path: Path, setting: Setting, save: Path | None = None) -> tuple[list[str], float]:
    """Execute one notebook in a fresh kernel with the setting's environment.

    Execution goes on past a failing cell, so one run reports every claim that broke. With
    ``save``, the executed notebook is written there, to read the margins off its outputs.
    """
    notebook = nbformat.read(path, as_version=4)
    saved, wanted = dict(os.environ), setting.environment()
    os.environ.clear()
    os.environ.update(wanted)  # the kernel inherits this process's environment
    start = time.perf_counter()
    try:
        NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        problems = failures(notebook)
    except (CellTimeoutError, DeadKernelError) as error:
        problems = failures(notebook) + [f"{type(error).__name__}: {str(error)[:120]}"]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            name = f"{path.stem}.seed{setting.seed}{'' if setting.onednn else '.onednn-off'}.ipynb"
            nbformat.write(notebook, save / name)
    return problems, time.perf_counter() - start


def cpu_flags() -> str:
    """The CPU model and the vector-instruction flags that decide oneDNN's kernels."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
    vector = sorted(flag for flag in (flags.group(1).split() if flags else [])
                    if re.match(r"(avx|amx|fma|sse4)", flag))
    return f"{model.group(1) if model else platform.processor()}; {' '.join(vector)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="*", help="notebook names without .ipynb")
    parser.add_argument("--settings", nargs="*", default=DEFAULT_SETTINGS)
    parser.add_argument("--save", type=Path, help="folder for the executed notebooks")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.chapters:
        wanted = set(args.chapters)
        paths = [path for path in paths if path.stem in wanted]
        if missing := wanted - {path.stem for path in paths}:
            parser.error(f"no such chapter: {', '.join(sorted(missing))}")
    settings = [Setting.parse(text) for text in args.settings]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}{' (with uncommitted changes)' if dirty else ''}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}")
    print(f"CPU: {cpu_flags()}", flush=True)
    rows = []
    for setting in settings:
        for path in paths:
            problems, seconds = run_chapter(path, setting, args.save)
            message = "; ".join(problems) if problems else "passed"
            rows.append((path.stem, str(setting), message, seconds))
            print(f"{path.stem:<18} {str(setting):<22} {seconds:6.0f} s  {message}", flush=True)
    print("\n| chapter | setting | result | time (s) |\n| --- | --- | --- | ---: |")
    for chapter, setting, message, seconds in rows:
        print(f"| {chapter} | {setting} | {message.replace('|', '/')} | {seconds:.0f} |")
    failed = sum(message != "passed" for _, _, message, _ in rows)
    print(f"\n{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
