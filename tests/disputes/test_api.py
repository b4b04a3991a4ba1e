"""The disputes API: scoped list, detail and statistics (404 out of scope), intake,
transitions and sessions with bad input answered 400 by field — never a 500."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_django import DjangoAssertNumQueries

from safecommunity.disputes.models import Dispute, DisputeState
from tests.apiclient import api_client, items
from tests.conftest import World
from tests.disputes.conftest import put_in_state, report
from tests.people.registry import register
from tests.test_openapi import FUZZ_USERS, VALUES

API = "/api/v1/disputes"


def post(client: Client, url: str, body: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data, content_type="application/json")


@pytest.fixture
def pair(world: World) -> tuple[Dispute, Dispute]:
    return report(world, beat=world.beat_a), report(world, beat=world.beat_b, risk="high")


def test_the_list_holds_only_the_disputes_in_scope(
    world: World, pair: tuple[Dispute, Dispute]
) -> None:
    a, b = pair
    rows = items(api_client(world, "officer").get(f"{API}/"))
    assert [r["id"] for r in rows] == [a.pk]
    rows = items(api_client(world, "station").get(f"{API}/?escalated=true"))
    assert [(r["id"], r["escalated"], r["state_label"]) for r in rows] == [(b.pk, True, "Reported")]


def test_the_list_takes_a_fixed_number_of_queries(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "station")
    report(world)
    client.get(f"{API}/")
    with django_assert_num_queries(5) as first:
        client.get(f"{API}/")
    for _ in range(5):
        report(world, beat=world.beat_b)
    with django_assert_num_queries(len(first.captured_queries)):
        assert len(items(client.get(f"{API}/"))) == 6


@pytest.mark.parametrize(
    "query", ["state=solved", "category=aliens", "overdue=perhaps", "limit=0", "offset=-1"]
)
def test_a_bad_list_filter_is_refused_by_name(world: World, query: str) -> None:
    response = api_client(world, "officer").get(f"{API}/?{query}")
    assert response.status_code == 422


def test_the_detail_out_of_scope_answers_404_like_unknown(
    world: World, pair: tuple[Dispute, Dispute]
) -> None:
    client = api_client(world, "officer")
    out_of_scope = client.get(f"{API}/{pair[1].pk}")
    unknown = client.get(f"{API}/999999")
    assert out_of_scope.status_code == unknown.status_code == 404
    assert out_of_scope.json() == unknown.json()
    assert client.get(f"{API}/99999999999999999999999").status_code in (404, 422)


def test_the_detail_shows_parties_by_privacy(world: World) -> None:
    dispute = report(world, parties=[{"name": "李小四", "phone": "13800138000"}])
    body = api_client(world, "officer").get(f"{API}/{dispute.pk}").json()
    assert body["parties"] == [
        {"name": "李小四", "role": "applicant", "resident_id": None, "phone": "138****8000"}
    ]
    assert body["next_states"] == ["accepted"]
    assert body["events"][0]["to_state"] == "reported"
    city = api_client(world, "city").get(f"{API}/{dispute.pk}").json()
    assert city["parties"][0]["name"] == "李**" and city["parties"][0]["phone"] == ""


def test_an_officer_reports_a_dispute(world: World) -> None:
    resident = register("张伟", world.dwelling_a)
    response = post(
        api_client(world, "officer"),
        f"{API}/",
        {
            "beat_id": world.beat_a.pk,
            "dwelling_id": world.dwelling_a.pk,
            "source": "visit",
            "category": "family",
            "risk": "high",
            "description": "夫妻争吵",
            "parties": [{"resident_id": resident.pk}, {"name": "李四", "role": "respondent"}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["escalated"] is True and body["state"] == "reported"
    assert [p["name"] for p in body["parties"]] == ["张伟", "李四"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"source": "pigeon"}, "source: Unknown value “pigeon”"),
        ({"category": "aliens"}, "category: Unknown value “aliens”"),
        ({"risk": "extreme"}, "risk: Unknown value “extreme”"),
        ({"description": " "}, "description: Describe the dispute."),
        ({"beat_id": 999999}, "beat_id: no beat 999999 in your jurisdiction."),
        ({"dwelling_id": 999999}, "dwelling_id: no dwelling 999999 in your jurisdiction."),
        ({"parties": [{"resident_id": 424242}]}, "parties[1].resident_id: no resident 424242"),
        ({"parties": [{"role": "applicant"}]}, "parties: Party 1: choose a resident"),
        ({"parties": [{"name": "李四", "phone": "12"}]}, "parties: Party 1: "),
        ({"parties": [{"name": "李四", "role": "judge"}]}, "parties: Party 1: unknown role"),
    ],
)
def test_bad_intake_answers_400_naming_the_field(
    world: World, change: dict[str, Any], expected: str
) -> None:
    body = {
        "beat_id": world.beat_a.pk,
        "source": "walk_in",
        "category": "neighbours",
        "description": "噪音",
        **change,
    }
    response = post(api_client(world, "officer"), f"{API}/", body)
    assert response.status_code == 400, response.content
    assert any(m.startswith(expected) for m in response.json()["detail"]), response.json()
    assert not Dispute.objects.exists()


def test_intake_in_a_beat_out_of_scope_is_refused(world: World) -> None:
    body = {
        "beat_id": world.beat_b.pk,
        "source": "walk_in",
        "category": "other",
        "description": "x",
    }
    response = post(api_client(world, "officer"), f"{API}/", body)
    assert response.status_code == 400
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        {"beat_id": "abc"},
        {"beat_id": 2**70, "source": "x", "category": "x", "description": "x"},
        {"beat_id": 1, "source": "x", "category": "x", "description": "x" * 6000},
        {"beat_id": 1, "source": "x", "category": "x", "description": "x", "parties": "many"},
    ],
)
def test_malformed_intake_is_refused_without_a_500(world: World, body: Any) -> None:
    response = post(api_client(world, "officer"), f"{API}/", body)
    assert response.status_code in (400, 422)


def test_a_city_analyst_may_not_report(world: World) -> None:
    body = {
        "beat_id": world.beat_a.pk,
        "source": "walk_in",
        "category": "other",
        "description": "x",
    }
    assert post(api_client(world, "city"), f"{API}/", body).status_code == 403


def test_transitions_through_the_api(world: World) -> None:
    dispute = report(world)
    client = api_client(world, "officer")
    response = post(client, f"{API}/{dispute.pk}/transition", {"to_state": "accepted"})
    assert response.status_code == 200 and response.json()["state"] == "accepted"
    illegal = post(client, f"{API}/{dispute.pk}/transition", {"to_state": "closed"})
    assert illegal.status_code == 400
    assert illegal.json() == {"detail": ["A dispute cannot go from “Accepted” to “Closed”."]}
    forbidden = post(
        api_client(world, "grid"), f"{API}/{dispute.pk}/transition", {"to_state": "mediating"}
    )
    assert forbidden.status_code == 403
    assert "may not move a dispute" in forbidden.json()["detail"]
    referral = post(client, f"{API}/{dispute.pk}/transition", {"to_state": "referred"})
    assert referral.status_code == 400 and referral.json()["detail"][0].startswith("referred_to:")
    hidden = post(
        api_client(world, "neighbour"), f"{API}/{dispute.pk}/transition", {"to_state": "mediating"}
    )
    assert hidden.status_code == 404
    assert post(client, f"{API}/{dispute.pk}/transition", "{").status_code in (400, 422)


def test_sessions_through_the_api(world: World) -> None:
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        dispute = put_in_state(report(world), DisputeState.MEDIATING)
    client = api_client(world, "officer")
    url = f"{API}/{dispute.pk}/sessions"
    held = (timezone.now() - timedelta(minutes=30)).isoformat()
    response = post(client, url, {"held_at": held, "mediators": "马燕", "agreement": "赔偿"})
    assert response.status_code == 201, response.content
    future = (timezone.now() + timedelta(days=1)).isoformat()
    refused = post(client, url, {"held_at": future, "mediators": "马燕"})
    assert refused.status_code == 400
    assert refused.json()["detail"] == ["held_at: A session cannot be held in the future."]
    assert post(client, url, {"held_at": "soon", "mediators": "马燕"}).status_code == 422
    neighbour = api_client(world, "neighbour")
    assert post(neighbour, url, {"held_at": held, "mediators": "x"}).status_code == 404


def test_statistics_are_scoped_and_validate_since(
    world: World, pair: tuple[Dispute, Dispute]
) -> None:
    officer = api_client(world, "officer").get(f"{API}/statistics").json()
    assert officer["total"] == 1 and [p["name"] for p in officer["by_place"]] == [world.beat_a.name]
    station = api_client(world, "station").get(f"{API}/statistics").json()
    assert station["total"] == 2 and station["escalated"] == 1
    assert api_client(world, "officer").get(f"{API}/statistics?since=1999-12-31").status_code == 400
    assert api_client(world, "officer").get(f"{API}/statistics?since=soon").status_code == 422


def test_the_list_links_a_repeat_only_when_the_earlier_dispute_is_in_scope(world: World) -> None:
    """A repeat across a beat boundary is flagged to everyone who sees it, but the earlier
    dispute's number only to those who may see that dispute."""
    resident = register("张伟", world.dwelling_a)
    earlier = report(world, beat=world.beat_b, parties=[{"resident": resident}])
    repeat = report(world, beat=world.beat_a, parties=[{"resident": resident}])
    assert repeat.repeat_of == earlier
    officer = items(api_client(world, "officer").get(f"{API}/"))
    assert [(r["id"], r["repeat"], r["repeat_of_id"]) for r in officer] == [(repeat.pk, True, None)]
    detail = api_client(world, "officer").get(f"{API}/{repeat.pk}").json()
    assert (detail["repeat"], detail["repeat_of_id"]) == (True, None)
    assert all(str(earlier.pk) not in e["note"] for e in detail["events"])
    station = items(api_client(world, "station").get(f"{API}/?repeat=true"))
    assert [(r["id"], r["repeat"], r["repeat_of_id"]) for r in station] == [
        (repeat.pk, True, earlier.pk)
    ]


