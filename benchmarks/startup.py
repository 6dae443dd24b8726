"""Startup: process start to the first page rendered, Mailwright vs a bare PySide6 QWizard.

Every program runs in a fresh process, interleaved with the others, in the same run:

- app:  `python -m wizard gui --screenshot X` with an empty data home (a first start);
- bare: a script that builds a QApplication and a QWizard with one page, resizes it to 800x600, shows it,
  runs Qt's loop until the window's first paint (as `wizard.app.show_until_painted` does), and saves
  `grab()` as a PNG 50 ms after show(), the settle time `wizard.app.screenshot` waits.

"to PNG" is the PNG file's modification time minus the moment the process was spawned; "to exit" adds
Python and Qt teardown. The target is app/bare <= 1.3 on the median "to PNG".

"first paint" proves the same on the path a user takes: `python -m wizard` (no command: the app itself,
not a screenshot) and the bare script without a PNG, both with MAILWRIGHT_STARTUP_PROBE set, which makes
each write the wall-clock time at which its window's first paint returned; the process is then killed. On
`--platform xcb` (under `xvfb-run -a` or a real X display) a window is painted only once the X server has
exposed it, so this is the moment its first frame reaches the display.

Bytecode is cached in a temporary PYTHONPYCACHEPREFIX. The `-X importtime` table of one extra app run
names the modules that cost the most, and which heavy libraries the startup path loads; it covers the whole
screenshot process: wizard.theme is imported after the first paint (within the 50 ms settle), and
wizard.commands.output after the PNG is written. `-X importtime`
does not list modules loaded with `importlib.import_module` (qasync's Qt modules, the wizard's first page):
their cost shows as their importer's self time, or (for the page, imported while the wizard is built) not
at all.

    .venv/bin/python benchmarks/startup.py [--runs 9] [--platform offscreen|xcb] [--frozen dist/mailwright/mailwright]
    xvfb-run -a .venv/bin/python benchmarks/startup.py --platform xcb
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
PROBE_ENV = "MAILWRIGHT_STARTUP_PROBE"  # wizard.app.STARTUP_PROBE_ENV (not imported: no Qt in this process)
PAINT_TIMEOUT_S = 20.0
# Libraries the startup path should not need before the user reaches the step that uses them.
HEAVY = ("msal", "dns", "httpx", "httpcore", "aiosmtplib", "aiosmtpd", "email_validator", "cryptography",
         "tomlkit", "keyring", "secretstorage", "requests", "ssl", "sqlite3", "certifi", "idna", "asyncio",
         "qasync")

BARE_WIZARD = """
import os
import sys
import time

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
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


class FirstPaint(QObject):
    def __init__(self, loop):
        super().__init__()
        self.loop = loop
        self.painted = False

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            self.painted = True
            self.loop.quit()
        return False


loop = QEventLoop()
watcher = FirstPaint(loop)
wizard.installEventFilter(watcher)
QTimer.singleShot(1000, loop.quit)
shown_at = time.monotonic()
wizard.show()
loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
wizard.removeEventFilter(watcher)
if watcher.painted and os.environ.get("MAILWRIGHT_STARTUP_PROBE"):
    with open(os.environ["MAILWRIGHT_STARTUP_PROBE"], "w") as probe:
        probe.write(str(time.time_ns()))


def save() -> None:
    if not wizard.grab().save(sys.argv[1], "PNG"):
        raise SystemExit(1)
    app.quit()


if len(sys.argv) > 1:
    QTimer.singleShot(max(0, 50 - int((time.monotonic() - shown_at) * 1000)), save)
