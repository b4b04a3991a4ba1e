"""Custody pages: the list and an item, scoped; intake and moves through forms, with their
errors shown beside the fields (400), never a 500."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from safecommunity.accounts.models import User
from safecommunity.custody.models import CustodyItem, ItemKind, ItemState
from safecommunity.custody.selectors import owner_items
from safecommunity.custody.services import custody_receive
from tests.apiclient import api_client
from tests.conftest import client_for
from tests.custody.conftest import Custody


def english(user: User) -> Client:
    """A logged-in client that chose English (pages ignore Accept-Language)."""
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_list_shows_the_items_held_in_scope_only(custody: Custody) -> None:
    response = client_for(custody.world.users["officer"]).get("/custody/")
    assert response.status_code == 200
    assert b"K-001" in response.content
    # Beat B's parcel sits in the same office, but not in the officer's beat.
    assert b"P-001" not in response.content
    both = client_for(custody.world.users["station"]).get("/custody/")
    assert b"K-001" in both.content and b"P-001" in both.content


def test_an_officer_of_another_district_sees_none_of_it(custody: Custody) -> None:
    response = client_for(custody.world.users["other_district"]).get("/custody/")
    assert response.status_code == 200
    assert b"K-001" not in response.content and b"P-001" not in response.content


def test_an_item_out_of_scope_is_not_found(custody: Custody) -> None:
    neighbour = client_for(custody.world.users["neighbour"])
    assert neighbour.get(f"/custody/{custody.item_a.pk}/").status_code == 404
    assert neighbour.get(f"/custody/{custody.item_b.pk}/").status_code == 200
    assert neighbour.get("/custody/99999999/").status_code == 404
    for move in ("return", "transfer", "dispose", "check"):
        response = neighbour.post(f"/custody/{custody.item_a.pk}/{move}/", {})
        assert response.status_code == 404, move
    assert CustodyItem.objects.get(pk=custody.item_a.pk).state == ItemState.HELD


def test_the_list_needs_a_login(custody: Custody) -> None:
    response = Client().get("/custody/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_detail_shows_the_trail_and_masks_the_phone(custody: Custody) -> None:
    response = english(custody.world.users["neighbour"]).get(f"/custody/{custody.item_b.pk}/")
    body = response.content.decode()
    assert "刘大爷" in body
    assert "138****1111" in body and "13800001111" not in body
    assert "Received" in body
    assert f'action="/custody/{custody.item_b.pk}/return/"' in body


def test_a_city_analyst_sees_owners_masked_and_no_forms(custody: Custody) -> None:
    response = client_for(custody.world.users["city"]).get(f"/custody/{custody.item_b.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "刘**" in body and "刘大爷" not in body
    assert "/return/" not in body
    assert client_for(custody.world.users["city"]).get("/custody/receive/").status_code == 403


def test_the_list_filters_by_state_and_search(custody: Custody) -> None:
    client = client_for(custody.world.users["station"])
    assert b"K-001" in client.get("/custody/?state=&q=K-001").content
    assert b"P-001" not in client.get("/custody/?state=&q=K-001").content
    assert b"K-001" not in client.get("/custody/?state=returned").content
    assert client.get("/custody/?state=lost").status_code == 400
    assert client.get("/custody/?page=999999999999999999999").status_code == 200


def test_the_list_costs_the_same_queries_for_one_item_or_many(custody: Custody) -> None:
    client = client_for(custody.world.users["station"])
    client.get("/custody/")
    with CaptureQueriesContext(connection) as few:
        client.get("/custody/")
    for n in range(10):
        custody_receive(
            actor=None,
            beat=custody.world.beat_a,
            kind=ItemKind.KEY,
            description="钥匙",
            tag=f"N-{n}",
            owner_name="王五",
        )
    with CaptureQueriesContext(connection) as many:
        client.get("/custody/")
    assert len(many) == len(few)


def test_it_takes_an_item_in_through_the_form(custody: Custody) -> None:
    client = client_for(custody.world.users["officer"])
    assert client.get("/custody/receive/").status_code == 200
    response = client.post(
        "/custody/receive/",
        {
            "beat": custody.world.beat_a.pk,
            "kind": "document",
            "description": "户口本",
            "tag": "D-001",
            "owner_name": "王五",
            "owner_phone": "022-23456789",
        },
    )
    assert response.status_code == 302
    item = CustodyItem.objects.get(tag="D-001")
    assert response["Location"] == f"/custody/{item.pk}/"
    assert item.owner_phone_masked.endswith("6789")


def test_it_takes_an_item_in_for_a_registry_resident(custody: Custody) -> None:
    client = client_for(custody.world.users["officer"])
    page = client.get(f"/custody/receive/?owner={custody.resident.pk}")
    assert "张桂兰" in page.content.decode()
    response = client.post(
        "/custody/receive/",
        {
            "beat": custody.world.beat_a.pk,
            "kind": "key",
            "description": "备用钥匙",
            "tag": "K-002",
            "owner": custody.resident.pk,
        },
    )
    assert response.status_code == 302
    assert CustodyItem.objects.get(tag="K-002").owner == custody.resident


def test_the_form_refuses_bad_input_by_field(custody: Custody) -> None:
    client = english(custody.world.users["officer"])
    response = client.post(
        "/custody/receive/",
        {
            "beat": custody.world.beat_a.pk,
            "kind": "key",
            "description": "钥匙",
            "tag": "K-001",
            "owner_name": "王五",
            "owner_phone": "abc",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "K-001" in body and "already on an item held" in body
    assert "phone number" in body
    # A beat out of scope is not offered, so it is not a valid choice.
    response = client.post(
        "/custody/receive/",
        {"beat": custody.world.beat_b.pk, "kind": "key", "description": "x", "tag": "Z"},
    )
    assert response.status_code == 400
    # Someone else's resident id is unknown.
    other = client_for(custody.world.users["neighbour"]).post(
        "/custody/receive/",
        {
            "beat": custody.world.beat_b.pk,
            "kind": "key",
            "description": "x",
            "tag": "Z",
            "owner": custody.resident.pk,
        },
    )
    assert other.status_code == 400
    assert not CustodyItem.objects.filter(tag="Z").exists()


def test_junk_posts_are_400_not_500(custody: Custody) -> None:
    client = client_for(custody.world.users["officer"])
    pk = custody.item_a.pk
    for data in (
        {"beat": "x", "kind": "", "received_at": "yesterday"},
        {"beat": "99999999999999999999999", "owner": "-1"},
        {"beat": custody.world.beat_a.pk, "description": "\x00", "tag": "\x00"},
    ):
        assert client.post("/custody/receive/", data).status_code == 400
    assert client.post(f"/custody/{pk}/return/", {"return-at": "never"}).status_code == 400
    assert client.post(f"/custody/{pk}/transfer/", {"transfer-beat": "x"}).status_code == 400
    assert client.post(f"/custody/{pk}/dispose/", {}).status_code == 400


def test_it_returns_an_item_and_refuses_to_return_it_again(custody: Custody) -> None:
    client = english(custody.world.users["officer"])
    url = f"/custody/{custody.item_a.pk}/return/"
    data = {"return-returned_to": "张明", "return-identity_check": "身份证"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert CustodyItem.objects.get(pk=custody.item_a.pk).state == ItemState.RETURNED
    again = client.post(url, data)
    assert again.status_code == 400
    assert "already returned" in again.content.decode()


def test_it_hands_over_disposes_of_and_checks_through_the_forms(custody: Custody) -> None:
    world = custody.world
    station = client_for(world.users["station"])
    pk = custody.item_a.pk
    assert station.post(f"/custody/{pk}/check/", {"check-note": "盘点"}).status_code == 302
    moved = station.post(f"/custody/{pk}/transfer/", {"transfer-beat": world.beat_b.pk})
    assert moved.status_code == 302
    assert CustodyItem.objects.get(pk=pk).beat == world.beat_b
    gone = station.post(f"/custody/{pk}/dispose/", {"dispose-reason": "无人认领"})
    assert gone.status_code == 302
    assert CustodyItem.objects.get(pk=pk).state == ItemState.DISPOSED


def test_the_owner_search_offers_residents_in_scope_only(custody: Custody) -> None:
    mine = client_for(custody.world.users["officer"]).get("/custody/owners/?q=张桂兰")
    assert "张桂兰" in mine.content.decode()
    theirs = client_for(custody.world.users["neighbour"]).get("/custody/owners/?q=张桂兰")
    assert "张桂兰" not in theirs.content.decode()


def test_the_api_client_helper_speaks_english(custody: Custody) -> None:
    # Sanity for the API tests: the same cast, English answers.
    assert api_client(custody.world, "officer").get("/api/v1/custody/items").status_code == 200


def test_the_intake_form_preselects_the_likely_beat(custody: Custody) -> None:
    officer = client_for(custody.world.users["officer"])
    only_beat = officer.get("/custody/receive/").content.decode()
    assert f'<option value="{custody.world.beat_a.pk}" selected>' in only_beat
    station = client_for(custody.world.users["station"])
    owners_beat = station.get(f"/custody/receive/?owner={custody.resident.pk}").content.decode()
    assert f'<option value="{custody.world.beat_a.pk}" selected>' in owners_beat
    two_beats = station.get("/custody/receive/").content.decode()
    assert '<option value="" selected>' in two_beats


def test_a_residents_items_are_listed_for_their_page(custody: Custody) -> None:
    officer = custody.world.users["officer"]
    assert list(owner_items(user=officer, resident=custody.resident)) == [custody.item_a]
    neighbour = custody.world.users["neighbour"]
    assert list(owner_items(user=neighbour, resident=custody.resident)) == []


def test_an_owner_id_that_only_looks_like_digits_is_ignored_not_a_500(custody: Custody) -> None:
    # "²".isdigit() is True, int("²") fails: such an id is no resident.
    client = client_for(custody.world.users["officer"])
    for junk in ("²", "٣", "１２"):
        assert client.get("/custody/receive/", {"owner": junk}).status_code == 200, junk
        response = client.post(
            "/custody/receive/",
            {
                "beat": custody.world.beat_a.pk,
                "kind": "key",
                "description": "钥匙",
                "tag": "K-900",
                "owner": junk,
            },
        )
        assert response.status_code == 400, junk
    assert not CustodyItem.objects.filter(tag="K-900").exists()


def test_the_form_refuses_a_receipt_time_before_2000(custody: Custody) -> None:
    client = english(custody.world.users["officer"])
    response = client.post(
        "/custody/receive/",
        {
            "beat": custody.world.beat_a.pk,
            "kind": "key",
            "description": "钥匙",
            "tag": "K-901",
            "owner_name": "王五",
            "received_at": "0001-01-01T00:00",
        },
    )
    assert response.status_code == 400
    assert "not before 2000" in response.content.decode()
    assert not CustodyItem.objects.filter(tag="K-901").exists()


def test_a_city_analyst_sees_no_owner_phone_at_all(custody: Custody) -> None:
    body = client_for(custody.world.users["city"]).get(f"/custody/{custody.item_b.pk}/")
    assert "138****1111" not in body.content.decode()
    # Those who may see names still see the masked phone.
    station = client_for(custody.world.users["station"]).get(f"/custody/{custody.item_b.pk}/")
    assert "138****1111" in station.content.decode()


def test_a_city_analyst_cannot_find_items_by_the_owners_name(custody: Custody) -> None:
    client = client_for(custody.world.users["city"])
    assert b"P-001" not in client.get("/custody/", {"state": "", "q": "刘大爷"}).content
    # Tag and description still find it.
    assert b"P-001" in client.get("/custody/", {"state": "", "q": "P-001"}).content
    assert b"P-001" in client.get("/custody/", {"state": "", "q": "快递"}).content
    station = client_for(custody.world.users["station"])
    assert b"P-001" in station.get("/custody/", {"state": "", "q": "刘大爷"}).content
    # The search box does not promise what it will not do.
    page = english(custody.world.users["city"]).get("/custody/").content.decode()
    assert 'placeholder="Tag or description"' in page