def test_the_list_of_repeats_takes_a_fixed_number_of_queries(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "officer")
    report(world, dwelling=world.dwelling_a)
    report(world, dwelling=world.dwelling_a)
    client.get(f"{API}/")
    with django_assert_num_queries(5) as first:
        client.get(f"{API}/")
    for _ in range(5):
        report(world, dwelling=world.dwelling_a)
    with django_assert_num_queries(len(first.captured_queries)):
        assert sum(r["repeat_of_id"] is not None for r in items(client.get(f"{API}/"))) == 6


def test_session_participants_are_shown_by_privacy(world: World) -> None:
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        dispute = put_in_state(report(world), DisputeState.MEDIATING)
    held = (timezone.now() - timedelta(minutes=30)).isoformat()
    response = post(
        api_client(world, "officer"),
        f"{API}/{dispute.pk}/sessions",
        {"held_at": held, "mediators": "马燕", "participants": "李小四、王大五"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["participants"] == "李小四、王大五"
    city = api_client(world, "city").get(f"{API}/{dispute.pk}").json()
    shown = [s["participants"] for s in city["sessions"]]
    assert "李**、王**" in shown and not any("小四" in p for p in shown)
    officer = api_client(world, "officer").get(f"{API}/{dispute.pk}").json()
    assert "李小四、王大五" in [s["participants"] for s in officer["sessions"]]


def test_session_notes_and_agreement_are_withheld_from_who_may_not_see_names(
    world: World,
) -> None:
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        dispute = put_in_state(report(world), DisputeState.MEDIATING)
    held = (timezone.now() - timedelta(minutes=30)).isoformat()
    body = {"held_at": held, "mediators": "马燕", "notes": "李小四说漏水", "agreement": "赔五百元"}
    assert (
        post(api_client(world, "officer"), f"{API}/{dispute.pk}/sessions", body).status_code == 201
    )
    city = api_client(world, "city").get(f"{API}/{dispute.pk}").json()
    assert {(s["notes"], s["agreement"]) for s in city["sessions"]} == {("", "")}
    officer = api_client(world, "officer").get(f"{API}/{dispute.pk}").json()
    assert ("李小四说漏水", "赔五百元") in [
        (s["notes"], s["agreement"]) for s in officer["sessions"]
    ]


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("", {"description": "a\x00b"}, "description"),
        ("", {"place": "a\x00b"}, "place"),
        ("", {"parties": [{"name": "李\x00四"}]}, "parties"),
        ("/transition", {"to_state": "referred", "referred_to": "court", "note": "\x00"}, "note"),
        ("/transition", {"to_state": "referred", "referred_to": "court\x00"}, "referred_to"),
        ("/sessions", {"mediators": "马\x00燕"}, "mediators"),
        ("/sessions", {"mediators": "马燕", "participants": "\x00"}, "participants"),
        ("/sessions", {"mediators": "马燕", "notes": "\x00"}, "notes"),
        ("/sessions", {"mediators": "马燕", "agreement": "\x00"}, "agreement"),
    ],
)
def test_nul_characters_answer_400_naming_the_field(
    world: World, url: str, body: dict[str, Any], field: str
) -> None:
    """PostgreSQL cannot store a NUL character: refused by name, never a 500."""
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        dispute = put_in_state(report(world), DisputeState.MEDIATING)
    if url == "":
        body = {
            "beat_id": world.beat_a.pk,
            "source": "walk_in",
            "category": "neighbours",
            "description": "噪音",
            **body,
        }
        target = f"{API}/"
    else:
        target = f"{API}/{dispute.pk}{url}"
        if url == "/sessions":
            body = {"held_at": (timezone.now() - timedelta(minutes=30)).isoformat(), **body}
    client = api_client(world, "station" if url == "/transition" else "officer")
    response = post(client, target, body)
    assert response.status_code == 400, response.content
    assert any(m.startswith(f"{field}: ") for m in response.json()["detail"]), response.json()
    assert Dispute.objects.count() == 1
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.MEDIATING and dispute.sessions.count() == 1


# --- fuzz: no query makes a disputes page or GET endpoint answer 5xx -------------------------

GET_PATHS = [
    f"{API}/",
    f"{API}/statistics",
    f"{API}/{{dispute_id}}",
    "/disputes/",
    "/disputes/statistics/",
    "/disputes/{dispute_id}/",
]
PARAMETERS = ("state", "category", "overdue", "escalated", "repeat", "since", "page", "limit")


@pytest.mark.parametrize("path", GET_PATHS)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_never_answers_5xx_to_any_query(
    world: World, pair: tuple[Dispute, Dispute], path: str, data: st.DataObject
) -> None:
    who = data.draw(st.sampled_from(FUZZ_USERS), label="user")
    value = data.draw(VALUES, label="dispute_id")
    url = path.replace("{dispute_id}", quote(value, safe="") or "0")
    query = {
        name: data.draw(VALUES, label=name)
        for name in PARAMETERS
        if data.draw(st.booleans(), label=f"send {name}")
    }
    response = api_client(world, who).get(url, query)
    assert response.status_code < 500, (url, query, response.status_code)
