"""End to end in a real browser: a resident files a request on the public page by clicking
the map; the beat's officer logs in, finds it, works it and closes it; the resident sees it
closed. Debian's Chromium through Playwright; skipped without it, except in CI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.service_requests.live import PASSWORD, USERNAME, run_server

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_server(tmp_path_factory)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.mark.browser
def test_a_resident_files_and_the_officer_closes_a_request(server: str, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []

    resident = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = resident.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/help/")
    expect(page.locator("#sr-map path.leaflet-interactive")).to_have_count(3, timeout=10_000)
    page.select_option("select[name=service]", "noise")
    expect(page.locator("fieldset[data-service=noise]")).to_be_visible()
    page.select_option("#a_noise_noise_source", "neighbours")
    page.fill("textarea[name=description]", "楼上每晚十一点后还在装修")
    # The map is fitted to the three beats side by side: its centre is the middle beat.
    page.locator("#sr-map").click()
    expect(page.locator("input[name=lat]")).not_to_have_value("")
    page.fill("input[name=name]", "张三")
    page.fill("input[name=phone]", "13800138000")
    page.screenshot(path=str(ARTIFACTS / "requests-public-form.png"), full_page=True)
    page.click("#sr-submit")
    tracking = page.locator("#sr-tracking")
    expect(tracking).to_have_count(1, timeout=10_000)
    number = tracking.inner_text()
    assert len(number) == 10
    expect(page.locator("#sr-public-status")).to_have_attribute("data-open311", "open")
    assert "张三" not in page.content() and "13800138000" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "requests-public-status.png"), full_page=True)

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    officer = staff.new_page()
    officer.on("pageerror", lambda exc: errors.append(str(exc)))
    officer.goto(server + "/accounts/login/?next=/requests/")
    officer.fill("input[name=username]", USERNAME)
    officer.fill("input[name=password]", PASSWORD)
    officer.click("button[type=submit].btn")
    expect(officer).to_have_url(server + "/requests/")
    officer.click(f"a:has-text('{number}')")
    expect(officer.locator("#sr-status")).to_have_attribute("class", "sr-status sr-new")
    assert "138****8000" in officer.content()
    officer.click("form[action$='/assign/'] button[type=submit]")
    expect(officer.locator("#sr-status")).to_have_attribute("class", "sr-status sr-assigned")
    officer.click("button[name=to][value=in_progress]")
    expect(officer.locator("#sr-status")).to_have_attribute("class", "sr-status sr-in_progress")
    officer.fill("#transition-note", "已与住户沟通，装修时间已调整")
    officer.click("button[name=to][value=done]")
    expect(officer.locator("#sr-status")).to_have_attribute("class", "sr-status sr-done")
    officer.click("button[name=to][value=closed]")
    expect(officer.locator("#sr-status")).to_have_attribute("class", "sr-status sr-closed")
    officer.screenshot(path=str(ARTIFACTS / "requests-officer-closed.png"), full_page=True)

    page.reload()
    expect(page.locator("#sr-public-status")).to_have_attribute("data-open311", "closed")
    page.screenshot(path=str(ARTIFACTS / "requests-public-closed.png"), full_page=True)
    assert errors == []
    staff.close()
    resident.close()
