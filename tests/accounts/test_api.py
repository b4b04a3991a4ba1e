"""GET /api/v1/me: who the API thinks you are, and where your scope comes from."""

from __future__ import annotations

from django.test import Client

from tests.conftest import World, client_for


def test_it_refuses_anonymous_requests(world: World) -> None:
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


def test_it_describes_a_division_jurisdiction(world: World) -> None:
    body = client_for(world.users["district"]).get("/api/v1/me").json()
    assert body["username"] == "district"
    assert body["role"] == "district_leader"
    assert body["jurisdiction"] == {
        "kind": "district",
        "id": world.district.pk,
        "code": "120104",
        "name": "南开区",
        "path": world.district.path,
    }
    assert body["scope"] == [world.district.path]


def test_it_describes_a_beat_jurisdiction(world: World) -> None:
    body = client_for(world.users["neighbour"]).get("/api/v1/me").json()
    assert body["jurisdiction"]["kind"] == "beat"
    assert body["jurisdiction"]["name"] == world.beat_b.name
    assert body["jurisdiction"]["path"] == world.beat_b.path
    assert body["scope"] == [world.beat_b.path]


def test_it_describes_a_station_jurisdiction_by_its_beats(world: World) -> None:
    body = client_for(world.users["station"]).get("/api/v1/me").json()
    assert body["jurisdiction"]["kind"] == "station"
    assert body["jurisdiction"]["name"] == world.station.name
    assert body["jurisdiction"]["path"] is None
    assert body["scope"] == sorted([world.beat_a.path, world.beat_b.path])


def test_it_gives_an_administrator_everything(world: World) -> None:
    body = client_for(world.users["admin"]).get("/api/v1/me").json()
    assert body["role"] == "admin"
    assert body["jurisdiction"] is None
    assert body["scope"] is None