app.exec()
"""


@dataclass
class Run:
    first_s: float  # to the PNG, or to the first paint
    to_exit_s: float | None = None


def png_run(command: list[str], png: Path, env: dict[str, str]) -> Run:
    png.unlink(missing_ok=True)
    started_ns = time.time_ns()
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    to_exit = time.perf_counter() - started
    if result.returncode != 0 or not png.exists():
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return Run(first_s=(png.stat().st_mtime_ns - started_ns) / 1e9, to_exit_s=to_exit)


def paint_run(command: list[str], probe: Path, env: dict[str, str]) -> Run:
    """Start the program, wait for its probe file (the first paint), then kill it."""
    probe.unlink(missing_ok=True)
    started_ns = time.time_ns()
    process = subprocess.Popen(command, env={**env, PROBE_ENV: str(probe)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + PAINT_TIMEOUT_S
        while not (probe.exists() and probe.read_text(encoding="ascii")):
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read() if process.stderr else ""
                raise RuntimeError(f"{' '.join(command)} never painted ({process.returncode}):\n{stderr[-2000:]}")
            time.sleep(0.002)
        painted_ns = int(probe.read_text(encoding="ascii"))
    finally:
        process.kill()
        process.communicate()
    return Run(first_s=(painted_ns - started_ns) / 1e9)


def median_ms(runs: list[Run]) -> float:
    return statistics.median(run.first_s for run in runs) * 1000


def spread(runs: list[Run]) -> str:
    """min, quartiles and max of the first-page times, in ms."""
    values = sorted(run.first_s * 1000 for run in runs)
    q1, _median, q3 = statistics.quantiles(values, n=4)
    return f"{values[0]:4.0f} [{q1:4.0f} {q3:4.0f}] {values[-1]:4.0f}"


def print_table(title: str, runs: dict[str, list[Run]], base: str) -> float:
    """Medians and spread of one measurement; returns the app/bare ratio of the medians."""
    base_median = median_ms(runs[base])
    print(f"\n{title}")
    print(f"{'':8} {'median':>8} {'ratio':>7}   {'min [quartiles] max':>24}   {'to exit':>8}")
    for name, samples in runs.items():
        median = median_ms(samples)
        exits = [run.to_exit_s for run in samples if run.to_exit_s is not None]
        to_exit = f"{statistics.median(exits) * 1000:5.0f} ms" if exits else ""
        print(f"{name:8} {median:5.0f} ms {median / base_median:6.2f}x   {spread(samples):>24}   {to_exit:>8}")
    return median_ms(runs["app"]) / base_median


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
    parser.add_argument("--platform", choices=("offscreen", "xcb"), default="offscreen",
                        help="Qt platform plugin; xcb needs an X display (xvfb-run -a)")
    parser.add_argument("--frozen", type=Path, help="also time a frozen build, e.g. dist/mailwright/mailwright")
    parser.add_argument("--top", type=int, default=15, help="rows in the import-time tables")
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs must be at least 7")
    if args.platform == "xcb" and not os.environ.get("DISPLAY"):
        parser.error("--platform xcb needs an X display: run under `xvfb-run -a`")

    with tempfile.TemporaryDirectory(prefix="mailwright-startup-") as tmp:
        work = Path(tmp)
        png, probe = work / "page.png", work / "painted"
        bare_script = work / "bare_wizard.py"
        bare_script.write_text(BARE_WIZARD, encoding="utf-8")
        (work / "home").mkdir()
        env = {**os.environ, "QT_QPA_PLATFORM": args.platform, "MAILWRIGHT_HOME": str(work / "home"),
               "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(work / "pycache")}
        env.pop(PROBE_ENV, None)
        # An installed or frozen app runs from bytecode: without this, PYTHONDONTWRITEBYTECODE=1 (as in
        # some CI images) would time the compilation of every wizard module on every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        png_commands = {
            "app": [sys.executable, "-m", "wizard", "gui", "--screenshot", str(png)],
            "bare": [sys.executable, str(bare_script), str(png)],
        }
        paint_commands = {
            "app": [sys.executable, "-m", "wizard"],
            "bare": [sys.executable, str(bare_script)],
        }
        if args.frozen:
            png_commands["frozen"] = [str(args.frozen.resolve()), "gui", "--screenshot", str(png)]
            paint_commands["frozen"] = [str(args.frozen.resolve())]
        png_runs: dict[str, list[Run]] = {name: [] for name in png_commands}
        paint_runs: dict[str, list[Run]] = {name: [] for name in paint_commands}
        for command in png_commands.values():  # warm-up: page cache, font cache, bytecode cache
            png_run(command, png, env)
        for _ in range(args.runs):
            for name, command in png_commands.items():
                png_runs[name].append(png_run(command, png, env))
            for name, command in paint_commands.items():
                paint_runs[name].append(paint_run(command, probe, env))
        rows = import_times([sys.executable, "-X", "importtime", *png_commands["app"][1:]], env)

    print(f"startup in ms from process start, {args.runs} runs each (interleaved), QT_QPA_PLATFORM={args.platform}")
    ratio = print_table("to the PNG (gui --screenshot; the bare script grabs 50 ms after show() too):", png_runs,
                        "bare")
    paint_ratio = print_table("to the first paint of the window (`mailwright` itself; the bare script):",
                              paint_runs, "bare")
    print(f"\n(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"app / bare to PNG: {ratio:.2f}x ({verdict} the target <= {TARGET_RATIO}x); "
          f"to the first paint: {paint_ratio:.2f}x")
    print_import_report(rows, args.top)
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
