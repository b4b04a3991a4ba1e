"""The first Quick-start command, end to end: `safecommunity demo` on an empty folder builds
the small demo city, prints the logins and serves it; in a real browser each demo login sees
its own jurisdiction on the map — the officer one beat, the district leader the district.

Runs the real command in a subprocess (waitress, SQLite under the temporary folder's var/).
The browser part uses Debian's Chromium (/usr/bin/chromium); skipped without it, except in CI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import CHROMIUM, CHROMIUM_ARGS, free_port, require_chromium, wait_until_up

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, what the command printed before serving)."""
    workdir = tmp_path_factory.mktemp("demo")
    # A fresh checkout's environment: no settings, no keys, no database.
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "DJANGO_SETTINGS_MODULE",
            "SECRET_KEY",
            "SAFECOMMUNITY_DATA_DIR",
            "MAP_TILE_URL",
        }
    }
    port = free_port()
    log_path = workdir / "demo.log"
    log = log_path.open("wb")
    command = [str(Path(sys.executable).parent / "safecommunity"), "demo"]
    process = subprocess.Popen(  # noqa: S603  # our own command
        [*command, "--addr", f"127.0.0.1:{port}"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(base + "/accounts/login/", process, seconds=120)
        except RuntimeError as exc:
            pytest.fail(f"`safecommunity demo` did not come up ({exc}): {log_path.read_text()}")
        yield base, log_path.read_text(encoding="utf-8")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_it_prints_one_login_per_role_and_keeps_its_data_under_var(
    demo: tuple[str, str],
) -> None:
    _base, printed = demo
    for username in ("admin", "city", "district", "station", "officer", "worker", "grid"):
        assert re.search(rf"^\s+{username}\s+demo\s", printed, re.MULTILINE), printed
    assert "Built 200 beats" in printed


@pytest.mark.browser
@pytest.mark.parametrize(("username", "beats"), [("officer", 1), ("district", None)])
def test_each_demo_login_sees_its_own_jurisdiction_on_the_map(
    demo: tuple[str, str], username: str, beats: int | None
) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    base, _printed = demo
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(base + "/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit].btn")
        expect(page).to_have_url(base + "/")
        # Chinese by default, whatever the browser's own language.
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        page.goto(base + "/places/map/")
        drawn = page.locator("path.leaflet-interactive")
        if beats is None:
            # The district leader sees the district's beats: many, but not the other district's.
            expect(drawn.first).to_be_visible(timeout=15_000)
            assert 50 < drawn.count() < 200
        else:
            expect(drawn).to_have_count(beats, timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / f"demo-map-{username}.png"))
        browser.close()
