"""The places API: every list and detail is scoped, malformed input is a 4xx, never a 500,
and a boundary import is all or nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from safecommunity.places.models import Beat, Division, Grid
from safecommunity.places.services import beat_create, grid_create
from tests.apiclient import api_client, items
from tests.conftest import World, square

API = "/api/v1/places"
# Inside beat A's square (117.10–117.11, 39.10–39.11), B's, and outside every beat.
POINT_A = {"lat": 39.105, "lng": 117.105}
POINT_B = {"lat": 39.105, "lng": 117.115}
NOWHERE = {"lat": 30.0, "lng": 100.0}
# Session + user + scope + count + page; must not grow with the number of rows.
LIST_QUERIES = 6


def codes(response: Any) -> set[str]:
    return {row["code"] for row in items(response)}


@pytest.fixture
def more_beats(world: World) -> list[Beat]:
    """Five more beats of station 万兴 served by the same office, so an N+1 would show."""
    beats = []
    for i in range(5):
        grid = grid_create(
            community=world.community,
            code=f"12010400301710{i}",
            name=f"学府{i}网格",
            boundary=square(117.12 + i * 0.01, 39.10),
        )
        beats.append(
            beat_create(
                grid=grid,
                station=world.station,
                office=world.office,
                code=f"B-X{i}",
                name=f"学府{i}警务区",
            )
        )
    return beats


# --- anonymous ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/divisions",
        "/divisions/1",
        "/beats",
        "/beats/1",
        "/beats.geojson",
        "/beat-at?lat=39.105&lng=117.105",
        "/metrics",
        "/stations",
        "/stations/1",
        "/offices",
        "/offices/1",
    ],
)
def test_it_refuses_anonymous_reads(world: World, path: str) -> None:
    assert Client().get(API + path).status_code == 401


def test_it_refuses_an_anonymous_boundary_import(world: World) -> None:
    response = Client().post(API + "/boundaries", data="{}", content_type="application/geo+json")
    assert response.status_code == 401


# --- divisions ---------------------------------------------------------------------------------


def test_it_lists_the_divisions_of_a_district(world: World) -> None:
    response = api_client(world, "district").get(API + "/divisions")
    assert codes(response) == {"120104", "120104003", "120104003017"}


def test_it_filters_divisions_by_parent_and_kind(world: World) -> None:
    client = api_client(world, "city")
    by_parent = client.get(API + "/divisions", {"parent": world.city.pk})
    assert codes(by_parent) == {"120104", "120105"}
    by_kind = client.get(API + "/divisions", {"kind": "community"})
    assert codes(by_kind) == {"120104003017", "120105001001"}


def test_it_shows_no_division_of_nankai_to_another_district(world: World) -> None:
    client = api_client(world, "other_district")
    listed = codes(client.get(API + "/divisions"))
    assert listed == {"120105", "120105001", "120105001001"}
    assert client.get(f"{API}/divisions/{world.district.pk}").status_code == 404
    assert client.get(f"{API}/divisions/{world.community.pk}").status_code == 404


def test_it_shows_no_division_to_a_beat_user(world: World) -> None:
    client = api_client(world, "neighbour")
    assert items(client.get(API + "/divisions")) == []
    assert client.get(f"{API}/divisions/{world.community.pk}").status_code == 404


def test_it_shows_a_division_with_ancestors_and_children(world: World) -> None:
    response = api_client(world, "district").get(f"{API}/divisions/{world.subdistrict.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "120104003"
    assert [a["code"] for a in body["ancestors"]] == ["120100", "120104"]
    assert body["children"] == [
        {
            "id": world.community.pk,
            "kind": "community",
            "code": "120104003017",
            "name": "学府社区",
            "path": world.community.path,
            "parent_id": world.subdistrict.pk,
            "n_children": 0,
            "n_grids": 2,
        }
    ]


def test_it_answers_an_unknown_division_like_an_out_of_scope_one(world: World) -> None:
    client = api_client(world, "other_district")
    unknown = client.get(f"{API}/divisions/999999")
    hidden = client.get(f"{API}/divisions/{world.district.pk}")
    assert unknown.status_code == hidden.status_code == 404
    assert unknown.json() == hidden.json()


def test_it_lists_divisions_in_a_bounded_number_of_queries(
    world: World, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "district")
    with django_assert_max_num_queries(LIST_QUERIES):
        items(client.get(API + "/divisions"))


# --- beats -------------------------------------------------------------------------------------


def test_it_lists_the_beats_of_a_station_user(world: World) -> None:
    response = api_client(world, "station").get(API + "/beats")
    rows = items(response)
    assert {r["code"] for r in rows} == {"B-A", "B-B"}
    first = next(r for r in rows if r["code"] == "B-A")
    assert first["station"] == {"id": world.station.pk, "code": "S-NK-01", "name": "万兴派出所"}
    assert first["office"]["code"] == "O-NK-01"
    assert first["grid_id"] == world.grid_a.pk


def test_it_filters_beats_by_station_and_by_path(world: World) -> None:
    client = api_client(world, "city")
    assert codes(client.get(API + "/beats", {"station": world.other_station.pk})) == {"B-C"}
    assert codes(client.get(API + "/beats", {"within": world.district.path})) == {"B-A", "B-B"}
    assert codes(client.get(API + "/beats", {"within": world.beat_a.path})) == {"B-A"}
    # A prefix of a segment is not a place: 12.01.0 matches nothing.
    assert codes(client.get(API + "/beats", {"within": "12.01.0"})) == set()


def test_it_hides_beat_a_from_its_neighbour(world: World) -> None:
    client = api_client(world, "neighbour")
    assert codes(client.get(API + "/beats")) == {"B-B"}
    assert codes(client.get(API + "/beats", {"within": world.beat_a.path})) == set()
    assert client.get(f"{API}/beats/{world.beat_a.pk}").status_code == 404
    assert client.get(f"{API}/beats/{world.beat_b.pk}").status_code == 200


def test_it_hides_nankai_beats_from_another_district(world: World) -> None:
    client = api_client(world, "other_district")
    assert codes(client.get(API + "/beats")) == {"B-C"}
    assert client.get(f"{API}/beats/{world.beat_a.pk}").status_code == 404


def test_it_shows_a_beat_with_grid_station_office_and_boundary(world: World) -> None:
    body = api_client(world, "officer").get(f"{API}/beats/{world.beat_a.pk}").json()
    assert body["code"] == "B-A"
    assert body["grid"]["code"] == "120104003017001"
    assert body["grid"]["community"]["name"] == "学府社区"
    assert body["station"]["name"] == "万兴派出所"
    assert body["office"] == {"id": world.office.pk, "code": "O-NK-01", "name": "学府警务室"}
    assert body["boundary"]["type"] == "Polygon"


def test_it_lists_beats_in_a_bounded_number_of_queries(
    world: World, more_beats: list[Beat], django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "station")
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(items(client.get(API + "/beats"))) == 7


def test_it_pages_through_beats(world: World, more_beats: list[Beat]) -> None:
    client = api_client(world, "district")
    page = client.get(API + "/beats", {"limit": 3, "offset": 3}).json()
    assert page["count"] == 7
    assert len(page["items"]) == 3


# --- the beat map ------------------------------------------------------------------------------


def geojson_codes(client: Client, **params: str) -> set[str]:
    response = client.get(API + "/beats.geojson", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    document = json.loads(response.content)
    assert document["type"] == "FeatureCollection"
    return {f["properties"]["code"] for f in document["features"]}


def test_it_draws_the_beats_in_scope_as_geojson(world: World) -> None:
    assert geojson_codes(api_client(world, "district")) == {"B-A", "B-B"}


def test_it_leaves_beat_a_off_the_neighbours_map(world: World) -> None:
    assert geojson_codes(api_client(world, "neighbour")) == {"B-B"}
    assert geojson_codes(api_client(world, "other_district")) == {"B-C"}


def test_it_colours_the_map_by_a_metric(world: World) -> None:
    response = api_client(world, "district").get(API + "/beats.geojson", {"metric": "dwellings"})
    features = json.loads(response.content)["features"]
    assert {f["properties"]["code"]: f["properties"]["value"] for f in features} == {
        "B-A": 1,
        "B-B": 1,
    }


def test_it_refuses_an_unknown_metric_by_name(world: World) -> None:
    response = api_client(world, "district").get(API + "/beats.geojson", {"metric": "nope"})
    assert response.status_code == 400
    assert "nope" in response.json()["detail"]
    assert "dwellings" in response.json()["detail"]


def test_it_draws_the_map_in_a_bounded_number_of_queries(
    world: World, more_beats: list[Beat], django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "station")
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(geojson_codes(client, metric="dwellings")) == 7


def test_it_lists_the_metrics(world: World) -> None:
    response = api_client(world, "officer").get(API + "/metrics")
    keys = {m["key"] for m in response.json()}
    assert {"dwellings", "compounds"} <= keys
    assert all(m["label"] for m in response.json())


# --- point → beat ------------------------------------------------------------------------------


def test_it_finds_grid_beat_station_and_office_at_a_point(world: World) -> None:
    response = api_client(world, "district").get(API + "/beat-at", POINT_A)
    assert response.status_code == 200
    body = response.json()
    assert body["beat"] == {"id": world.beat_a.pk, "code": "B-A", "name": "学府一警务区"}
    assert body["grid"]["code"] == "120104003017001"
    assert body["station"]["code"] == "S-NK-01"
    assert body["office"]["code"] == "O-NK-01"


def test_it_does_not_locate_a_point_in_beat_a_for_the_neighbour(world: World) -> None:
    client = api_client(world, "neighbour")
    assert client.get(API + "/beat-at", POINT_A).status_code == 404
    assert client.get(API + "/beat-at", POINT_B).json()["beat"]["code"] == "B-B"
    assert api_client(world, "other_district").get(API + "/beat-at", POINT_A).status_code == 404


def test_it_answers_404_where_there_is_no_beat(world: World) -> None:
    response = api_client(world, "admin").get(API + "/beat-at", NOWHERE)
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lat": "39.1"},
        {"lng": "117.1"},
        {"lat": "north", "lng": "117.1"},
        {"lat": "91", "lng": "117.1"},
        {"lat": "39.1", "lng": "-180.5"},
        {"lat": "nan", "lng": "117.1"},
        {"lat": "39.1", "lng": "inf"},
    ],
)
def test_it_refuses_a_missing_or_impossible_point_with_a_message(
    world: World, params: dict[str, str]
) -> None:
    response = api_client(world, "admin").get(API + "/beat-at", params)
    assert response.status_code == 422
    assert response.json()["detail"]


# --- stations and offices ----------------------------------------------------------------------


def test_it_lists_stations_and_offices_in_scope(world: World) -> None:
    client = api_client(world, "district")
    assert codes(client.get(API + "/stations")) == {"S-NK-01"}
    assert codes(client.get(API + "/offices")) == {"O-NK-01"}
    city = api_client(world, "city")
    assert codes(city.get(API + "/stations")) == {"S-NK-01", "S-HB-01"}


def test_it_hides_nankai_stations_and_offices_from_another_district(world: World) -> None:
    client = api_client(world, "other_district")
    assert codes(client.get(API + "/stations")) == {"S-HB-01"}
    assert codes(client.get(API + "/offices")) == set()
    assert client.get(f"{API}/stations/{world.station.pk}").status_code == 404
    assert client.get(f"{API}/offices/{world.office.pk}").status_code == 404


def test_it_shows_a_station_with_only_the_beats_in_scope(world: World) -> None:
    client = api_client(world, "neighbour")
    body = client.get(f"{API}/stations/{world.station.pk}").json()
    assert body["district"]["name"] == "南开区"
    assert [b["code"] for b in body["beats"]] == ["B-B"]
    assert [o["code"] for o in body["offices"]] == ["O-NK-01"]
    assert client.get(f"{API}/stations/{world.other_station.pk}").status_code == 404


def test_it_shows_an_office_with_hours_phone_centre_and_its_beats(world: World) -> None:
    body = api_client(world, "station").get(f"{API}/offices/{world.office.pk}").json()
    assert body["address"] == "南开区学府街1号"
    assert body["opening_hours"] == "08:30-17:30"
    assert body["phone"] == "022-23500001"
    assert body["service_centre"] == "学府社区党群服务中心"
    assert body["station"]["code"] == "S-NK-01"
    assert [b["code"] for b in body["beats"]] == ["B-A", "B-B"]


def test_it_leaves_beat_a_out_of_a_shared_office_for_the_neighbour(world: World) -> None:
    body = api_client(world, "neighbour").get(f"{API}/offices/{world.office.pk}").json()
    assert [b["code"] for b in body["beats"]] == ["B-B"]


def test_it_lists_stations_and_offices_in_a_bounded_number_of_queries(
    world: World, more_beats: list[Beat], django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "city")
    for path in ("/stations", "/offices"):
        with django_assert_max_num_queries(LIST_QUERIES):
            items(client.get(API + path))


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/divisions/abc",
        "/divisions/-1",
        "/divisions/99999999999999999999999",
        "/divisions?parent=x",
        "/divisions?parent=99999999999999999999999",
        "/divisions?kind=planet",
        "/beats/1.5",
        "/beats?station=%00",
        "/beats?within=12.01;drop",
        "/beats?within=" + "1" * 200,
        "/beats?limit=0",
        "/beats?limit=100000",
        "/beats?offset=-1",
        "/beats?offset=99999999999999999999999",
        "/stations/abc",
        "/offices/0",
    ],
)
def test_it_answers_malformed_input_with_a_4xx_json_message(world: World, path: str) -> None:
    response = api_client(world, "admin").get(API + path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert response.json()["detail"]


# --- boundary import ---------------------------------------------------------------------------


def feature(code: str, geometry: object, **props: str) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, **props}, "geometry": geometry}


def collection(*features: dict[str, Any]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


NEW_GRID = feature(
    "120104003017009", square(117.30, 39.30), kind="grid", name="新网格", parent="120104003017"
)
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[117.0, 39.0], [117.1, 39.1], [117.1, 39.0], [117.0, 39.1], [117.0, 39.0]]],
}


def post_boundaries(client: Client, body: str | bytes) -> Any:
    return client.post(API + "/boundaries", data=body, content_type="application/geo+json")


def snapshot() -> tuple[int, int, list[str]]:
    return (
        Division.objects.count(),
        Grid.objects.count(),
        list(Grid.objects.order_by("code").values_list("boundary", flat=True)),
    )


def test_it_imports_boundaries_for_an_administrator(world: World) -> None:
    moved = feature(world.grid_a.code, square(117.40, 39.40))
    response = post_boundaries(api_client(world, "admin"), collection(NEW_GRID, moved))
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 1}
    assert Grid.objects.filter(code="120104003017009").exists()
    world.grid_a.refresh_from_db()
    assert "117.4" in world.grid_a.boundary


@pytest.mark.parametrize("who", ["district", "station", "officer", "city"])
def test_it_refuses_a_boundary_import_to_anyone_but_an_administrator(
    world: World, who: str
) -> None:
    before = snapshot()
    response = post_boundaries(api_client(world, who), collection(NEW_GRID))
    assert response.status_code == 403
    assert response.json()["detail"]
    assert snapshot() == before


def test_it_needs_the_csrf_token_for_a_cookie_authenticated_import(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["admin"])
    response = post_boundaries(client, collection(NEW_GRID))
    assert response.status_code == 403
    assert not Grid.objects.filter(code="120104003017009").exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("{not json", "not valid JSON", id="malformed-json"),
        pytest.param(b"\xff\xfe\x00garbage", "not valid JSON", id="not-utf8"),
        pytest.param("", "not valid JSON", id="empty"),
        pytest.param('{"type": "Feature"}', "FeatureCollection", id="not-a-collection"),
        pytest.param("[1, 2]", "FeatureCollection", id="a-list"),
        pytest.param('{"type": "FeatureCollection"}', "features", id="no-features"),
    ],
)
def test_it_refuses_a_file_that_is_not_a_feature_collection(
    world: World, body: str | bytes, expected: str
) -> None:
    before = snapshot()
    response = post_boundaries(api_client(world, "admin"), body)
    assert response.status_code == 400
    assert expected in " ".join(response.json()["errors"])
    assert snapshot() == before


@pytest.mark.parametrize(
    ("features", "naming"),
    [
        pytest.param(
            [
                NEW_GRID,
                feature("120104003017008", BOWTIE, kind="grid", name="坏", parent="120104003017"),
            ],
            "feature 2 (code 120104003017008)",
            id="self-intersecting",
        ),
        pytest.param(
            [
                NEW_GRID,
                feature(
                    "120199001001001",
                    square(117.5, 39.5),
                    kind="grid",
                    name="无",
                    parent="120199001001",
                ),
            ],
            "feature 2 (code 120199001001001)",
            id="unknown-parent",
        ),
        pytest.param(
            [NEW_GRID, NEW_GRID],
            "feature 2 (code 120104003017009)",
            id="duplicate-code",
        ),
        pytest.param(
            [NEW_GRID, feature("999", square(117.5, 39.5))],
            "feature 2 (code 999)",
            id="unknown-code-without-kind",
        ),
        pytest.param(
            [NEW_GRID, {"type": "Feature", "properties": {"code": "120104"}, "geometry": None}],
            "feature 2 (code 120104)",
            id="no-geometry",
        ),
        pytest.param(
            [NEW_GRID, {"type": "Point"}],
            "feature 2",
            id="not-a-feature",
        ),
    ],
)
def test_it_refuses_a_bad_feature_by_number_and_writes_nothing(
    world: World, features: list[dict[str, Any]], naming: str
) -> None:
    before = snapshot()
    response = post_boundaries(api_client(world, "admin"), collection(*features))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"]
    assert any(naming in error for error in body["errors"]), body["errors"]
    assert snapshot() == before
    assert not Grid.objects.filter(code="120104003017009").exists()


def test_it_refuses_a_feature_whose_properties_are_not_an_object(world: World) -> None:
    body = collection(NEW_GRID, {"type": "Feature", "properties": [1], "geometry": None})
    response = post_boundaries(api_client(world, "admin"), body)
    assert response.status_code == 400


def nan_ring_feature() -> str:
    geometry = '{"type": "Polygon", "coordinates": [[[NaN, 1], [2, 2], [3, 1], [NaN, 1]]]}'
    return (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"code": "120104003017001"}, "geometry": ' + geometry + "}]}"
    )


def deep_coordinates_feature() -> str:
    coordinates = "[" * 500 + "117.0, 39.0" + "]" * 500
    return (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"code": "120104003017001"}, '
        '"geometry": {"type": "Polygon", "coordinates": ' + coordinates + "}}]}"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("[" * 100_000, "nested too deeply", id="deeply-nested-json"),
        pytest.param(
            deep_coordinates_feature(),
            "feature 1 (code 120104003017001): geometry: malformed coordinates",
            id="deeply-nested-coordinates",
        ),
        pytest.param(
            nan_ring_feature(),
            "feature 1 (code 120104003017001): geometry: coordinates must be finite numbers",
            id="nan-coordinates",
        ),
    ],
)
def test_it_answers_a_hostile_boundary_file_with_400_and_a_message(
    world: World, body: str, expected: str
) -> None:
    before = snapshot()

    response = post_boundaries(api_client(world, "admin"), body)

    assert response.status_code == 400, response.content
    assert any(expected in error for error in response.json()["errors"]), response.json()
    assert snapshot() == before
