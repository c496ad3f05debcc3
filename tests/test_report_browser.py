"""The report as a real browser sees it: headless Chromium (Debian's) driven by Playwright.

The page must load without console errors, every image must load, every in-page link must land on
an element, the summary must have one row per experiment, and nothing may overflow a phone-width
screen. Screenshots go to ``$SCATLAB_TEST_ARTIFACTS`` (default ``<repo>/test-artifacts``). Under CI
(``CI=true``) a missing browser is a failure; elsewhere the test skips, naming the install commands.
"""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from scatlab.io import atomic_write_json
from scatlab.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL = "apt-get install chromium and pip install playwright"
ARTIFACTS = Path(os.environ.get("SCATLAB_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the test extra installs it
    sync_playwright = None

if CHROMIUM is None or sync_playwright is None:
    if os.environ.get("CI"):
        pytest.fail(f"The browser test needs Chromium and Playwright under CI: {INSTALL}.", pytrace=False)
    pytest.skip(f"no Chromium or Playwright ({INSTALL})", allow_module_level=True)


def _figure(path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 2)
    ax.set(xlabel="training size", ylabel="error (%)", title="a learning curve")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def _records(directory: Path) -> list[str]:
    long_claim = "A network is at most prod_j ||W_j||-Lipschitz, and that bound is loose " * 3
    base = {"error": None, "traceback": None, "config": {"train_sizes": [100, 500, 1000, 60000], "lr": 0.05},
            "tables": [{"title": "Accuracy (%)", "header": ["n"] + [f"model_{i}" for i in range(9)],
                        "rows": [[n] + [87.123456] * 9 for n in (100, 500, 1000, 60000)]}],
            "notes": ["A finding."], "wall_time_s": 83.2, "versions": {"torch": "2.13.0"}, "git_commit": "0" * 40,
            "seed": 0, "quick": True, "date": "2026-12-07T00:00:00+00:00", "options": {"data_dir": "/data"},
            "machine": {"platform": "Linux", "cpus": 2, "torch_threads": 2}, "metrics": {"accuracy": 91.54}}
    records = {
        "lipschitz": {**base, "status": "ok", "figures": ["curve.png", "margins.png"],
                      "verdicts": [{"claim": long_claim, "verdict": "holds", "evidence": "ratio 1.2e4 > 10",
                                    "anchor": "Szegedy et al. 2014"}],
                      "selections": [{"what": "lr", "grid": [0.1, 0.01], "scores": [80.0, 84.5], "chosen": 0.01,
                                      "criterion": "validation accuracy (%)"}]},
        "audio": {**base, "status": "skipped", "figures": [], "missing_data": "Set SCATLAB_FSDD_DIR.",
                  "error": "FSDD is not on this machine."},
        "qm9": {**base, "status": "failed", "figures": [], "error": "RuntimeError: boom", "traceback": "Traceback"},
    }
    for name, record in records.items():
        atomic_write_json(directory / name / "results.json", {"experiment": name, **record})
        for figure in record["figures"]:
            _figure(directory / name / figure)
    return list(records)


def test_report_in_a_real_browser(tmp_path):
    names = _records(tmp_path)
    page_path = build_report(tmp_path, order=tuple(names))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            for width, height, label in ((1280, 800, "laptop"), (390, 844, "phone")):
                page = browser.new_page(viewport={"width": width, "height": height})
                errors = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("requestfailed", lambda r: errors.append(f"failed to load {r.url}"))
                page.goto(page_path.as_uri(), wait_until="load")
                assert errors == []
                widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
                assert len(widths) == 2 and all(w > 0 for w in widths)
                assert all(page.eval_on_selector_all("img", "imgs => imgs.map(i => i.alt.length > 0)"))
                targets = page.eval_on_selector_all("a[href^='#']", "as => as.map(a => a.getAttribute('href'))")
                assert len(targets) >= 2 * len(names)
                for href in set(targets):
                    assert page.query_selector(f"[id='{href[1:]}']") is not None, href
                assert page.eval_on_selector_all("#summary-table tbody tr", "rows => rows.length") == len(names)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"the page is {overflow} px wider than a {label} screen"
                page.click("a[href='#x-qm9']")
                assert page.evaluate("location.hash") == "#x-qm9"
                page.screenshot(path=str(ARTIFACTS / f"report-{label}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert (ARTIFACTS / "report-laptop.png").stat().st_size > 0
