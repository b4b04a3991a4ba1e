"""Place browser, detail pages, the map and its GeoJSON: in scope they work, out of scope
they answer 404 and lists show nothing of the neighbouring beat."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from safecommunity.places.models import Beat, Grid, PoliceOffice
from safecommunity.places.services import beat_create, grid_create
from safecommunity.teams.metrics import register_metrics
from tests.conftest import World, client_for, square


@pytest.fixture(autouse=True)
def _teams_metrics() -> None:
    register_metrics()


def _more_beats(world: World, n: int) -> None:
    """Add ``n`` beats to beat A's community so list pages have something to repeat."""
    for i in range(n):
        grid = grid_create(
            community=world.community,
            code=f"120104003017{100 + i:03d}",
            name=f"加网格{i}",
            boundary=square(117.0 + i * 0.01, 39.0),
        )
        beat_create(
            grid=grid, station=world.station, office=world.office, code=f"B-X{i}", name=f"加{i}"
        )


# Browser and tree ---------------------------------------------------------------------------


def test_it_starts_the_tree_at_the_users_division(world: World) -> None:
    response = client_for(world.users["district"]).get(reverse("places:browser"))
    assert response.status_code == 200
    assert "南开区".encode() in response.content
    assert "河北区".encode() not in response.content
    assert reverse("places:division_children", args=[world.district.pk]).encode() in (
        response.content
    )


def test_it_starts_the_tree_at_the_beats_of_a_beat_user(world: World) -> None:
    response = client_for(world.users["neighbour"]).get(reverse("places:browser"))
    assert response.status_code == 200
    assert "学府二警务区".encode() in response.content
    assert "学府一警务区".encode() not in response.content


def test_it_expands_a_division_lazily(world: World) -> None:
    client = client_for(world.users["district"])
    response = client.get(reverse("places:division_children", args=[world.district.pk]))
    assert response.status_code == 200
    assert "万兴街道".encode() in response.content
    assert b"<html" not in response.content  # a fragment, not a page
    response = client.get(reverse("places:division_children", args=[world.community.pk]))
    assert "学府一警务区".encode() in response.content
    assert "学府二警务区".encode() in response.content


def test_it_hides_divisions_above_a_beat_user_in_the_tree(world: World) -> None:
    client = client_for(world.users["neighbour"])
    for division in (world.community, world.district, world.city):
        url = reverse("places:division_children", args=[division.pk])
        assert client.get(url).status_code == 404


def test_it_expands_the_tree_without_n_plus_one(
    world: World, django_assert_max_num_queries: object
) -> None:
    _more_beats(world, 8)
    client = client_for(world.users["city"])
    url = reverse("places:division_children", args=[world.community.pk])
    with django_assert_max_num_queries(6):  # type: ignore[operator]
        response = client.get(url)
    assert "加7".encode() in response.content


# Division detail ----------------------------------------------------------------------------


