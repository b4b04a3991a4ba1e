"""Risk screening in a real browser: a station leader logs in, uploads a small risk list
(its import waits for the worker, then the page follows its progress and shows the counts),
screens it (the run waits for the worker too, then the page shows the result), reviews the matches, confirms one — and finds the verification task it became.

Like tests/test_browser.py: the real server (waitress) on a fresh SQLite database in a
temporary folder, and Debian's Chromium through Playwright (skipped without it, except in
CI). The import and the run are executed by the real worker (``safecommunity worker --once``) in a
subprocess over the same database, as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import CHROMIUM, CHROMIUM_ARGS, live_server, require_chromium

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
USERNAME = "station"
PASSWORD = "screening-browser-test"

# Two beats of one station; 张伟 and 李娜 live in the first, 王强 in the second. Residents
# are registered through the services, so their numbers are encrypted and indexed.
WORLD = f"""
from datetime import date
from stdnum.cn import ric
from safecommunity.accounts.models import Role
from safecommunity.accounts.services import user_create
from safecommunity.people.services import resident_create, resident_input
from safecommunity.places.models import (
    Building, Compound, Dwelling, Entrance, PoliceOffice, PoliceStation,
)
from safecommunity.places.services import beat_create, division_create, grid_create

def square(x, y, size=0.01):
    return {{"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
            [x, y + size], [x, y]]]}}

def valid_id(born, sequence):
    body = "120104" + born.strftime("%Y%m%d") + f"{{sequence:03d}}"
    return body + ric.calc_check_digit(body + "0")

city = division_create(kind="city", code="120100", name="天津市", parent=None)
district = division_create(kind="district", code="120104", name="南开区", parent=city)
sub = division_create(kind="subdistrict", code="120104003", name="万兴街道", parent=district)
com = division_create(kind="community", code="120104003017", name="学府社区", parent=sub)
station = PoliceStation.objects.create(district=district, code="S1", name="万兴派出所")
office = PoliceOffice.objects.create(station=station, code="O1", name="学府警务室",
    address="南开区学府街1号", opening_hours="08:30-17:30", phone="022-23500001")
dwellings = []
for i, (beat_name, compound_name) in enumerate([("学府一警务区", "学府花园"), ("学府二警务区", "南开小区")]):
    grid = grid_create(community=com, code=f"120104003017{{i + 1:03d}}", name=beat_name[:2] + "网格",
                       boundary=square(117.10 + i * 0.01, 39.10))
    beat_create(grid=grid, station=station, office=office, code=f"B{{i}}", name=beat_name)
    compound = Compound.objects.create(grid=grid, name=compound_name, address=compound_name + "路1号",
        path=grid.path, lat=39.105, lng=117.105 + i * 0.01)
    building = Building.objects.create(compound=compound, number="1", path=grid.path)
    entrance = Entrance.objects.create(building=building, number="1", path=grid.path)
    dwellings.append(Dwelling.objects.create(entrance=entrance, grid=grid, number="101", floor=1,
        standard_address=compound_name + "1号楼1门101", path=grid.path, lat=39.105,
        lng=117.105 + i * 0.01))
people = [
    ("张伟", date(1985, 3, 12), 11, "13812345678", dwellings[0]),
    ("李娜", date(1990, 7, 1), 22, "13987654321", dwellings[0]),
    ("王强", date(1978, 9, 30), 33, "13700001111", dwellings[1]),
]
for name, born, sequence, phone, dwelling in people:
    data = resident_input(name=name, gender="male" if sequence % 2 else "female",
                          birth_date=born, id_number=valid_id(born, sequence), phone=phone)
    resident_create(data=data, actor=None, dwelling=dwelling, since=date(2020, 1, 1))
user_create(username="{USERNAME}", password="{PASSWORD}", role=Role.STATION_LEADER,
            jurisdiction=station)
"""

# 张伟 by his ID, 李娜 by her phone only, 王强 with a homophone (王墙) and his birth date, and
# one person who lives nowhere here; a row with nothing to match on is reported.
RISK_LIST = (
    "姓名,身份证号,手机号,出生日期,性别,地址,备注\n"
    "张伟,{zhang_id},,1985-03-12,男,学府花园1号楼1门101,密接\n"
    "李娜,,13987654321,,女,,\n"
    "王墙,,,1978-09-30,男,南开小区1号楼1门101,\n"
    "赵无名,,13600000000,2001-01-01,男,,外地\n"
    ",,12345,,,,\n"
)


def _zhang_id() -> str:
    from datetime import date

    from stdnum.cn import ric

    body = "120104" + date(1985, 3, 12).strftime("%Y%m%d") + "011"
    return body + ric.calc_check_digit(body + "0")


def _server_env(data_dir: Path) -> dict[str, str]:
    """The environment ``tests.servers.live_server`` gives the server, for the worker."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "MAP_TILE_URL"}
    }
    env.update(
        SAFECOMMUNITY_DATA_DIR=str(data_dir),
        SECRET_KEY="live-server-test-only-not-a-secret",
        DJANGO_SETTINGS_MODULE="safecommunity.settings",
        DEBUG="0",
    )
    return env


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screening-browser")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    require_chromium()
    with live_server(data_dir, WORLD) as base:
        yield base


