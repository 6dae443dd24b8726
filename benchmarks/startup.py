"""Startup: process start to the first page saved as a PNG, Mailwright vs a bare PySide6 QWizard.

Both run in fresh processes with QT_QPA_PLATFORM=offscreen, interleaved, in the same run:

- app:  `python -m wizard gui --screenshot X` with an empty data home (a first start);
- bare: a script that builds a QApplication and a QWizard with one page, resizes it to 800x600,
  shows it, waits the same 50 ms settle time `wizard.app.grab` waits, and saves `grab()` as a PNG.

"to PNG" is the PNG file's modification time minus the moment the process was spawned; "to exit" adds
Python and Qt teardown. Bytecode is cached in a temporary PYTHONPYCACHEPREFIX. The target is app/bare <= 1.3
on "to PNG". The `-X importtime` table of one extra app run names the modules that cost the most, and which
heavy libraries the startup path loads. `-X importtime` does not list modules loaded with
`importlib.import_module` (qasync's Qt modules, the wizard's first page): their cost shows as their importer's
self time, or (for the page, imported while the wizard is built) not at all.

    .venv/bin/python benchmarks/startup.py [--runs 9] [--frozen dist/mailwright/mailwright]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3
# Libraries the startup path should not need before the user reaches the step that uses them.
HEAVY = ("msal", "dns", "httpx", "httpcore", "aiosmtplib", "aiosmtpd", "email_validator", "cryptography",
         "tomlkit", "keyring", "secretstorage", "requests", "ssl", "sqlite3", "certifi", "idna")

BARE_WIZARD = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWizard, QWizardPage

app = QApplication(sys.argv[:1])
wizard = QWizard()
page = QWizardPage()
page.setTitle("Welcome")
page.setSubTitle("Set up the mail account your application sends through.")
layout = QVBoxLayout(page)
label = QLabel("A bare QWizard with one page, for comparison.")
label.setWordWrap(True)
layout.addWidget(label)
wizard.addPage(page)
wizard.resize(800, 600)
wizard.show()

def save() -> None:
    if not wizard.grab().save(sys.argv[1], "PNG"):
        raise SystemExit(1)
    app.quit()

QTimer.singleShot(50, save)
app.exec()
"""


@dataclass
class Run:
    to_png_s: float
    to_exit_s: float


def timed_run(command: list[str], png: Path, env: dict[str, str]) -> Run:
    png.unlink(missing_ok=True)
    started_ns = time.time_ns()
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    to_exit = time.perf_counter() - started
    if result.returncode != 0 or not png.exists():
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return Run(to_png_s=(png.stat().st_mtime_ns - started_ns) / 1e9, to_exit_s=to_exit)


def median_ms(runs: list[Run], field: str) -> float:
    return statistics.median(float(getattr(run, field)) for run in runs) * 1000


def import_times(command: list[str], env: dict[str, str]) -> list[tuple[str, int, int]]:
    """(module, self us, cumulative us) for every import of one run under `python -X importtime`."""
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append((name.strip(), int(self_us), int(cumulative_us)))
    return rows


def print_import_report(rows: list[tuple[str, int, int]], top: int) -> None:
    total_ms = sum(self_us for _name, self_us, _cum in rows) / 1000
    print(f"\n`python -X importtime -m wizard gui --screenshot`: {len(rows)} modules, {total_ms:.0f} ms of imports")
    print(f"top {top} by self time (the module's own code):")
    for name, self_us, cumulative_us in sorted(rows, key=lambda row: -row[1])[:top]:
        print(f"  {self_us / 1000:7.1f} ms self {cumulative_us / 1000:7.1f} ms cumulative  {name}")
    wizard_rows = [row for row in rows if row[0].startswith("wizard.")]
    print(f"top {top} wizard modules by cumulative time (what each one pulls in):")
    for name, _self_us, cumulative_us in sorted(wizard_rows, key=lambda row: -row[2])[:top]:
        print(f"  {cumulative_us / 1000:7.1f} ms  {name}")
    loaded = {name for name, _self, _cum in rows}
    heavy = [(lib, next(cum for name, _s, cum in rows if name == lib)) for lib in HEAVY if lib in loaded]
    print("heavy libraries on the startup path: "
          + (", ".join(f"{lib} ({cum / 1000:.0f} ms)" for lib, cum in heavy) if heavy else "none"))
    print("not loaded: " + ", ".join(lib for lib in HEAVY if lib not in loaded))
    print("wizard modules loaded: " + " ".join(sorted(name for name in loaded if name.startswith("wizard"))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each (at least 7; one warm-up each on top)")
    parser.add_argument("--frozen", type=Path, help="also time a frozen build, e.g. dist/mailwright/mailwright")
    parser.add_argument("--top", type=int, default=15, help="rows in the import-time tables")
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs must be at least 7")

    with tempfile.TemporaryDirectory(prefix="mailwright-startup-") as tmp:
        work = Path(tmp)
        png = work / "page.png"
        bare_script = work / "bare_wizard.py"
        bare_script.write_text(BARE_WIZARD, encoding="utf-8")
        (work / "home").mkdir()
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MAILWRIGHT_HOME": str(work / "home"),
               "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(work / "pycache")}
        # An installed or frozen app runs from bytecode: without this, PYTHONDONTWRITEBYTECODE=1 (as in
        # some CI images) would time the compilation of every wizard module on every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "app": [sys.executable, "-m", "wizard", "gui", "--screenshot", str(png)],
            "bare": [sys.executable, str(bare_script), str(png)],
        }
        if args.frozen:
            commands["frozen"] = [str(args.frozen.resolve()), "gui", "--screenshot", str(png)]
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for command in commands.values():  # warm-up: page cache, font cache, bytecode cache
            timed_run(command, png, env)
        for _ in range(args.runs):
            for name, command in commands.items():
                runs[name].append(timed_run(command, png, env))
        rows = import_times([sys.executable, "-X", "importtime", *commands["app"][1:]], env)

    bare_png = median_ms(runs["bare"], "to_png_s")
    print(f"startup, median of {args.runs} runs each (interleaved), QT_QPA_PLATFORM=offscreen")
    bare_min = min(run.to_png_s for run in runs["bare"]) * 1000
    print(f"{'':8} {'to PNG':>9} {'to exit':>9} {'ratio':>7}   {'fastest':>9} {'ratio':>7}")
    for name, samples in runs.items():
        to_png = median_ms(samples, "to_png_s")
        fastest = min(run.to_png_s for run in samples) * 1000
        print(f"{name:8} {to_png:7.0f} ms {median_ms(samples, 'to_exit_s'):6.0f} ms {to_png / bare_png:6.2f}x   "
              f"{fastest:6.0f} ms {fastest / bare_min:6.2f}x")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; the fastest run is the least disturbed)")
    ratio = median_ms(runs["app"], "to_png_s") / bare_png
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"app / bare to PNG: {ratio:.2f}x ({verdict} the target <= {TARGET_RATIO}x)")
    print_import_report(rows, args.top)
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