def test_it_shows_a_division_with_children_counts_and_beats(world: World) -> None:
    response = client_for(world.users["district"]).get(
        reverse("places:division", args=[world.subdistrict.pk])
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "学府社区" in content
    assert "学府一警务区" in content
    assert "南开区" in content  # breadcrumb
    assert reverse("places:division", args=[world.district.pk]) in content


def test_it_does_not_link_breadcrumbs_outside_the_jurisdiction(world: World) -> None:
    content = (
        client_for(world.users["worker"])
        .get(reverse("places:division", args=[world.community.pk]))
        .content.decode()
    )
    assert "南开区" in content
    assert reverse("places:division", args=[world.district.pk]) not in content


def test_it_hides_divisions_above_or_beside_the_jurisdiction(world: World) -> None:
    neighbour = client_for(world.users["neighbour"])
    for division in (world.community, world.subdistrict, world.district, world.city):
        assert neighbour.get(reverse("places:division", args=[division.pk])).status_code == 404
    other = client_for(world.users["other_district"])
    assert other.get(reverse("places:division", args=[world.district.pk])).status_code == 404


def test_it_answers_404_for_an_unknown_division(world: World) -> None:
    client = client_for(world.users["admin"])
    assert client.get(reverse("places:division", args=[999999])).status_code == 404
    assert client.get("/places/division/abc/").status_code == 404


def test_it_paginates_the_beats_of_a_division_without_n_plus_one(
    world: World, django_assert_max_num_queries: object
) -> None:
    _more_beats(world, 12)
    client = client_for(world.users["city"])
    url = reverse("places:division", args=[world.district.pk])
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 14
    assert client.get(url, {"page": "not-a-number"}).status_code == 200


# Beat detail --------------------------------------------------------------------------------


def test_it_shows_a_beat_with_its_team_office_and_rule_status(world: World) -> None:
    response = client_for(world.users["officer"]).get(
        reverse("places:beat", args=[world.beat_a.pk])
    )
    assert response.status_code == 200
    content = response.content.decode()
    for text in (
        "学府一警务区",
        "学府一网格",
        "学府社区",
        "万兴派出所",
        "学府警务室",
        "南开区学府街1号",
        "08:30-17:30",
        "022-23500001",
        "马燕",
        "网格员甲",
    ):
        assert text in content
    assert response.context["problems"] == []
    assert response.context["dwellings"] == 1


def test_it_shows_why_a_beat_breaks_the_team_rule(world: World) -> None:
    response = client_for(world.users["neighbour"]).get(
        reverse("places:beat", args=[world.beat_b.pk])
    )
    assert response.status_code == 200
    assert len(response.context["problems"]) == 2


def test_it_hides_a_neighbouring_beat(world: World) -> None:
    neighbour = client_for(world.users["neighbour"])
    assert neighbour.get(reverse("places:beat", args=[world.beat_a.pk])).status_code == 404
    other = client_for(world.users["other_district"])
    assert other.get(reverse("places:beat", args=[world.beat_a.pk])).status_code == 404


# Station and office -------------------------------------------------------------------------


def test_it_shows_a_station_with_only_the_beats_in_scope(world: World) -> None:
    response = client_for(world.users["neighbour"]).get(
        reverse("places:station", args=[world.station.pk])
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "学府二警务区" in content
    assert "学府一警务区" not in content


def test_it_hides_a_station_that_is_not_theirs(world: World) -> None:
    client = client_for(world.users["neighbour"])
    assert client.get(reverse("places:station", args=[world.other_station.pk])).status_code == 404


def test_it_shows_an_office_with_only_the_beats_in_scope(world: World) -> None:
    response = client_for(world.users["neighbour"]).get(
        reverse("places:office", args=[world.office.pk])
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "学府警务室" in content and "022-23500001" in content
    assert "学府二警务区" in content
    assert "学府一警务区" not in content


def test_it_hides_an_office_that_is_not_theirs(world: World) -> None:
    other_office = PoliceOffice.objects.create(
        station=world.other_station,
        code="O-HB-01",
        name="三戒里警务室",
        address="河北区1号",
        opening_hours="9-17",
        phone="022-1",
    )
    Beat.objects.filter(pk=world.beat_c.pk).update(office=other_office)
    neighbour = client_for(world.users["neighbour"])
    assert neighbour.get(reverse("places:office", args=[other_office.pk])).status_code == 404
    other = client_for(world.users["other_district"])
    assert other.get(reverse("places:office", args=[world.office.pk])).status_code == 404


# Map ----------------------------------------------------------------------------------------


def test_it_shows_the_map_page_with_the_metrics(world: World) -> None:
    response = client_for(world.users["officer"]).get(reverse("places:map"))
    assert response.status_code == 200
    content = response.content.decode()
    for key in ("dwellings", "compounds", "team_size", "rule_breaches"):
        assert f'value="{key}"' in content
    assert "vendor/leaflet/leaflet.js" in content
    config = response.context["map_config"]
    assert config["tileUrl"] == ""


def test_it_passes_a_configured_tile_layer_to_the_map(world: World, settings: object) -> None:
    settings.MAP_TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"  # type: ignore[attr-defined]
    settings.MAP_TILE_ATTRIBUTION = "© Example"  # type: ignore[attr-defined]
    response = client_for(world.users["officer"]).get(reverse("places:map"))
    assert response.context["map_config"]["tileUrl"] == "https://tiles.example/{z}/{x}/{y}.png"


def test_it_never_loads_anything_from_another_host_on_the_map_page(world: World) -> None:
    content = client_for(world.users["officer"]).get(reverse("places:map")).content.decode()
    assert "http://" not in content and "https://" not in content


def test_it_serves_the_beats_in_scope_as_geojson(world: World) -> None:
    response = client_for(world.users["district"]).get(
        reverse("places:map_geojson"), {"metric": "dwellings"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection"
    by_name = {f["properties"]["name"]: f["properties"] for f in data["features"]}
    assert set(by_name) == {"学府一警务区", "学府二警务区"}
    assert by_name["学府一警务区"]["value"] == 1


def test_it_colours_by_a_teams_metric(world: World) -> None:
    client = client_for(world.users["district"])
    data = json.loads(
        client.get(reverse("places:map_geojson"), {"metric": "rule_breaches"}).content
    )
    values = {f["properties"]["name"]: f["properties"]["value"] for f in data["features"]}
    assert values == {"学府一警务区": 0, "学府二警务区": 1}
    data = json.loads(client.get(reverse("places:map_geojson"), {"metric": "team_size"}).content)
    values = {f["properties"]["name"]: f["properties"]["value"] for f in data["features"]}
    assert values == {"学府一警务区": 4, "学府二警务区": 2}


def test_it_shows_nothing_of_a_neighbouring_beat_in_the_geojson(world: World) -> None:
    response = client_for(world.users["neighbour"]).get(reverse("places:map_geojson"))
    names = [f["properties"]["name"] for f in json.loads(response.content)["features"]]
    assert names == ["学府二警务区"]


def test_it_refuses_an_unknown_metric_with_a_message(world: World) -> None:
    response = client_for(world.users["officer"]).get(
        reverse("places:map_geojson"), {"metric": "nope"}
    )
    assert response.status_code == 400
    assert "nope" in response.json()["detail"]


def test_it_builds_the_geojson_without_n_plus_one(
    world: World, django_assert_max_num_queries: object
) -> None:
    _more_beats(world, 15)
    client = client_for(world.users["city"])
    with django_assert_max_num_queries(6):  # type: ignore[operator]
        response = client.get(reverse("places:map_geojson"), {"metric": "rule_breaches"})
    assert len(json.loads(response.content)["features"]) == 18


def test_it_finds_the_beat_at_a_point(world: World) -> None:
    response = client_for(world.users["officer"]).get(
        reverse("places:beat_at"), {"lat": "39.105", "lng": "117.105"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["beat"]["name"] == "学府一警务区"
    assert body["beat"]["url"] == reverse("places:beat", args=[world.beat_a.pk])
    assert body["station"]["name"] == "万兴派出所"
    assert body["office"]["phone"] == "022-23500001"


def test_it_answers_404_for_a_point_in_a_neighbouring_beat(world: World) -> None:
    response = client_for(world.users["neighbour"]).get(
        reverse("places:beat_at"), {"lat": "39.105", "lng": "117.105"}
    )
    assert response.status_code == 404
    assert response.json()["detail"]
    assert "学府一" not in response.content.decode()


def test_it_answers_404_for_a_point_outside_every_beat(world: World) -> None:
    response = client_for(world.users["admin"]).get(
        reverse("places:beat_at"), {"lat": "10", "lng": "10"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lat": "39.1"},
        {"lat": "north", "lng": "117.1"},
        {"lat": "NaN", "lng": "117.1"},
        {"lat": "inf", "lng": "117.1"},
        {"lat": "91", "lng": "117.1"},
        {"lat": "39.1", "lng": "-181"},
    ],
)
def test_it_refuses_a_malformed_point_with_a_message(world: World, params: dict[str, str]) -> None:
    response = client_for(world.users["officer"]).get(reverse("places:beat_at"), params)
    assert response.status_code == 400
    assert response.json()["detail"]


# --- boundaries import page --------------------------------------------------------------


def _upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("b.geojson", content, content_type="application/geo+json")


def test_it_imports_boundaries_from_an_uploaded_file(world: World) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": "120104003017003",
                    "kind": "grid",
                    "name": "学府三网格",
                    "parent": "120104003017",
                },
                "geometry": square(117.12, 39.10),
            }
        ],
    }
    client = client_for(world.users["admin"])
    url = reverse("places:boundaries_import")
    assert client.get(url).status_code == 200
    response = client.post(url, {"file": _upload(json.dumps(collection).encode())})
    assert response.status_code == 200
    assert Grid.objects.filter(code="120104003017003").exists()


def test_it_lists_every_problem_of_a_bad_upload_and_imports_nothing(world: World) -> None:
    client = client_for(world.users["admin"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    before = Grid.objects.count()
    response = client.post(
        reverse("places:boundaries_import"), {"file": _upload(b'{"type": "Feature"')}
    )
    assert response.status_code == 400
    assert "The file is not valid JSON" in response.content.decode()
    assert Grid.objects.count() == before


def test_it_hides_the_boundaries_import_from_everyone_but_administrators(world: World) -> None:
    for username in ("city", "district", "station", "officer"):
        response = client_for(world.users[username]).get(reverse("places:boundaries_import"))
        assert response.status_code == 404, username