def run_worker(data_dir: Path) -> str:
    """``safecommunity worker --once``: imports the queued lists, executes the queued runs
    and exits."""
    command = str(Path(sys.executable).parent / "safecommunity")
    done = subprocess.run(  # noqa: S603  # our own interpreter and arguments
        [command, "worker", "--once"],
        env=_server_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout


@pytest.mark.browser
def test_it_uploads_screens_reviews_and_hands_over_a_task(
    server: str, data_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    risk_file = tmp_path / "风险名单.csv"
    risk_file.write_text(RISK_LIST.format(zhang_id=_zhang_id()), encoding="utf-8")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        # A phone first: the pages must work 390 px wide.
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2
        )
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "response",
            lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None,
        )

        page.goto(server + "/screening/")
        page.fill("input[name=username]", USERNAME)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit].btn")
        expect(page).to_have_url(server + "/screening/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

        # Upload: the purpose is required, and the form says why.
        page.click("a[href='/screening/lists/new/']")
        page.set_input_files("input[name=file]", str(risk_file))
        page.fill("input[name=name]", "疫情防控风险名单")
        page.fill("textarea[name=purpose]", "疫情防控：排查密接人员")
        page.click("form.screening-form button[type=submit]")
        expect(page).to_have_url(server + "/screening/lists/1/")
        # Queued: waiting for the worker; the page polls the import.
        expect(page.locator("#list-progress[hx-trigger]")).to_have_count(1)
        expect(page.locator("form[action='/screening/lists/1/screen/'] button")).to_be_disabled()
        run_worker(data_dir)
        # The poll sees the import done and reloads the page with its counts.
        expect(page.locator("#list-progress[hx-trigger]")).to_have_count(0, timeout=15_000)
        stats = page.locator("dl.stats dd")
        expect(stats.nth(0)).to_have_text("5")  # rows read
        expect(stats.nth(1)).to_have_text("4")  # kept
        expect(stats.nth(2)).to_have_text("1")  # rejected
        expect(page.locator("table tbody tr").first).to_contain_text("6")  # its line
        expect(page.locator("a[href='/screening/lists/1/issues.csv']")).to_be_visible()
        # Asked again, prefilled.
        expect(page.locator("textarea[name=purpose]")).to_have_value("疫情防控：排查密接人员")
        page.screenshot(path=str(ARTIFACTS / "screening-list.png"), full_page=True)
        page.click("form[action='/screening/lists/1/screen/'] button[type=submit]")

        # Queued: waiting for the worker; the page polls the run.
        expect(page).to_have_url(server + "/screening/runs/1/")
        expect(page.locator("#run-progress[hx-trigger]")).to_have_count(1)
        # Its review waits for the results: back to the run's page, saying why.
        page.goto(server + "/screening/runs/1/review/")
        expect(page).to_have_url(server + "/screening/runs/1/")
        expect(page.locator(".alert[role=status]")).to_have_count(1)
        expect(page.locator("#run-progress[hx-trigger]")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "screening-run-queued.png"), full_page=True)
        run_worker(data_dir)
        # The poll sees the run done and reloads the page with its results.
        expect(page.locator("#run-progress[hx-trigger]")).to_have_count(0, timeout=15_000)
        expect(page.locator("progress")).to_have_attribute("value", "100")
        review_link = page.locator("a.btn[href='/screening/runs/1/review/']")
        expect(review_link).to_be_visible()
        review_link.click()

        # The review: records with their candidates, dwelling, beat and the bars.
        expect(page).to_have_url(server + "/screening/runs/1/review/")
        zhang = page.locator("section.screening-record", has_text="张伟").first
        expect(zhang).to_contain_text("学府花园1号楼1门101")
        expect(zhang).to_contain_text("学府一警务区")
        expect(zhang.locator(".bar.agree").first).to_be_visible()
        wang = page.locator("section.screening-record", has_text="王墙")
        expect(wang).to_contain_text("王强")
        assert "赵无名" not in page.content()
        card = zhang.locator("article.candidate").first
        card.locator("input[name=note]").fill("身份证号一致，同一人")
        card.locator("button[value=confirmed]").click()
        # htmx swaps the card in place: now confirmed.
        confirmed = page.locator("article.candidate.decided-confirmed")
        expect(confirmed).to_have_count(1)
        expect(confirmed).to_contain_text("身份证号一致，同一人")
        expect(page).to_have_url(server + "/screening/runs/1/review/")
        page.screenshot(path=str(ARTIFACTS / "screening-review-phone.png"), full_page=True)

        # The same review on a desktop screen, in Chinese: the screenshot to look at.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.reload()
        expect(page.locator("article.candidate.decided-confirmed")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "screening-review.png"), full_page=True)

        # The confirmed match is a verification task for the beat team.
        page.goto(server + "/screening/tasks/")
        task = page.locator("section.card", has_text="张伟")
        expect(task).to_contain_text("学府一警务区")
        task.locator("textarea").fill("已入户核实，本人在住")
        task.locator("button[type=submit]").click()
        expect(page.locator("section.card", has_text="张伟")).to_have_count(0)
        page.goto(server + "/screening/tasks/?status=done")
        expect(page.locator("section.card", has_text="张伟")).to_contain_text(
            "已入户核实，本人在住"
        )
        page.screenshot(path=str(ARTIFACTS / "screening-tasks.png"), full_page=True)
        page.goto(server + "/screening/")
        expect(page.locator("a[href='/screening/runs/1/']")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "screening-home.png"), full_page=True)
        context.close()
        browser.close()
    assert errors == []
