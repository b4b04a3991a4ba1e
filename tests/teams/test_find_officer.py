"""Find my officer: public (no login) page and API from an address or a point to the beat's
officer, police office and team — and nothing personal beyond what the card shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecommunity.places.selectors import normalize_address
from safecommunity.teams import public_selectors as public
from tests.conftest import World

API = "/api/v1/officer/"
PAGE = "/officer/"
INSIDE_A = {"lat": "39.105", "lng": "117.105"}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def anonymous() -> Client:
    client = Client()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def english_page() -> Client:
    client = Client()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _get(client: Client, **params: str) -> Any:
    return client.get(API, params)


# --- the card ------------------------------------------------------------------------------


def test_a_point_finds_the_beats_officer_office_and_team(world: World, anonymous: Client) -> None:
    response = _get(anonymous, **INSIDE_A)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["beat"]["name"] == "学府一警务区"
    assert body["beat"]["community"] == "学府社区"
    assert body["beat"]["station"] == "万兴派出所"
    assert body["officer"] == "马燕"
    assert body["photo"] is None
    assert body["office"]["name"] == "学府警务室"
    assert body["office"]["opening_hours"] == "08:30-17:30"
    assert body["office"]["address"] == "南开区学府街1号"
    assert body["phone"] == "022-23500001"
    assert body["ambiguous"] is False and body["alternatives"] == []
    team = {(m["kind"], m["name"]) for m in body["team"]}
    assert team == {
        ("community_worker", "社工0"),
        ("community_worker", "社工1"),
        # Grid workers are shown masked (public_selectors says why).
        ("grid_worker", "网***"),
    }


def test_it_never_shows_a_police_number_or_a_staff_phone(world: World, anonymous: Client) -> None:
    world.officer_a.phone = "13911112222"
    world.officer_a.save(update_fields=["phone"])
    api = json.dumps(_get(anonymous, **INSIDE_A).json(), ensure_ascii=False)
    page = anonymous.get(PAGE, INSIDE_A).content.decode()
    for text in (api, page):
        assert "马燕" in text
        assert "012345" not in text  # police number
        assert "13911112222" not in text
        assert "网格员甲" not in text


def test_a_beat_without_office_or_officer_gives_the_station(
    world: World, anonymous: Client
) -> None:
    world.other_station.phone = "022-26000000"
    world.other_station.address = "河北区光复道1号"
    world.other_station.save(update_fields=["phone", "address"])
    body = _get(anonymous, lat="39.155", lng="117.205").json()
    assert body["beat"]["name"] == "三戒里警务区"
    assert body["officer"] is None
    assert body["office"] is None
    assert body["phone"] == "022-26000000"
    page = anonymous.get(PAGE, {"lat": "39.155", "lng": "117.205"}).content.decode()
    assert "河北区光复道1号" in page and "tel:022-26000000" in page


def test_the_api_needs_no_login_and_sets_no_session(world: World) -> None:
    response = Client().get(API, INSIDE_A)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies


# --- addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "学府花园1号楼1门101",  # the standard address
        "学府花园",  # the compound's name
        "学府花园路1号",  # the compound's street address
        "天津市南开区学府花园1号楼1门101",  # with the city and district in front
        "学府花园１号楼１门１０１",  # full-width digits
        " 学府花园 1号楼 ",  # spaces
    ],
)
def test_an_address_or_a_fragment_finds_the_beat(
    world: World, anonymous: Client, address: str
) -> None:
    body = _get(anonymous, address=address).json()
    assert body["beat"]["id"] == world.beat_a.pk
    assert body["officer"] == "马燕"
    assert body["ambiguous"] is False


def test_an_ambiguous_fragment_answers_the_best_match_and_lists_the_others(
    world: World, anonymous: Client
) -> None:
    body = _get(anonymous, address="1号楼1门101").json()
    assert body["ambiguous"] is True
    others = {m["beat_id"] for m in body["alternatives"]}
    assert body["beat"]["id"] not in others
    assert others | {body["beat"]["id"]} == {world.beat_a.pk, world.beat_b.pk, world.beat_c.pk}
    chosen = _get(anonymous, beat=str(body["alternatives"][0]["beat_id"])).json()
    assert chosen["beat"]["id"] == body["alternatives"][0]["beat_id"]


def test_an_address_matching_nothing_is_404(world: World, anonymous: Client) -> None:
    response = _get(anonymous, address="月球基地1号")
    assert response.status_code == 404
    assert "matches" in response.json()["detail"]


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "Give an address"),
        ({"lat": "39.1"}, "lng is missing"),
        ({"lng": "117.1"}, "lat is missing"),
        ({"lat": "abc", "lng": "117.1"}, "lat must be a number"),
        ({"lat": "39.1", "lng": "1,5"}, "lng must be a number"),
        ({"lat": "nan", "lng": "117.1"}, "lat must lie between"),
        ({"lat": "39.1", "lng": "inf"}, "lng must lie between"),
        ({"lat": "91", "lng": "117.1"}, "lat must lie between"),
        ({"lat": "1e999", "lng": "117.1"}, "lat must lie between"),
        ({"address": "学", "lat": "39.1", "lng": "117.1"}, "only one"),
        ({"address": "学"}, "at least 2"),
        ({"address": "学" * 101}, "at most 100"),
        ({"address": "\x00\x00"}, "at least 2"),
        ({"beat": "abc"}, "whole number"),
        ({"beat": "-1"}, "whole number"),
        # Digits to str.isdigit() that int() refuses (or reads otherwise): not an id.
        ({"beat": "²"}, "whole number"),
        ({"beat": "1²"}, "whole number"),
        ({"beat": "٣"}, "whole number"),
    ],
)
def test_junk_is_a_400_naming_the_problem(
    world: World, anonymous: Client, params: dict[str, str], words: str
) -> None:
    response = _get(anonymous, **params)
    assert response.status_code == 400, response.content
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "0", "lng": "0"},
        {"lat": "39.105", "lng": "-117.105"},
        {"beat": "999999"},
        {"beat": "9" * 30},
    ],
)
def test_outside_the_city_or_no_such_beat_is_404(
    world: World, anonymous: Client, params: dict[str, str]
) -> None:
    assert _get(anonymous, **params).status_code == 404


def test_a_point_costs_a_fixed_handful_of_queries(world: World, anonymous: Client) -> None:
    _get(anonymous, **INSIDE_A)  # builds the beat index
    with CaptureQueriesContext(connection) as queries:
        _get(anonymous, **INSIDE_A)
    assert len(queries) <= 3


# --- the page ------------------------------------------------------------------------------


def test_the_page_is_public_and_offers_both_ways(world: World, english_page: Client) -> None:
    response = english_page.get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="address"' in body
    assert "Use my location" in body
    assert "find_officer.js" in body
    assert 'name="viewport"' in body


def test_the_page_shows_the_card_for_an_address(world: World, english_page: Client) -> None:
    response = english_page.get(PAGE, {"address": "学府花园"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "马燕" in body and "学府警务室" in body and "08:30-17:30" in body
    assert 'href="tel:022-23500001"' in body
    assert "Your community officer" in body


def test_the_page_is_chinese_by_default(world: World) -> None:
    body = Client().get(PAGE, {"address": "学府花园"}).content.decode()
    assert 'lang="zh-hans"' in body
    assert "马燕" in body


def test_the_page_lists_alternatives_when_ambiguous(world: World, english_page: Client) -> None:
    body = english_page.get(PAGE, {"address": "1号楼1门101"}).content.decode()
    assert "Did you mean another place?" in body
    assert body.count("?beat=") == 2


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"lat": "abc", "lng": "1"}, 400),
        ({"address": "学"}, 400),
        ({"beat": "x"}, 400),
        ({"lat": "0", "lng": "0"}, 404),
        ({"address": "月球基地"}, 404),
        ({"beat": "9" * 40}, 404),
        ({"beat": "²"}, 400),
        ({"beat": "1²"}, 400),
        ({"address": "\x00" * 500}, 400),
    ],
)
def test_the_page_explains_bad_or_unmatched_input(
    world: World, english_page: Client, params: dict[str, str], status: int
) -> None:
    response = english_page.get(PAGE, params)
    assert response.status_code == status
    assert 'class="alert error"' in response.content.decode()


def test_the_normaliser_folds_widths_and_spaces() -> None:
    assert normalize_address(" 学府 花园１号 ") == "学府花园1号"


# --- fuzz: nothing a client sends makes the page or the API answer 5xx --------------------

JUNK = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "nan",
            "inf",
            "-inf",
            "1e999",
            "%00",
            "\x00",
            "9" * 30,
            "１２",
            "²",
            "' OR 1=1 --",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=30),
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_never_answers_5xx(world: World, anonymous: Client, data: st.DataObject) -> None:
    query = {
        name: data.draw(JUNK, label=name)
        for name in ("lat", "lng", "address", "beat")
        if data.draw(st.booleans(), label=f"send {name}")
    }
    for url in (API, PAGE):
        response = anonymous.get(url, query)
        assert response.status_code in (200, 400, 404), (url, query, response.status_code)


def test_only_ascii_digits_make_a_beat_id() -> None:
    assert public.parse_beat_id(" 12 ") == 12
    for junk in ("²", "1²", "٣", "１２", "", "-1", "1.0"):
        assert public.parse_beat_id(junk) is None, junk
