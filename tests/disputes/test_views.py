"""Dispute pages: scoped lists and details (404 out of scope), intake, transitions and
sessions with bad input answered by name (never a 500), statistics, names by privacy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from safecommunity.disputes.models import Dispute, DisputeState, MediationSession
from tests.conftest import World, client_for
from tests.disputes.conftest import put_in_state, report
from tests.people.registry import register


def english(world: World, who: str) -> Client:
    client = client_for(world.users[who])
    client.cookies["django_language"] = "en"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def pair(world: World) -> tuple[Dispute, Dispute]:
    return report(world, beat=world.beat_a, risk="high"), report(world, beat=world.beat_b)


def test_the_list_shows_only_the_disputes_in_scope(
    world: World, pair: tuple[Dispute, Dispute]
) -> None:
    a, b = pair
    response = client_for(world.users["officer"]).get("/disputes/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"/disputes/{a.pk}/" in body and f"/disputes/{b.pk}/" not in body
    assert "dispute-row-escalated" in body


def test_the_list_answers_a_bad_filter_with_400(world: World) -> None:
    response = client_for(world.users["officer"]).get("/disputes/?state=solved&overdue=maybe")
    assert response.status_code == 400


def test_the_list_takes_a_fixed_number_of_queries(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = client_for(world.users["station"])
    report(world)
    client.get("/disputes/")  # warm the session
    with django_assert_num_queries(6) as first:
        client.get("/disputes/")
    for _ in range(5):
        report(world, beat=world.beat_b)
    with django_assert_num_queries(len(first.captured_queries)):
        client.get("/disputes/")


@pytest.mark.parametrize(
    "path", ["/disputes/{b}/", "/disputes/999999/", "/disputes/99999999999999999999999/"]
)
def test_a_dispute_out_of_scope_or_unknown_answers_404(
    world: World, pair: tuple[Dispute, Dispute], path: str
) -> None:
    response = client_for(world.users["officer"]).get(path.format(b=pair[1].pk))
    assert response.status_code == 404


def test_the_detail_shows_escalation_parties_history_and_the_moves_allowed(
    world: World,
) -> None:
    resident = register("张伟", world.dwelling_a, phone="13912345678")
    dispute = report(
        world,
        may_turn_violent=True,
        parties=[{"resident": resident}, {"name": "李四", "phone": "13800138000"}],
    )
    body = english(world, "officer").get(f"/disputes/{dispute.pk}/").content.decode()
    assert "dispute-escalation" in body and "may escalate to violence" in body
    assert "张伟" in body and "李四" in body
    assert "139****5678" in body and "138****8000" in body
    assert "13800138000" not in body
    assert 'value="accepted"' in body and 'value="closed"' not in body  # closing: station leader


def test_a_city_analyst_sees_party_names_masked_and_no_phones(world: World) -> None:
    dispute = report(world, parties=[{"name": "李小四", "phone": "13800138000"}])
    body = client_for(world.users["city"]).get(f"/disputes/{dispute.pk}/").content.decode()
    assert "李**" in body and "李小四" not in body and "138****8000" not in body


def test_a_city_analyst_sees_session_participants_masked(world: World) -> None:
    dispute = put_in_state(report(world), DisputeState.MEDIATING)
    MediationSession.objects.filter(dispute=dispute).update(participants="李小四、王大五")
    body = client_for(world.users["city"]).get(f"/disputes/{dispute.pk}/").content.decode()
    assert "李**、王**" in body and "小四" not in body and "大五" not in body
    officer = client_for(world.users["officer"]).get(f"/disputes/{dispute.pk}/").content.decode()
    assert "李小四、王大五" in officer


def test_a_city_analyst_gets_no_session_notes_or_agreement(world: World) -> None:
    dispute = put_in_state(report(world), DisputeState.MEDIATING)
    MediationSession.objects.filter(dispute=dispute).update(
        notes="李小四说阳台堆物挡光", agreement="王大五赔偿李小四五百元"
    )
    city = english(world, "city").get(f"/disputes/{dispute.pk}/").content.decode()
    assert "挡光" not in city and "五百元" not in city
    assert "Notes and agreement withheld" in city
    officer = client_for(world.users["officer"]).get(f"/disputes/{dispute.pk}/").content.decode()
    assert "李小四说阳台堆物挡光" in officer and "王大五赔偿李小四五百元" in officer


def test_a_repeat_links_the_earlier_dispute_only_in_scope(world: World) -> None:
    resident = register("张伟", world.dwelling_a)
    earlier = report(world, beat=world.beat_b, parties=[{"resident": resident}])
    repeat = report(world, beat=world.beat_a, parties=[{"resident": resident}])
    officer = english(world, "officer").get(f"/disputes/{repeat.pk}/").content.decode()
    assert "Repeat dispute" in officer
    assert f"/disputes/{earlier.pk}/" not in officer
    assert not re.search(rf"#{earlier.pk}(?!\d)", officer)
    station = english(world, "station").get(f"/disputes/{repeat.pk}/").content.decode()
    assert f"/disputes/{earlier.pk}/" in station


def test_an_officer_reports_a_dispute_through_the_form(world: World) -> None:
    resident = register("张伟", world.dwelling_a)
    response = client_for(world.users["officer"]).post(
        "/disputes/report/",
        {
            "beat": world.beat_a.pk,
            "dwelling": world.dwelling_a.pk,
            "source": "hotline_12345",
            "category": "property_management",
            "risk": "medium",
            "description": "物业停水三天",
            "party1_resident": resident.pk,
            "party1_role": "applicant",
            "party2_name": "物业公司经理",
            "party2_phone": "022-23501234",
            "party2_role": "respondent",
        },
    )
    dispute = Dispute.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/disputes/{dispute.pk}/"
    assert dispute.parties.count() == 2
    assert dispute.parties.get(name="物业公司经理").phone_masked == "022****1234"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"beat": "999999"}, "beat"),
        ({"beat": "abc"}, "beat"),
        ({"dwelling": "-1"}, "dwelling"),
        ({"dwelling": "99999999999999999999999"}, "dwelling"),
        ({"category": "aliens"}, "category"),
        ({"description": ""}, "description"),
        ({"party1_resident": "424242"}, "party1_resident"),
        ({"party1_name": "李四", "party1_phone": "12"}, None),
    ],
)
def test_bad_intake_is_answered_400_with_the_problem(
    world: World, change: dict[str, str], field: str | None
) -> None:
    data = {
        "beat": str(world.beat_a.pk),
        "source": "walk_in",
        "category": "neighbours",
        "risk": "low",
        "description": "噪音扰民",
        "party1_role": "applicant",
        "party2_role": "respondent",
        **change,
    }
    response = english(world, "officer").post("/disputes/report/", data)
    assert response.status_code == 400
    assert not Dispute.objects.exists()
    form = response.context["form"]
    if field is not None:
        assert field in form.errors
    else:
        assert "Party 1" in " ".join(form.non_field_errors())


def test_a_dwelling_of_another_beat_is_refused(world: World) -> None:
    response = english(world, "station").post(
        "/disputes/report/",
        {
            "beat": world.beat_a.pk,
            "dwelling": world.dwelling_b.pk,
            "source": "walk_in",
            "category": "neighbours",
            "risk": "low",
            "description": "噪音扰民",
            "party1_role": "applicant",
            "party2_role": "respondent",
        },
    )
    assert response.status_code == 400
    assert "dwelling" in response.context["form"].errors


def test_a_beat_out_of_scope_cannot_be_chosen(world: World) -> None:
    response = client_for(world.users["officer"]).post(
        "/disputes/report/",
        {"beat": world.beat_b.pk, "source": "walk_in", "category": "neighbours", "risk": "low"},
    )
    assert response.status_code == 400
    assert "beat" in response.context["form"].errors


def test_a_city_analyst_may_not_report(world: World) -> None:
    assert client_for(world.users["city"]).get("/disputes/report/").status_code == 403


def test_a_transition_moves_the_dispute_and_redirects(world: World) -> None:
    dispute = report(world)
    response = client_for(world.users["officer"]).post(
        f"/disputes/{dispute.pk}/transition/", {"to_state": "accepted"}
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.ACCEPTED


def test_an_illegal_transition_is_refused_naming_both_states(world: World) -> None:
    dispute = report(world)
    response = english(world, "officer").post(
        f"/disputes/{dispute.pk}/transition/", {"to_state": "settled"}
    )
    assert response.status_code == 400
    assert "A dispute cannot go from “Reported” to “Settled”." in response.content.decode()


def test_a_transition_the_role_may_not_make_answers_403(world: World) -> None:
    dispute = report(world)
    response = english(world, "grid").post(
        f"/disputes/{dispute.pk}/transition/", {"to_state": "accepted"}
    )
    assert response.status_code == 403
    assert "may not move a dispute" in response.content.decode()


@pytest.mark.parametrize(
    "data", [{}, {"to_state": "nonsense"}, {"to_state": "accepted", "referred_to": "moon"}]
)
def test_a_malformed_transition_answers_400(world: World, data: dict[str, str]) -> None:
    dispute = report(world)
    response = client_for(world.users["officer"]).post(f"/disputes/{dispute.pk}/transition/", data)
    assert response.status_code == 400


def test_a_transition_out_of_scope_answers_404(world: World) -> None:
    dispute = report(world, beat=world.beat_b)
    response = client_for(world.users["officer"]).post(
        f"/disputes/{dispute.pk}/transition/", {"to_state": "accepted"}
    )
    assert response.status_code == 404


def test_a_session_is_recorded_and_bad_ones_refused(world: World) -> None:
    with time_machine.travel(timezone.now() - timedelta(hours=1)):
        dispute = put_in_state(report(world), DisputeState.MEDIATING)
    client = english(world, "officer")
    url = f"/disputes/{dispute.pk}/sessions/"
    before = MediationSession.objects.count()
    assert client.post(url, {"held_at": "not a time", "mediators": "马燕"}).status_code == 400
    assert client.post(url, {"held_at": "2999-01-01T10:00", "mediators": "马燕"}).status_code == 400
    assert client.post(url, {"held_at": "2001-01-01T10:00", "mediators": "马燕"}).status_code == 400
    held = timezone.localtime() - timedelta(minutes=1)
    response = client.post(url, {"held_at": f"{held:%Y-%m-%dT%H:%M}", "mediators": "马燕、社工0"})
    assert response.status_code == 302
    assert MediationSession.objects.count() == before + 1


def test_the_statistics_page_counts_only_the_scope(world: World) -> None:
    report(world, beat=world.beat_a)
    report(world, beat=world.beat_b, category="family")
    response = client_for(world.users["officer"]).get("/disputes/statistics/")
    assert response.status_code == 200
    assert response.context["stats"].total == 1
    assert world.beat_b.name not in response.content.decode()


@pytest.mark.parametrize("since", ["yesterday", "1900-01-01", "2999-01-01", "2025-02-30"])
def test_a_bad_since_on_the_statistics_page_answers_400(world: World, since: str) -> None:
    response = client_for(world.users["officer"]).get(f"/disputes/statistics/?since={since}")
    assert response.status_code == 400
