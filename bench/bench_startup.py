"""Cold start to the main window shown, on an existing database (e.g. 1,000,000 customers).

Each run is a new process: interpreter start, imports, schema check, sign-in (Argon2id at its
production cost), main window shown. The home page figures arrive later, in the background;
their time is printed separately.

    python bench/bench_startup.py --data-dir DIR [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import os, sys, time
t0 = float(os.environ["BENCH_T0"])
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.settings import Settings
from app.views.application import Startup, configure_application
from app.views.home_page import HomePage
app = QApplication(sys.argv)
configure_application(app)
startup = Startup(Settings(data_dir=sys.argv[1], central_url="off"))
marks = {}
def signed_window(window):
    marks["window"] = time.time() - t0
    home = window.page(HomePage)
    def figures():
        if home.values["customers"].text() != "…":
            marks["figures"] = time.time() - t0
            print(f"{marks['window']:.3f} {marks['figures']:.3f}", flush=True)
            window.close(); app.quit()
        else:
            QTimer.singleShot(5, figures)
    figures()
startup.window_shown.connect(signed_window)
orig = startup.show_sign_in
def auto():
    orig()
    d = startup.dialog
    d.username.setText("agent"); d.password.setText("Guichet-Agent-2026"); d._attempt()
startup.show_sign_in = auto
startup.start()
app.exec()
startup.shutdown()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    windows, figures = [], []
    for _ in range(args.runs):
        env["BENCH_T0"] = repr(time.time())
        out = subprocess.run([sys.executable, "-c", CHILD, args.data_dir], env=env,
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0 or not out.stdout.strip():
            sys.exit(out.stderr)
        window, shown = map(float, out.stdout.split()[-2:])
        windows.append(window)
        figures.append(shown)
    print(f"data dir                 {args.data_dir}")
    print(f"runs                     {args.runs}")
    print(f"start → main window      median {statistics.median(windows):.2f} s, max {max(windows):.2f} s")
    print(f"start → home figures     median {statistics.median(figures):.2f} s, max {max(figures):.2f} s")


if __name__ == "__main__":
    main()
