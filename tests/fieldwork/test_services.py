"""Field-work writes: visits change the registry through its services, offline resends are
harmless, every log checks scope and input, findings open records in other apps."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from safecommunity.accounts.models import AuditEntry
from safecommunity.fieldwork import services
from safecommunity.fieldwork.models import (
    Campaign,
    CampaignDwelling,
    Patrol,
    PublicityEvent,
    StationingShift,
    Visit,
)
from safecommunity.people.models import DwellingVerification, Residence, Resident
from safecommunity.people.services import resident_input
from tests.conftest import World
from tests.fieldwork.conftest import hours_ago

ROUTE = {"type": "LineString", "coordinates": [[117.101, 39.101], [117.105, 39.104]]}


def _visit(world: World, **kwargs: object) -> services.VisitResult:
    args: dict[str, object] = {
        "actor": world.users["grid"],
        "dwelling": world.dwelling_a,
        "client_uuid": uuid.uuid4(),
        "outcome": "met",
        "visited_at": hours_ago(1),
    }
    args.update(kwargs)
    return services.visit_record(**args)  # type: ignore[arg-type]


def test_it_records_a_visit_with_path_staff_and_audit(world: World) -> None:
    result = _visit(world, findings="  楼道堆物  ")
    visit = result.visit
    assert result.created
    assert visit.path == world.beat_a.path
    assert visit.findings == "楼道堆物"
    assert visit.recorded_by == world.users["grid"]
    assert AuditEntry.objects.filter(action="visit.record", object_id=str(visit.pk)).count() == 1


def test_it_returns_the_same_visit_when_the_same_client_uuid_comes_twice(world: World) -> None:
    key = uuid.uuid4()
    first = _visit(world, client_uuid=key, residents_confirmed=True)
    again = _visit(world, client_uuid=str(key), residents_confirmed=True)
    assert again.visit.pk == first.visit.pk
    assert not again.created
    assert Visit.objects.count() == 1
    assert DwellingVerification.objects.count() == 1
    assert AuditEntry.objects.filter(action="visit.record").count() == 1


def test_it_refuses_a_client_uuid_used_for_another_dwelling(world: World) -> None:
    key = uuid.uuid4()
    _visit(world, client_uuid=key)
    with pytest.raises(ValidationError) as error:
        _visit(world, client_uuid=key, actor=world.users["district"], dwelling=world.dwelling_b)
    assert "client_uuid" in error.value.message_dict


def test_it_stamps_the_dwelling_verified_by_visit_when_residents_are_confirmed(
    world: World,
) -> None:
    _visit(world, residents_confirmed=True)
    stamp = DwellingVerification.objects.get(dwelling=world.dwelling_a)
    assert stamp.method == "visit"
    assert stamp.verified_by == world.users["grid"]


def test_it_moves_residents_out_and_registers_new_ones_in_one_step(
    world: World, residents: list[Resident]
) -> None:
    leaving = residents[0]
    newcomer = services.NewResident(
        data=resident_input(name="王芳", gender="female", birth_date=date(1990, 5, 6)),
        relation="tenant",
    )
    visit = _visit(world, moved_out=[leaving], new_residents=[newcomer]).visit
    assert not Residence.objects.filter(resident=leaving, until__isnull=True).exists()
    new = Resident.objects.get(name="王芳")
    assert new.path == world.dwelling_a.path
    assert [c["change"] for c in visit.registry_changes] == ["move_out", "register"]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"resident.move_out", "resident.create", "visit.record"} <= actions


def test_it_moves_an_existing_resident_in(world: World, residents: list[Resident]) -> None:
    mover = residents[0]
    # The resident moves from dwelling A to dwelling B (both in the district's scope).
    _visit(world, actor=world.users["district"], dwelling=world.dwelling_b, moved_in=[mover])
    current = Residence.objects.get(resident=mover, until__isnull=True)
    assert current.dwelling == world.dwelling_b


def test_it_writes_nothing_when_a_registry_change_fails(
    world: World, residents: list[Resident]
) -> None:
    bad = services.NewResident(
        data=resident_input(name="赵六", gender="male", birth_date=date(1980, 1, 1))
    )
    # The second new resident's relation is unknown: the whole visit is rolled back.
    worse = services.NewResident(data=bad.data, relation="cousin")
    with pytest.raises(ValidationError):
        _visit(world, moved_out=[residents[0]], new_residents=[bad, worse])
    assert Visit.objects.count() == 0
    assert Residence.objects.filter(resident=residents[0], until__isnull=True).exists()


def test_it_refuses_moving_out_someone_who_does_not_live_there(
    world: World, residents: list[Resident]
) -> None:
    with pytest.raises(ValidationError) as error:
        _visit(
            world,
            actor=world.users["district"],
            dwelling=world.dwelling_b,
            moved_out=[residents[0]],
        )
    assert "moved_out" in error.value.message_dict


def test_it_refuses_a_visit_outside_the_jurisdiction(world: World) -> None:
    with pytest.raises(ValidationError):
        _visit(world, dwelling=world.dwelling_b)
    assert Visit.objects.count() == 0


def test_it_refuses_logging_by_a_city_analyst(world: World) -> None:
    with pytest.raises(PermissionDenied):
        _visit(world, actor=world.users["city"])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "nobody_home", "residents_confirmed": True}, "residents_confirmed"),
        ({"visited_at": timezone.now() + timedelta(days=1)}, "visited_at"),
        ({"client_uuid": "not-a-uuid"}, "client_uuid"),
        ({"open_as": services.Finding(kind="dispute", code="")}, "category"),
        ({"open_as": services.Finding(kind="hazard")}, "hazard_kind"),
        (
            {"open_as": services.Finding(kind="hazard", attributes={"hazard_kind": "gas"})},
            "findings",
        ),
        ({"open_as": services.Finding(kind="arson")}, "open_as"),
    ],
)
def test_it_refuses_bad_visits_naming_the_field(
    world: World, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        _visit(world, **kwargs)
    assert field in error.value.message_dict


def test_it_refuses_moves_when_nobody_was_home(world: World, residents: list[Resident]) -> None:
    with pytest.raises(ValidationError) as error:
        _visit(world, outcome="nobody_home", moved_out=[residents[0]])
    assert "outcome" in error.value.message_dict


# --- findings open records in other apps (wait for disputes and service_requests) --------------


def test_it_opens_a_dispute_from_the_findings_of_a_visit(world: World) -> None:
    visit = _visit(
        world,
        findings="楼上漏水，邻里争吵",
        open_as=services.Finding(kind="dispute", code="neighbours", risk="medium"),
    ).visit
    assert visit.opened_kind == "dispute"
    assert visit.opened_id


def test_it_opens_a_hazard_from_the_findings_of_a_visit(world: World) -> None:
    visit = _visit(
        world,
        findings="楼道电动车充电",
        open_as=services.Finding(kind="hazard", attributes={"hazard_kind": "fire"}),
    ).visit
    assert visit.opened_kind == "hazard"
    assert visit.opened_id


def test_it_opens_a_request_from_the_findings_of_a_patrol(world: World) -> None:
    patrol = services.patrol_record(
        actor=world.users["grid"],
        beat=world.beat_a,
        route=ROUTE,
        started_at=hours_ago(2),
        ended_at=hours_ago(1),
        findings="独居老人需要帮助",
        open_as=services.Finding(kind="request", code="elderly", attributes={"need": "other"}),
    )
    assert patrol.opened_kind == "request"
    assert patrol.opened_id


# --- campaigns ---------------------------------------------------------------------------------


def test_it_counts_a_met_visit_in_every_running_campaign_that_holds_the_dwelling(
    world: World, campaign: Campaign
) -> None:
    _visit(world, outcome="nobody_home")
    assert not CampaignDwelling.objects.exists()
    _visit(world)
    _visit(world)
    row = CampaignDwelling.objects.get()
    assert (row.campaign, row.dwelling, row.path) == (campaign, world.dwelling_a, world.beat_a.path)


def test_a_new_campaign_counts_the_visits_already_made_in_its_period(world: World) -> None:
    _visit(world, visited_at=hours_ago(48))
    _visit(
        world,
        actor=world.users["district"],
        dwelling=world.dwelling_b,
        visited_at=hours_ago(24 * 40),
    )
    today = timezone.localdate()
    campaign = services.campaign_create(
        actor=world.users["district"],
        name="春季走访",
        path=world.district.path,
        starts_on=today - timedelta(days=7),
        ends_on=today,
    )
    assert list(campaign.covered.values_list("dwelling", flat=True)) == [world.dwelling_a.pk]
    assert services.campaign_recount(campaign=campaign) == 1


@pytest.mark.parametrize(
    ("user", "path", "days", "field"),
    [
        ("district", "", 1, "path"),
        ("district", "99.99", 1, "path"),
        ("officer", "beat_b", 1, "path"),
        ("district", "district", -1, "ends_on"),
    ],
)
def test_it_refuses_bad_campaigns(
    world: World, user: str, path: str, days: int, field: str
) -> None:
    paths = {"district": world.district.path, "beat_b": world.beat_b.path}
    today = timezone.localdate()
    with pytest.raises(ValidationError) as error:
        services.campaign_create(
            actor=world.users[user],
            name="x",
            path=paths.get(path, path),
            starts_on=today,
            ends_on=today + timedelta(days=days),
        )
    assert field in error.value.message_dict


def test_only_leaders_and_officers_plan_campaigns(world: World) -> None:
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        services.campaign_create(
            actor=world.users["grid"],
            name="x",
            path=world.beat_a.path,
            starts_on=today,
            ends_on=today,
        )


# --- patrols, stationing, publicity ------------------------------------------------------------


def test_it_records_a_patrol_with_its_route_and_length(world: World) -> None:
    patrol = services.patrol_record(
        actor=world.users["grid"],
        beat=world.beat_a,
        route=ROUTE,
        started_at=hours_ago(2),
        ended_at=hours_ago(1),
    )
    assert patrol.path == world.beat_a.path
    assert 400 < patrol.length_m < 600
    assert Patrol.objects.count() == 1


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ({"type": "Point", "coordinates": [117.1, 39.1]}, "LineString"),
        ({"type": "LineString", "coordinates": [[117.1, 39.1]]}, "at least two"),
        ({"type": "LineString", "coordinates": [[117.1, 39.1], [117.1, 39.1]]}, "different"),
        ({"type": "LineString", "coordinates": [[117.1, 39.1], [190, 39.1]]}, "longitude"),
        ({"type": "LineString", "coordinates": [[117.1, 39.1], [117.1, 95]]}, "latitude"),
        ({"type": "LineString", "coordinates": [[117.1, 39.1], ["a", 1]]}, "Point 2"),
    ],
)
def test_it_refuses_a_bad_route_saying_why(world: World, route: object, message: str) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as error:
        services.patrol_record(
            actor=world.users["grid"],
            beat=world.beat_a,
            route=route,  # type: ignore[arg-type]
            started_at=hours_ago(2),
            ended_at=hours_ago(1),
        )
    assert message in " ".join(error.value.message_dict["route"])


def test_it_refuses_a_patrol_that_ends_before_it_starts(world: World) -> None:
    with pytest.raises(ValidationError) as error:
        services.patrol_record(
            actor=world.users["grid"],
            beat=world.beat_a,
            route=ROUTE,
            started_at=hours_ago(1),
            ended_at=hours_ago(2),
        )
    assert "ended_at" in error.value.message_dict


def test_it_records_stationing_for_an_in_scope_beat_of_the_office(world: World) -> None:
    shift = services.stationing_record(
        actor=world.users["neighbour"],
        office=world.office,
        started_at=hours_ago(8),
        ended_at=hours_ago(1),
    )
    # The office serves beats A and B; the neighbour's scope is beat B.
    assert shift.beat == world.beat_b
    assert StationingShift.objects.get().path == world.beat_b.path


def test_it_refuses_stationing_at_an_office_of_no_beat_in_scope(world: World) -> None:
    with pytest.raises(ValidationError):
        services.stationing_record(
            actor=world.users["other_district"],
            office=world.office,
            started_at=hours_ago(8),
            ended_at=hours_ago(1),
        )


def test_it_records_a_publicity_event_and_refuses_a_negative_count(world: World) -> None:
    event = services.publicity_record(
        actor=world.users["officer"],
        beat=world.beat_a,
        topic="anti_fraud",
        place="学府社区广场",
        held_at=hours_ago(3),
        people_reached=120,
    )
    assert PublicityEvent.objects.get() == event
    with pytest.raises(ValidationError) as error:
        services.publicity_record(
            actor=world.users["officer"],
            beat=world.beat_a,
            topic="anti_fraud",
            place="广场",
            held_at=hours_ago(3),
            people_reached=-1,
        )
    assert "people_reached" in error.value.message_dict


def test_a_visit_names_its_campaign_only_inside_its_scope_and_period(
    world: World, campaign: Campaign
) -> None:
    assert _visit(world, campaign=campaign).visit.campaign == campaign
    with pytest.raises(ValidationError) as early:
        _visit(world, campaign=campaign, visited_at=hours_ago(24 * 60))
    assert "campaign" in early.value.message_dict
    beat_c = services.campaign_create(
        actor=world.users["admin"],
        name="C",
        path=world.beat_c.path,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
    )
    with pytest.raises(ValidationError) as elsewhere:
        _visit(world, campaign=beat_c)
    assert "campaign" in elsewhere.value.message_dict


def test_the_per_beat_counts_follow_the_visits_and_a_recount_agrees(
    world: World, campaign: Campaign
) -> None:
    from safecommunity.fieldwork.models import CampaignBeat

    _visit(world)
    _visit(world)
    _visit(world, actor=world.users["district"], dwelling=world.dwelling_b)
    counted = dict(CampaignBeat.objects.values_list("path", "visited"))
    assert counted == {world.beat_a.path: 1, world.beat_b.path: 1}
    CampaignBeat.objects.update(visited=7)  # drifted, say by a hand edit
    services.campaign_recount(campaign=campaign)
    assert dict(CampaignBeat.objects.values_list("path", "visited")) == counted
