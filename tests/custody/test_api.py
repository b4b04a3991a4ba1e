"""Custody API: scoped reads, intake and moves, precise 400s, 409 for a refused move."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecommunity.custody.models import CustodyItem, ItemKind, ItemState
from safecommunity.custody.services import custody_receive
from tests.apiclient import api_client
from tests.custody.conftest import Custody

ITEMS = "/api/v1/custody/items"


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def test_it_lists_the_items_in_scope(custody: Custody) -> None:
    officer = api_client(custody.world, "officer").get(ITEMS).json()
    assert [i["tag"] for i in officer["items"]] == ["K-001"]
    assert officer["count"] == 1
    station = api_client(custody.world, "station").get(ITEMS).json()
    assert {i["tag"] for i in station["items"]} == {"K-001", "P-001"}
    other = api_client(custody.world, "other_district").get(ITEMS).json()
    assert other == {"count": 0, "items": []}


def test_an_item_out_of_scope_is_404_like_an_unknown_one(custody: Custody) -> None:
    client = api_client(custody.world, "neighbour")
    hidden = client.get(f"{ITEMS}/{custody.item_a.pk}")
    unknown = client.get(f"{ITEMS}/999999")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()
    moved = _post(client, f"{ITEMS}/{custody.item_a.pk}/check", {})
    assert moved.status_code == 404


def test_the_detail_has_the_trail_and_a_masked_phone(custody: Custody) -> None:
    body = api_client(custody.world, "neighbour").get(f"{ITEMS}/{custody.item_b.pk}").json()
    assert body["owner_phone"] == "138****1111"
    assert body["owner_name"] == "刘大爷"
    assert [m["action"] for m in body["movements"]] == ["received"]
    assert body["movements"][0]["recorded_by"] == "neighbour"


def test_a_city_analyst_reads_masked_names_and_writes_nothing(custody: Custody) -> None:
    client = api_client(custody.world, "city")
    body = client.get(f"{ITEMS}/{custody.item_b.pk}").json()
    assert body["owner_name"] == "刘**"
    refused = _post(client, f"{ITEMS}/{custody.item_b.pk}/check", {})
    assert refused.status_code == 403


def test_it_filters_by_state_kind_beat_and_text(custody: Custody) -> None:
    client = api_client(custody.world, "station")
    assert client.get(f"{ITEMS}?kind=parcel").json()["count"] == 1
    assert client.get(f"{ITEMS}?state=returned").json()["count"] == 0
    assert client.get(f"{ITEMS}?beat={custody.world.beat_b.pk}").json()["count"] == 1
    assert client.get(f"{ITEMS}?q=刘").json()["count"] == 1
    assert client.get(f"{ITEMS}?state=lost").status_code == 422
    assert client.get(f"{ITEMS}?beat=99999999999999999999999").status_code == 422


def test_it_takes_an_item_in(custody: Custody) -> None:
    client = api_client(custody.world, "officer")
    response = _post(
        client,
        ITEMS,
        {
            "beat_id": custody.world.beat_a.pk,
            "kind": "key",
            "description": "钥匙",
            "tag": "K-010",
            "owner_id": custody.resident.pk,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner_id"] == custody.resident.pk
    assert body["state"] == ItemState.HELD


def test_intake_errors_name_the_field(custody: Custody) -> None:
    client = api_client(custody.world, "officer")
    base = {"beat_id": custody.world.beat_a.pk, "kind": "key", "description": "钥匙"}
    taken = _post(client, ITEMS, {**base, "tag": "K-001", "owner_name": "王五"})
    assert taken.status_code == 400
    assert "K-001" in taken.json()["errors"]["tag"][0]
    no_owner = _post(client, ITEMS, {**base, "tag": "K-011"})
    assert set(no_owner.json()["errors"]) == {"owner_name"}
    out_of_scope = _post(
        client,
        ITEMS,
        {**base, "beat_id": custody.world.beat_b.pk, "tag": "K-12", "owner_name": "x"},
    )
    assert out_of_scope.status_code == 400
    assert "beat_id" in out_of_scope.json()["errors"]
    stranger = api_client(custody.world, "neighbour")
    someone_elses = _post(
        stranger,
        ITEMS,
        {
            **base,
            "beat_id": custody.world.beat_b.pk,
            "tag": "K-13",
            "owner_id": custody.resident.pk,
        },
    )
    assert someone_elses.json()["errors"] == {"owner_id": ["Unknown resident."]}
    future = _post(
        client, ITEMS, {**base, "tag": "K-14", "owner_name": "x", "received_at": "2999-01-01T00:00"}
    )
    assert "received_at" in future.json()["errors"]
    assert _post(client, ITEMS, {**base, "kind": "car"}).status_code == 422
    assert client.post(ITEMS, "{", content_type="application/json").status_code in (400, 422)


def test_returning_twice_is_a_409_in_words(custody: Custody) -> None:
    client = api_client(custody.world, "officer")
    url = f"{ITEMS}/{custody.item_a.pk}/return"
    body = {"returned_to": "张明", "identity_check": "身份证"}
    first = _post(client, url, body)
    assert first.status_code == 200
    assert first.json()["state"] == ItemState.RETURNED
    second = _post(client, url, body)
    assert second.status_code == 409
    assert "already returned" in second.json()["detail"]
    assert CustodyItem.objects.get(pk=custody.item_a.pk).returned_to == "张明"


def test_moves_through_the_api(custody: Custody) -> None:
    world = custody.world
    client = api_client(world, "station")
    pk = custody.item_a.pk
    assert _post(client, f"{ITEMS}/{pk}/check", {"note": "盘点"}).status_code == 200
    moved = _post(client, f"{ITEMS}/{pk}/transfer", {"beat_id": world.beat_b.pk, "tag": "B-9"})
    assert moved.status_code == 200
    assert moved.json()["beat"]["id"] == world.beat_b.pk
    assert moved.json()["movements"][-1]["from_office"]["id"] == world.office.pk
    nowhere = _post(client, f"{ITEMS}/{pk}/transfer", {"beat_id": world.beat_c.pk})
    assert nowhere.status_code == 400
    assert "beat_id" in nowhere.json()["errors"]
    no_reason = _post(client, f"{ITEMS}/{pk}/dispose", {"reason": ""})
    assert no_reason.status_code == 400
    gone = _post(client, f"{ITEMS}/{pk}/dispose", {"reason": "无人认领"})
    assert gone.json()["state"] == ItemState.DISPOSED
    assert _post(client, f"{ITEMS}/{pk}/check", {}).status_code == 409


def test_the_list_costs_the_same_queries_for_one_page_of_any_size(custody: Custody) -> None:
    client = api_client(custody.world, "station")
    with CaptureQueriesContext(connection) as few:
        client.get(ITEMS)
    for n in range(10):
        custody_receive(
            actor=None,
            beat=custody.world.beat_b,
            kind=ItemKind.KEY,
            description="钥匙",
            tag=f"N-{n}",
            owner_name="王五",
        )
    with CaptureQueriesContext(connection) as many:
        client.get(ITEMS)
    assert len(many) == len(few)


def test_anonymous_callers_are_refused(custody: Custody) -> None:
    from django.test import Client

    assert Client().get(ITEMS).status_code == 401


JUNK = st.one_of(
    st.sampled_from(["", "0", "-1", "nan", "1e999", "%00", "\x00", "9" * 30, "１２", "held"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=30),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_query_makes_the_reads_answer_5xx(custody: Custody, data: st.DataObject) -> None:
    client = api_client(custody.world, data.draw(st.sampled_from(["station", "neighbour"])))
    query = {
        name: data.draw(JUNK, label=name)
        for name in ("state", "kind", "beat", "q", "limit", "offset")
        if data.draw(st.booleans(), label=f"send {name}")
    }
    item = quote(data.draw(JUNK, label="item"), safe="") or "0"
    for url in (ITEMS, f"{ITEMS}/{item}", "/custody/", f"/custody/{item}/"):
        response = client.get(url, query)
        assert response.status_code < 500, (url, query, response.status_code)


def test_a_receipt_time_before_2000_is_a_400_naming_the_field(custody: Custody) -> None:
    client = api_client(custody.world, "officer")
    for when in ("0001-01-01T00:00:00+08:00", "1999-12-31T23:59:59+08:00"):
        response = _post(
            client,
            ITEMS,
            {
                "beat_id": custody.world.beat_a.pk,
                "kind": "key",
                "description": "钥匙",
                "tag": "K-902",
                "owner_name": "王五",
                "received_at": when,
            },
        )
        assert response.status_code == 400, (when, response.content)
        assert "not before 2000" in response.json()["errors"]["received_at"][0]
    assert not CustodyItem.objects.filter(tag="K-902").exists()


def test_a_move_dated_before_2000_is_a_400_naming_the_field(custody: Custody) -> None:
    client = api_client(custody.world, "officer")
    response = _post(
        client, f"{ITEMS}/{custody.item_a.pk}/check", {"at": "0001-01-01T00:00:00+08:00"}
    )
    assert response.status_code == 400, response.content
    assert "at" in response.json()["errors"]


def test_a_city_analyst_gets_no_owner_phone_at_all(custody: Custody) -> None:
    client = api_client(custody.world, "city")
    assert client.get(f"{ITEMS}/{custody.item_b.pk}").json()["owner_phone"] == ""
    listed = client.get(ITEMS, {"q": "P-001"}).json()["items"]
    assert [i["owner_phone"] for i in listed] == [""]


def test_a_city_analyst_cannot_search_by_the_owners_name(custody: Custody) -> None:
    client = api_client(custody.world, "city")
    assert client.get(ITEMS, {"q": "刘大爷"}).json()["count"] == 0
    assert client.get(ITEMS, {"q": "快递"}).json()["count"] == 1
    station = api_client(custody.world, "station")
    assert station.get(ITEMS, {"q": "刘大爷"}).json()["count"] == 1


def test_a_nul_in_any_text_field_is_a_400_naming_the_field(custody: Custody) -> None:
    client = api_client(custody.world, "officer")
    intake = {
        "beat_id": custody.world.beat_a.pk,
        "kind": "key",
        "description": "钥匙",
        "tag": "K-903",
        "owner_name": "王五",
        "owner_phone": "13800002222",
        "note": "",
    }
    for field in ("description", "tag", "owner_name", "owner_phone", "note"):
        response = _post(client, ITEMS, {**intake, field: "a\x00b"})
        assert response.status_code == 400, (field, response.content)
        assert field in response.json()["errors"], field
    item = f"{ITEMS}/{custody.item_a.pk}"
    for url, body, field in (
        (f"{item}/return", {"returned_to": "张\x00明", "identity_check": "身份证"}, "returned_to"),
        (f"{item}/return", {"returned_to": "张明", "identity_check": "身\x00"}, "identity_check"),
        (f"{item}/return", {"returned_to": "张明", "identity_check": "x", "note": "\x00"}, "note"),
        (f"{item}/transfer", {"beat_id": custody.world.beat_b.pk, "tag": "\x00"}, "tag"),
        (f"{item}/dispose", {"reason": "\x00过期"}, "reason"),
        (f"{item}/check", {"note": "\x00"}, "note"),
    ):
        response = _post(api_client(custody.world, "station"), url, body)
        assert response.status_code == 400, (url, field, response.content)
        assert field in response.json()["errors"], (url, field)
    assert not CustodyItem.objects.filter(tag="K-903").exists()
    assert CustodyItem.objects.get(pk=custody.item_a.pk).state == ItemState.HELD
