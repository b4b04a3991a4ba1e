"""Geometry: boundary validation and the point → beat index."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.utils import translation
from shapely.geometry import shape

from safecommunity.places.geo import (
    BeatHit,
    BeatLocator,
    GeometryError,
    get_locator,
    invalidate_locator,
    parse_boundary,
    to_geojson_text,
)
from safecommunity.places.models import Beat, Grid
from safecommunity.places.services import beat_at, beat_create, grid_create
from tests.conftest import World, square


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in English; the default language (zh-hans) has translations.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_locator() -> None:
    # The beat index is per process; a previous test's index must not answer for this one.
    invalidate_locator()


NAN = float("nan")
INF = float("inf")


def deep(depth: int) -> object:
    """A position wrapped in ``depth`` lists: deeper than any recursion limit."""
    value: object = [117.0, 39.0]
    for _ in range(depth):
        value = [value]
    return value


class TestParseBoundary:
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ('{"type": "Polygon", ', "not valid JSON"),
            ("[1, 2]", "must be a JSON object"),
            (42, "must be a JSON object"),
            ({"type": "Point", "coordinates": [117.0, 39.0]}, "must be Polygon or MultiPolygon"),
            ({"type": "Polygon"}, "has no coordinates"),
            ({"type": "Polygon", "coordinates": [[[117.0, 39.0], [117.1, 39.0]]]}, "malformed"),
            (
                {"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4], ["a", "b"]]]},
                "malformed",
            ),
            ({"type": "Polygon", "coordinates": []}, "empty"),
            (
                {"type": "Polygon", "coordinates": [[[179.5, 0], [181, 0], [181, 1], [179.5, 0]]]},
                "outside longitude/latitude",
            ),
            (
                {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                },
                "Self-intersection",
            ),
        ],
    )
    def test_it_names_what_is_wrong(self, value: object, message: str) -> None:
        with pytest.raises(GeometryError, match=message):
            parse_boundary(value)

    @pytest.mark.parametrize(
        ("coordinates", "message"),
        [
            pytest.param(
                [[[NAN, 1], [2, 2], [3, 1], [NAN, 1]]], "finite numbers", id="nan-ring-ends"
            ),
            pytest.param(
                [[[117.0, 39.0], [117.1, NAN], [117.1, 39.1], [117.0, 39.0]]],
                "finite numbers",
                id="nan-inside",
            ),
            pytest.param(
                [[[117.0, 39.0], [-INF, 39.0], [117.1, 39.1], [117.0, 39.0]]],
                "finite numbers",
                id="infinity",
            ),
            pytest.param(
                [[[117.0, 39.0], [10**400, 39.0], [117.1, 39.1], [117.0, 39.0]]],
                "two or three numbers",
                id="int-beyond-float",
            ),
            pytest.param([[[117.0, 39.0, 1, 2]] * 4], "two or three numbers", id="four-numbers"),
            pytest.param([117.0, 39.0], "a ring must be a list", id="a-position"),
            pytest.param("abc", "coordinates must be a list", id="text"),
            pytest.param(deep(100_000), "two or three numbers", id="deep-coordinates"),
            pytest.param([deep(100_000)], "two or three numbers", id="deep-ring"),
            pytest.param([[[117.0, 39.0], deep(100_000)]], "two or three numbers", id="deep-pos"),
        ],
    )
    def test_it_refuses_unusable_coordinates_with_a_message(
        self, coordinates: object, message: str
    ) -> None:
        with pytest.raises(GeometryError, match=message):
            parse_boundary({"type": "Polygon", "coordinates": coordinates})

    def test_it_refuses_deeply_nested_multipolygon_coordinates(self) -> None:
        with pytest.raises(GeometryError, match="two or three numbers"):
            parse_boundary({"type": "MultiPolygon", "coordinates": deep(100_000)})

    def test_it_refuses_json_text_nested_too_deeply(self) -> None:
        with pytest.raises(GeometryError, match="nested too deeply"):
            parse_boundary('{"type": "Polygon", "coordinates": ' + "[" * 100_000)

    def test_it_refuses_a_geometry_type_that_is_not_text(self) -> None:
        with pytest.raises(GeometryError, match="Polygon or MultiPolygon"):
            parse_boundary({"type": ["Polygon"], "coordinates": []})

    def test_it_accepts_a_polygon_as_a_dict_or_as_text(self) -> None:
        polygon = square(117.0, 39.0)

        from_dict = parse_boundary(polygon)
        from_text = parse_boundary(json.dumps(polygon))

        assert from_dict.equals(from_text)
        assert from_dict.geom_type == "Polygon"

    def test_it_accepts_a_multipolygon(self) -> None:
        multi = {
            "type": "MultiPolygon",
            "coordinates": [square(117.0, 39.0)["coordinates"], square(117.1, 39.0)["coordinates"]],
        }

        assert parse_boundary(multi).geom_type == "MultiPolygon"

    def test_it_writes_compact_geojson_rounded_to_six_decimals(self) -> None:
        geom = parse_boundary(square(117.1234567891, 39.1234567891))

        text = to_geojson_text(geom)

        assert " " not in text
        for x, y in json.loads(text)["coordinates"][0]:
            assert round(x, 6) == x
            assert round(y, 6) == y
        assert shape(json.loads(text)).hausdorff_distance(geom) < 1e-6


def hit(n: int, office: int | None = None) -> BeatHit:
    return BeatHit(beat_id=n, grid_id=100 + n, station_id=1, office_id=office)


class TestBeatLocator:
    @pytest.fixture
    def locator(self) -> BeatLocator:
        triangle = {
            "type": "Polygon",
            "coordinates": [[[117.2, 39.0], [117.3, 39.0], [117.2, 39.1], [117.2, 39.0]]],
        }
        return BeatLocator(
            [
                (hit(1), parse_boundary(square(117.0, 39.0, size=0.1))),
                (hit(2), parse_boundary(square(117.1, 39.0, size=0.1))),
                (hit(3, office=7), parse_boundary(triangle)),
            ]
        )

    @pytest.mark.parametrize(
        ("lng", "lat", "beat"),
        [(117.05, 39.05, 1), (117.15, 39.05, 2), (117.21, 39.01, 3), (117.001, 39.099, 1)],
    )
    def test_it_finds_the_beat_containing_a_point(
        self, locator: BeatLocator, lng: float, lat: float, beat: int
    ) -> None:
        found = locator.locate(lng, lat)

        assert found is not None
        assert found.beat_id == beat

    def test_it_returns_the_whole_hit(self, locator: BeatLocator) -> None:
        assert locator.locate(117.21, 39.01) == BeatHit(3, 103, 1, 7)

    @pytest.mark.parametrize(
        ("lng", "lat"),
        [
            (117.29, 39.09),  # inside the triangle's bounding box, outside the triangle
            (116.0, 39.05),  # west of everything
            (117.05, 40.0),  # north of everything
            (-117.05, -39.05),
        ],
    )
    def test_it_returns_none_for_a_point_on_no_beat(
        self, locator: BeatLocator, lng: float, lat: float
    ) -> None:
        assert locator.locate(lng, lat) is None

    def test_it_answers_a_shared_edge_with_the_first_beat(self, locator: BeatLocator) -> None:
        found = locator.locate(117.1, 39.05)

        assert found is not None
        assert found.beat_id == 1

    def test_an_empty_locator_finds_nothing(self) -> None:
        empty = BeatLocator([])

        assert len(empty) == 0
        assert empty.locate(117.0, 39.0) is None

    def test_it_agrees_with_a_plain_point_in_polygon_test_on_a_grid_of_points(self) -> None:
        polygons = [
            parse_boundary(square(117.0 + 0.013 * i, 39.0 + 0.011 * j, size=0.0105))
            for i in range(8)
            for j in range(6)
        ]
        locator = BeatLocator([(hit(n), p) for n, p in enumerate(polygons)])

        for a in range(60):
            for b in range(40):
                lng, lat = 116.999 + a * 0.0019, 38.999 + b * 0.0019
                expected = next(
                    (
                        n
                        for n, p in enumerate(polygons)
                        if p.intersects(shape({"type": "Point", "coordinates": [lng, lat]}))
                    ),
                    None,
                )
                found = locator.locate(lng, lat)
                assert (found.beat_id if found else None) == expected, (lng, lat)


class TestBeatAt:
    @pytest.mark.parametrize(
        ("lng", "lat", "attribute"),
        [(117.105, 39.105, "beat_a"), (117.115, 39.105, "beat_b"), (117.205, 39.155, "beat_c")],
    )
    def test_it_finds_the_beat_of_the_world(
        self, world: World, lng: float, lat: float, attribute: str
    ) -> None:
        beat: Beat = getattr(world, attribute)

        found = beat_at(lat=lat, lng=lng)

        assert found == BeatHit(beat.pk, beat.grid_id, beat.station_id, beat.office_id)

    def test_it_finds_nothing_between_the_beats(self, world: World) -> None:
        assert beat_at(lat=39.0, lng=117.0) is None
        assert beat_at(lat=39.13, lng=117.15) is None

    def test_it_sees_a_beat_created_through_the_services(self, world: World) -> None:
        assert beat_at(lat=39.305, lng=117.305) is None

        grid = grid_create(
            community=world.community,
            code="120104003017003",
            name="学府三网格",
            boundary=square(117.30, 39.30),
        )
        beat = beat_create(grid=grid, station=world.station, code="B-3", name="学府三警务区")

        found = beat_at(lat=39.305, lng=117.305)
        assert found is not None
        assert found.beat_id == beat.pk

    def test_it_sees_a_beat_written_by_another_process_on_the_next_check(
        self, world: World
    ) -> None:
        assert len(get_locator()) == 3
        grid = Grid.objects.create(
            community=world.community,
            code="120104003017004",
            name="学府四网格",
            path="12.01.04.003.017.004",
            boundary=json.dumps(square(117.40, 39.40)),
        )
        Beat.objects.create(
            grid=grid, station=world.station, code="B-4", name="学府四警务区", path=grid.path
        )

        locator = get_locator(force_check=True)

        assert len(locator) == 4
        found = locator.locate(117.405, 39.405)
        assert found is not None
        assert found.grid_id == grid.pk

    def test_it_leaves_out_beats_without_a_boundary(self, world: World) -> None:
        grid = grid_create(community=world.community, code="120104003017005", name="无边界")
        beat_create(grid=grid, station=world.station, code="B-5", name="无边界警务区")

        assert len(get_locator()) == 3
