"""End to end in a real browser: log in, see the beats drawn on the map, find a beat by
clicking, switch language, log out.

The server is the real thing (waitress serving the WSGI app) in a subprocess, on a fresh
SQLite database in a temporary folder — not pytest-django's live_server, whose flush cannot
clear the append-only audit log. Chromium is Debian's (/usr/bin/chromium); the test skips
without it, except in CI where it must run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import CHROMIUM, CHROMIUM_ARGS, live_server, require_chromium

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
USERNAME = "officer"
PASSWORD = "browser-test-password"

# A tiny world: one district, one community with two beats (the officer's and a neighbour's)
# and a third beat elsewhere. Built through the services, like every other write.
WORLD = f"""
from datetime import date
from safecommunity.accounts.models import Role
from safecommunity.accounts.services import user_create
from safecommunity.places.models import PoliceOffice, PoliceStation
from safecommunity.places.services import beat_create, division_create, grid_create
from safecommunity.teams.models import StaffKind
from safecommunity.teams.services import staff_assign, staff_create

def square(x, y, size=0.01):
    return {{"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
            [x, y + size], [x, y]]]}}

city = division_create(kind="city", code="120100", name="天津市", parent=None)
district = division_create(kind="district", code="120104", name="南开区", parent=city)
sub = division_create(kind="subdistrict", code="120104003", name="万兴街道", parent=district)
com = division_create(kind="community", code="120104003017", name="学府社区", parent=sub)
station = PoliceStation.objects.create(district=district, code="S1", name="万兴派出所")
office = PoliceOffice.objects.create(station=station, code="O1", name="学府警务室",
    address="南开区学府街1号", opening_hours="08:30-17:30", phone="022-23500001")
beats = []
for i, name in enumerate(["学府一警务区", "学府二警务区", "学府三警务区"]):
    grid = grid_create(community=com, code=f"120104003017{{i + 1:03d}}", name=name[:2] + "网格",
                       boundary=square(117.10 + i * 0.01, 39.10))
    beats.append(beat_create(grid=grid, station=station, office=office, code=f"B{{i}}",
                             name=name))
officer = staff_create(kind=StaffKind.COMMUNITY_OFFICER, name="马燕", path=beats[0].path,
                       station=station, police_number="012345")
staff_assign(staff=officer, beat=beats[0], responsible=True, since=date(2024, 1, 1))
user_create(username="{USERNAME}", password="{PASSWORD}", role=Role.STATION_LEADER,
            jurisdiction=station)
user_create(username="district", password="{PASSWORD}", role=Role.DISTRICT_LEADER,
            jurisdiction=district)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("browser-data"), WORLD) as base:
        yield base


@pytest.fixture(scope="module")
def browser_page(server: str) -> Iterator[object]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        page = context.new_page()
        yield page
        context.close()
        browser.close()


@pytest.mark.browser
def test_it_logs_in_maps_switches_language_and_logs_out(server: str, browser_page: object) -> None:
    from playwright.sync_api import Page, Request, expect

    page = browser_page
    assert isinstance(page, Page)
    ARTIFACTS.mkdir(exist_ok=True)
    foreign: list[str] = []

    def watch(request: Request) -> None:
        if not request.url.startswith(server) and not request.url.startswith("data:"):
            foreign.append(request.url)

    page.on("request", watch)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Expected 4xx answers (a wrong password) show up as console errors too; missing files are
    # caught from the responses instead.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and "/static/" in r.url
            else None
        ),
    )

    # Anonymous: sent to the login page, in Chinese.
    page.goto(server + "/")
    expect(page).to_have_url(server + "/accounts/login/?next=/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit].btn")
    expect(page.locator(".alert.error")).to_contain_text("用户名或密码错误")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn")
    expect(page).to_have_url(server + "/")
    expect(page.locator("h1")).to_have_text("我的辖区")
    page.screenshot(path=str(ARTIFACTS / "home-zh.png"), full_page=True)
    page.wait_for_load_state("networkidle")
    assert errors == [], "static files or scripts failed to load"

    # The map draws the three beats of the station, coloured by a metric.
    page.click("nav >> text=地图")
    expect(page).to_have_url(server + "/places/map/")
    try:
        expect(page.locator("path.leaflet-interactive")).to_have_count(3, timeout=10_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "map-zh-loaded.png"), full_page=True)
    assert errors == []
    page.select_option("#metric", "dwellings")
    expect(page.locator(".legend")).to_be_visible()
    # Clicking a beat finds it through the point lookup and shows it in a popup.
    page.locator("path.leaflet-interactive").first.click()
    expect(page.locator(".leaflet-popup-content")).to_contain_text("警务区", timeout=10_000)
    expect(page.locator("#find-result")).to_contain_text("万兴派出所")
    page.screenshot(path=str(ARTIFACTS / "map-zh.png"), full_page=True)

    # Switch to English: the same page, now in English.
    page.click("form.lang button[value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Beats on the map")
    expect(page.locator("path.leaflet-interactive")).to_have_count(3, timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "map-en.png"), full_page=True)
    page.click("nav >> text=Compliance")
    expect(page.locator("h1")).to_have_text("Team compliance (1+2+N)")
    page.screenshot(path=str(ARTIFACTS / "compliance-en.png"), full_page=True)

    # And back to Chinese.
    page.click("form.lang button[value=zh-hans]")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text("队伍配置（1+2+N）")
    page.screenshot(path=str(ARTIFACTS / "compliance-zh.png"), full_page=True)

    # Log out: back on the login page, and the pages are closed again.
    page.click("text=退出登录")
    expect(page).to_have_url(server + "/accounts/login/")
    page.goto(server + "/places/map/")
    expect(page).to_have_url(server + "/accounts/login/?next=/places/map/")

    # A district leader browses the tree: nodes expand lazily, details open beside it.
    page.fill("input[name=username]", "district")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn")
    expect(page).to_have_url(server + "/places/map/")
    page.click("nav >> text=地点")
    page.click(".tree summary:has-text('南开区')")
    page.click(".tree summary:has-text('万兴街道')")
    page.click(".tree summary:has-text('学府社区')")
    expect(page.locator(".tree a.leaf")).to_have_count(3)
    page.click(".tree a.leaf:has-text('学府一警务区')")
    expect(page.locator("#detail h1")).to_contain_text("学府一警务区")
    expect(page.locator("#detail")).to_contain_text("022-23500001")
    expect(page.locator(".tree")).to_be_visible()  # still on the browser page
    page.screenshot(path=str(ARTIFACTS / "places-zh.png"), full_page=True)
    assert foreign == []
    assert errors == []
