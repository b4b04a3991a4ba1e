"""Offline visits in a real browser: a grid worker's phone loses the network, logs a visit,
gets the network back — and the server holds exactly one visit, even when the sync runs
several times at once and a lost answer makes the phone send the visit again.

Like tests/test_browser.py: the real server (waitress) on a fresh SQLite database in a
temporary folder, and Debian's Chromium through Playwright (skipped without it, except in
CI).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import CHROMIUM, CHROMIUM_ARGS, live_server, require_chromium

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
PASSWORD = "fieldwork-browser-test"

WORLD = f"""
from safecommunity.accounts.models import Role
from safecommunity.accounts.services import user_create
from safecommunity.places.models import (
    Building, Compound, Dwelling, Entrance, PoliceOffice, PoliceStation,
)
from safecommunity.places.services import beat_create, division_create, grid_create

square = {{"type": "Polygon", "coordinates": [[[117.1, 39.1], [117.11, 39.1], [117.11, 39.11],
          [117.1, 39.11], [117.1, 39.1]]]}}
city = division_create(kind="city", code="120100", name="天津市", parent=None)
district = division_create(kind="district", code="120104", name="南开区", parent=city)
sub = division_create(kind="subdistrict", code="120104003", name="万兴街道", parent=district)
com = division_create(kind="community", code="120104003017", name="学府社区", parent=sub)
station = PoliceStation.objects.create(district=district, code="S1", name="万兴派出所")
office = PoliceOffice.objects.create(station=station, code="O1", name="学府警务室",
    address="南开区学府街1号", opening_hours="08:30-17:30", phone="022-23500001")
grid = grid_create(community=com, code="120104003017001", name="学府一网格", boundary=square)
beat = beat_create(grid=grid, station=station, office=office, code="B1", name="学府一警务区")
compound = Compound.objects.create(grid=grid, name="学府花园", address="学府街2号",
    path=grid.path, lat=39.105, lng=117.105)
building = Building.objects.create(compound=compound, number="1", path=grid.path)
entrance = Entrance.objects.create(building=building, number="1", path=grid.path)
for number in ("101", "102"):
    Dwelling.objects.create(entrance=entrance, grid=grid, number=number, floor=1,
        standard_address="学府花园1号楼1门" + number, path=grid.path, lat=39.105, lng=117.105)
user_create(username="grid", password="{PASSWORD}", role=Role.GRID_WORKER, jurisdiction=beat)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    with live_server(tmp_path_factory.mktemp("fieldwork-browser"), WORLD) as base:
        yield base


QUEUED = "window.indexedDB && new Promise((resolve) => {{ const r = indexedDB.open('safecommunity-fieldwork', 1); r.onsuccess = () => {{ const t = r.result.transaction('visits', 'readonly').objectStore('visits').getAll(); t.onsuccess = () => {{ r.result.close(); resolve(t.result); }}; }}; }})"  # noqa: E501


@pytest.mark.browser
def test_a_visit_logged_offline_is_synced_once(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        # A phone: 360 px wide, touch.
        context = browser.new_context(
            viewport={"width": 360, "height": 740},
            locale="zh-CN",
            has_touch=True,
            is_mobile=True,
            device_scale_factor=2,
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(server + "/accounts/login/?next=/fieldwork/visits/new/")
            page.fill("input[name=username]", "grid")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit].btn")
            expect(page).to_have_url(server + "/fieldwork/visits/new/")
            # The service worker installs and takes the page over.
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
            width = page.evaluate("document.getElementById('visit-form').scrollWidth")
            assert width <= 360, f"the visit form is {width} px wide on a 360 px phone"

            # The network goes; the form still opens, from the service worker's cache.
            context.set_offline(True)
            page.reload()
            expect(page.locator("h1")).to_have_text("登记入户走访")
            expect(page.locator("#fw-status")).to_have_class("fw-status offline")
            page.select_option("select[name=dwelling]", label="学府花园1号楼1门102")
            page.check("input[name=outcome][value=met]")
            page.check("input[name=residents_confirmed]")
            page.fill("textarea[name=findings]", "离线登记：住户信息无变化")
            page.click("button.fw-submit")
            expect(page.locator("#fw-queue li.queued")).to_have_count(1)
            queued = page.evaluate(QUEUED.replace("{{", "{").replace("}}", "}"))
            assert len(queued) == 1
            page.screenshot(path=str(ARTIFACTS / "fieldwork-offline.png"), full_page=True)

            # The network returns: the browser's "online" sync and two more run at once.
            context.set_offline(False)
            page.evaluate("Promise.all([window.fieldworkSync(), window.fieldworkSync()])")
            expect(page.locator("#fw-queue li.queued")).to_have_count(0, timeout=10_000)
            expect(page.locator("#fw-queue li.sent")).to_have_count(1)

            # An answer lost on the way back: the phone still holds the visit and sends it
            # again, twice at once. The server finds the visit it already has.
            page.evaluate(
                """(entry) => new Promise((resolve) => {
                    const r = indexedDB.open('safecommunity-fieldwork', 1);
                    r.onsuccess = () => {
                        const t = r.result.transaction('visits', 'readwrite');
                        t.objectStore('visits').put(entry);
                        t.oncomplete = () => { r.result.close(); resolve(); };
                    };
                })""",
                queued[0],
            )
            page.evaluate("Promise.all([window.fieldworkSync(), window.fieldworkSync()])")
            expect(page.locator("#fw-queue li.queued")).to_have_count(0, timeout=10_000)
            page.screenshot(path=str(ARTIFACTS / "fieldwork-synced.png"), full_page=True)

            api = page.request.get(server + "/api/v1/fieldwork/visits").json()
            assert api["count"] == 1
            visit = api["items"][0]
            assert visit["client_uuid"] == queued[0]["client_uuid"]
            assert visit["findings"] == "离线登记：住户信息无变化"
            assert visit["dwelling"]["standard_address"] == "学府花园1号楼1门102"
            page.goto(server + "/fieldwork/visits/")
            expect(page.locator("table.fw-visits tbody tr")).to_have_count(1)
            assert errors == []
        finally:
            context.close()
            browser.close()


@pytest.mark.browser
def test_a_patrol_route_is_recorded_from_the_phones_position(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            viewport={"width": 360, "height": 740},
            locale="zh-CN",
            permissions=["geolocation"],
            geolocation={"latitude": 39.101, "longitude": 117.101},
        )
        page = context.new_page()
        try:
            page.goto(server + "/accounts/login/?next=/fieldwork/patrols/new/")
            page.fill("input[name=username]", "grid")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit].btn")
            expect(page).to_have_url(server + "/fieldwork/patrols/new/")
            page.click("button.fw-gps")
            expect(page.locator("textarea[name=route]")).to_have_value(re.compile("117.101"))
            context.set_geolocation({"latitude": 39.104, "longitude": 117.105})
            expect(page.locator("textarea[name=route]")).to_have_value(re.compile("117.105"))
            page.click("button.fw-gps")
            page.click("button.fw-submit")
            expect(page).to_have_url(server + "/fieldwork/patrols/")
            expect(page.locator("tbody tr")).to_have_count(1)
        finally:
            context.close()
            browser.close()
