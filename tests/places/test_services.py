"""Place services: codes and paths, divisions, beats, and the GeoJSON boundary import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from shapely.geometry import shape

from safecommunity.accounts.models import Role, User
from safecommunity.accounts.services import user_create
from safecommunity.places.geo import invalidate_locator
from safecommunity.places.models import Beat, Division, Grid
from safecommunity.places.services import (
    beat_at,
    beat_create,
    boundaries_import,
    check_code,
    division_create,
    path_for_code,
)
from tests.conftest import World, square


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in English; the default language (zh-hans) has translations.
    with translation.override("en"):
        yield


BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[117.0, 39.0], [117.01, 39.01], [117.01, 39.0], [117.0, 39.01], [117.0, 39.0]]
    ],
}


def feature(geometry: object = None, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": square(117.30, 39.30) if geometry is None else geometry,
    }


def collection(*features: object) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


NAN = float("nan")
INF = float("inf")


def nested(depth: int) -> object:
    """A position wrapped in ``depth`` more lists than GeoJSON allows."""
    value: object = [117.0, 39.0]
    for _ in range(depth):
        value = [value]
    return value


def counts() -> tuple[int, int, int]:
    return Division.objects.count(), Grid.objects.count(), Beat.objects.count()


@pytest.fixture(autouse=True)
def _fresh_locator() -> None:
    # The beat index is per process; a previous test's index must not answer for this one.
    invalidate_locator()


class TestCodes:
    @pytest.mark.parametrize(
        ("kind", "code", "path"),
        [
            ("city", "120100", "12.01"),
            ("district", "120104", "12.01.04"),
            ("subdistrict", "120104003", "12.01.04.003"),
            ("community", "120104003017", "12.01.04.003.017"),
            ("grid", "120104003017001", "12.01.04.003.017.001"),
        ],
    )
    def test_it_builds_the_path_from_the_code(self, kind: str, code: str, path: str) -> None:
        assert path_for_code(kind, code) == path

    def test_it_refuses_an_unknown_kind_of_path(self) -> None:
        with pytest.raises(ValueError, match="province"):
            path_for_code("province", "120000")

    @pytest.mark.parametrize(
        ("kind", "code", "parent", "message"),
        [
            ("city", "12010", None, "must be 6 digits"),
            ("city", "12010A", None, "must be 6 digits"),
            ("city", "120101", None, "must end in 00"),
            ("district", "130104", "120100", "does not lie in city"),
            ("subdistrict", "120105003", "120104", "must extend its parent"),
            ("community", "1201040030170", "120104003", "must be 12 digits"),
            ("grid", "120104003018001", "120104003017", "must extend its parent"),
        ],
    )
    def test_it_refuses_a_badly_shaped_code(
        self, kind: str, code: str, parent: str | None, message: str
    ) -> None:
        with pytest.raises(ValidationError, match=message):
            check_code(kind, code, parent)

    @pytest.mark.parametrize(
        ("kind", "code", "parent"),
        [
            ("city", "120100", None),
            ("district", "120104", "120100"),
            ("subdistrict", "120104003", "120104"),
            ("community", "120104003017", "120104003"),
            ("grid", "120104003017001", "120104003017"),
        ],
    )
    def test_it_accepts_a_well_shaped_code(self, kind: str, code: str, parent: str | None) -> None:
        check_code(kind, code, parent)


class TestDivisionCreate:
    def test_it_creates_a_division_with_its_path_and_boundary(self, world: World) -> None:
        division = division_create(
            kind="subdistrict",
            code="120104004",
            name="嘉陵道街道",
            parent=world.district,
            boundary=square(117.4, 39.4),
        )

        assert division.path == "12.01.04.004"
        assert json.loads(division.boundary)["type"] == "Polygon"

    @pytest.mark.parametrize(
        ("kind", "code", "parent_attr", "message"),
        [
            ("community", "120104099", "district", "must sit under a subdistrict"),
            ("district", "120106", None, "must sit under a city"),
            ("city", "130100", "city", "is the root of the tree"),
            ("subdistrict", "12010400X", "district", "must be 9 digits"),
            ("subdistrict", "120104003", "district", "already exists"),
            ("province", "120000", None, "Unknown division kind"),
        ],
    )
    def test_it_refuses_a_bad_division_and_writes_nothing(
        self, world: World, kind: str, code: str, parent_attr: str | None, message: str
    ) -> None:
        before = counts()
        parent = getattr(world, parent_attr) if parent_attr else None

        with pytest.raises(ValidationError, match=message):
            division_create(kind=kind, code=code, name="x", parent=parent)

        assert counts() == before

    def test_it_refuses_a_bad_boundary_by_reason(self, world: World) -> None:
        with pytest.raises(ValidationError, match="Self-intersection"):
            division_create(
                kind="subdistrict",
                code="120104005",
                name="x",
                parent=world.district,
                boundary=BOW_TIE,
            )

        assert not Division.objects.filter(code="120104005").exists()


class TestBeatCreate:
    def test_it_makes_a_grid_a_beat_with_the_grids_path(self, world: World) -> None:
        grid = Grid.objects.create(
            community=world.community,
            code="120104003017009",
            name="九网格",
            path="12.01.04.003.017.009",
        )

        beat = beat_create(grid=grid, station=world.station, code="B-9", name="九警务区")

        assert beat.path == grid.path

    def test_it_refuses_a_grid_claimed_by_a_second_beat_naming_both(self, world: World) -> None:
        before = counts()

        with pytest.raises(ValidationError) as caught:
            beat_create(grid=world.grid_a, station=world.station, code="B-A2", name="重复")

        message = " ".join(caught.value.messages)
        assert world.grid_a.code in message
        assert world.beat_a.code in message
        assert counts() == before

    def test_the_database_refuses_a_grid_with_two_beats(self, world: World) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            Beat.objects.create(
                grid=world.grid_a,
                station=world.station,
                code="B-RAW",
                name="raw",
                path=world.grid_a.path,
            )

    def test_it_refuses_a_duplicate_beat_code(self, world: World) -> None:
        grid = Grid.objects.create(
            community=world.community,
            code="120104003017008",
            name="八网格",
            path="12.01.04.003.017.008",
        )

        with pytest.raises(ValidationError, match="Beat code “B-A” already exists"):
            beat_create(grid=grid, station=world.station, code="B-A", name="x")

        assert not Beat.objects.filter(grid=grid).exists()

    def test_it_refuses_an_office_of_another_station(self, world: World) -> None:
        grid = Grid.objects.create(
            community=world.community,
            code="120104003017007",
            name="七网格",
            path="12.01.04.003.017.007",
        )

        with pytest.raises(ValidationError, match="belongs to another station"):
            beat_create(
                grid=grid, station=world.other_station, office=world.office, code="B-7", name="x"
            )


class TestBoundariesImport:
    def test_it_reports_malformed_json_and_writes_nothing(self, world: World) -> None:
        before = counts()

        result = boundaries_import(data=b'{"type": "FeatureCollection", "features": [')

        assert len(result.errors) == 1
        assert "not valid JSON" in result.errors[0]
        assert (result.created, result.updated) == (0, 0)
        assert counts() == before

    def test_it_reports_bytes_that_are_not_text(self, world: World) -> None:
        result = boundaries_import(data=b"\xff\xfe\x00garbage")

        assert result.errors
        assert "not valid JSON" in result.errors[0]

    @pytest.mark.parametrize(
        "document",
        [{"type": "Feature", "geometry": None}, [1, 2, 3], {"features": []}],
    )
    def test_it_refuses_a_document_that_is_not_a_feature_collection(
        self, world: World, document: object
    ) -> None:
        result = boundaries_import(data=json.dumps(document))

        assert result.errors == ["The file must be a GeoJSON FeatureCollection."]

    def test_it_names_the_feature_with_a_self_intersecting_polygon(self, world: World) -> None:
        before = counts()
        data = collection(
            feature(code="120104003017001", geometry=square(117.5, 39.5)),
            feature(code="120104003017002", geometry=BOW_TIE),
        )

        result = boundaries_import(data=data)

        assert len(result.errors) == 1
        assert "feature 2 (code 120104003017002)" in result.errors[0]
        assert "Self-intersection" in result.errors[0]
        assert counts() == before
        # Feature 1 was fine but the file is all or nothing: grid A keeps its boundary.
        assert Grid.objects.get(pk=world.grid_a.pk).boundary == world.grid_a.boundary

    def test_it_names_an_unknown_code_given_without_kind(self, world: World) -> None:
        result = boundaries_import(data=collection(feature(code="999999999999999", name="x")))

        assert len(result.errors) == 1
        assert "feature 1 (code 999999999999999)" in result.errors[0]
        assert "unknown division code" in result.errors[0]

    def test_it_names_an_unknown_parent_and_rolls_back_the_good_features(
        self, world: World
    ) -> None:
        before = counts()
        data = collection(
            # A good new community, written first (communities sort before grids) …
            feature(kind="community", code="120104003018", name="新社区", parent="120104003"),
            # … and a grid under a parent that does not exist.
            feature(kind="grid", code="120104003099001", name="孤网格", parent="120104003099"),
        )

        result = boundaries_import(data=data)

        assert len(result.errors) == 1
        assert "feature 2 (code 120104003099001)" in result.errors[0]
        assert "120104003099" in result.errors[0]
        assert (result.created, result.updated) == (0, 0)
        assert counts() == before
        assert not Division.objects.filter(code="120104003018").exists()

    def test_it_names_a_code_that_appears_twice(self, world: World) -> None:
        data = collection(
            feature(code="120104003017001"),
            feature(code="120104003017002", geometry=square(117.6, 39.6)),
            feature(code="120104003017001", geometry=square(117.7, 39.7)),
        )

        result = boundaries_import(data=data)

        assert result.errors == [
            "feature 3 (code 120104003017001): the same code already appears in feature 1."
        ]

    def test_it_reports_every_bad_feature_not_only_the_first(self, world: World) -> None:
        data = collection(
            {"type": "Point"},
            feature(name="no code"),
            feature(code="120104003017001", geometry={"type": "Point", "coordinates": [1, 2]}),
        )

        result = boundaries_import(data=data)

        assert len(result.errors) == 3
        assert result.errors[0].startswith("feature 1:")
        assert result.errors[1].startswith("feature 2:")
        assert result.errors[2].startswith("feature 3 (code 120104003017001)")

    def test_it_names_a_child_code_that_does_not_extend_its_parent(self, world: World) -> None:
        data = collection(
            feature(kind="grid", code="120105001001002", name="错网格", parent="120104003017")
        )

        result = boundaries_import(data=data)

        assert len(result.errors) == 1
        assert "feature 1 (code 120105001001002)" in result.errors[0]
        assert "must extend its parent" in result.errors[0]
        assert not Grid.objects.filter(code="120105001001002").exists()

    def test_it_creates_new_places_in_tree_order_and_updates_existing_ones(
        self, world: World
    ) -> None:
        moved = square(117.40, 39.40)
        data = collection(
            # Deliberately child-first: the import sorts by kind.
            feature(
                kind="grid",
                code="120104004001001",
                name="新网格",
                parent="120104004001",
                geometry=square(117.50, 39.50),
            ),
            feature(kind="community", code="120104004001", name="新社区", parent="120104004"),
            feature(kind="subdistrict", code="120104004", name="新街道", parent="120104"),
            feature(code="120104003017001", name="学府一网格（新）", geometry=moved),
        )

        result = boundaries_import(data=data)

        assert result.errors == []
        assert (result.created, result.updated) == (3, 1)
        new_grid = Grid.objects.select_related("community").get(code="120104004001001")
        assert new_grid.path == "12.01.04.004.001.001"
        assert new_grid.community.code == "120104004001"
        grid_a = Grid.objects.get(pk=world.grid_a.pk)
        assert grid_a.name == "学府一网格（新）"
        assert shape(json.loads(grid_a.boundary)).hausdorff_distance(shape(moved)) < 1e-6
        # The beat index follows the moved boundary at once.
        hit = beat_at(lat=39.405, lng=117.405)
        assert hit is not None
        assert hit.beat_id == world.beat_a.pk
        assert beat_at(lat=39.105, lng=117.105) is None

    def test_it_is_idempotent(self, world: World) -> None:
        data = collection(
            feature(kind="subdistrict", code="120104004", name="新街道", parent="120104")
        )

        first = boundaries_import(data=data)
        second = boundaries_import(data=data)

        assert (first.created, first.updated) == (1, 0)
        assert (second.created, second.updated) == (0, 1)
        assert Division.objects.filter(code="120104004").count() == 1

    def test_it_reports_json_nested_too_deeply_without_crashing(self, world: World) -> None:
        before = counts()

        result = boundaries_import(data=b"[" * 100_000)

        assert result.errors == [
            "The file is not valid JSON: arrays or objects are nested too deeply."
        ]
        assert counts() == before

    @pytest.mark.parametrize(
        ("coordinates", "message"),
        [
            pytest.param(
                [[[NAN, 1], [2, 2], [3, 1], [NAN, 1]]],
                "coordinates must be finite numbers, not NaN or infinity",
                id="nan-ring",
            ),
            pytest.param(
                [[[117.0, 39.0], [INF, 39.0], [117.1, 39.1], [117.0, 39.0]]],
                "coordinates must be finite numbers, not NaN or infinity",
                id="infinity",
            ),
            pytest.param(
                nested(500), "a position must be a list of two or three numbers", id="deep"
            ),
        ],
    )
    def test_it_names_the_feature_with_unusable_coordinates(
        self, world: World, coordinates: object, message: str
    ) -> None:
        before = counts()
        data = collection(
            feature(code="120104003017001", geometry=square(117.5, 39.5)),
            feature(
                code="120104003017002",
                geometry={"type": "Polygon", "coordinates": coordinates},
            ),
        )

        result = boundaries_import(data=data)

        assert len(result.errors) == 1
        assert "feature 2 (code 120104003017002)" in result.errors[0]
        assert message in result.errors[0]
        assert counts() == before
        assert Grid.objects.get(pk=world.grid_a.pk).boundary == world.grid_a.boundary

    def test_it_names_a_feature_whose_geometry_type_is_not_text(self, world: World) -> None:
        data = collection(
            feature(code="120104003017001", geometry={"type": [1], "coordinates": []})
        )

        result = boundaries_import(data=data)

        assert len(result.errors) == 1
        assert "feature 1 (code 120104003017001)" in result.errors[0]
        assert "Polygon or MultiPolygon" in result.errors[0]

    def test_it_names_a_feature_whose_name_is_too_long(self, world: World) -> None:
        before = Grid.objects.get(pk=world.grid_a.pk).name

        result = boundaries_import(
            data=collection(feature(code="120104003017001", name="长" * 101))
        )

        assert len(result.errors) == 1
        assert "feature 1 (code 120104003017001)" in result.errors[0]
        assert "longer than 100 characters" in result.errors[0]
        assert Grid.objects.get(pk=world.grid_a.pk).name == before

    def test_it_refuses_a_new_division_whose_name_is_too_long(self, world: World) -> None:
        with pytest.raises(ValidationError, match="longer than 100 characters"):
            division_create(
                kind="community", code="120104003018", name="社" * 101, parent=world.subdistrict
            )


class TestBoundariesImportScope:
    """An administrator with a jurisdiction redraws only inside it; outside reads as unknown."""

    @pytest.fixture
    def hebei_admin(self, world: World) -> User:
        return user_create(
            username="hebei_admin",
            password="x",
            role=Role.ADMIN,
            jurisdiction=world.other_district,
        )

    def test_it_treats_a_place_outside_the_jurisdiction_as_unknown(
        self, world: World, hebei_admin: User
    ) -> None:
        before = Division.objects.get(pk=world.community.pk).boundary
        data = collection(feature(code=world.community.code, geometry=square(117.5, 39.5)))

        result = boundaries_import(data=data, actor=hebei_admin)

        assert len(result.errors) == 1
        assert "unknown division code" in result.errors[0]
        assert Division.objects.get(pk=world.community.pk).boundary == before

    def test_it_refuses_a_parent_outside_the_jurisdiction(
        self, world: World, hebei_admin: User
    ) -> None:
        data = collection(
            feature(code="120104003017009", kind="grid", name="越界网格", parent="120104003017")
        )

        result = boundaries_import(data=data, actor=hebei_admin)

        assert "unknown parent division code" in result.errors[0]
        assert not Grid.objects.filter(code="120104003017009").exists()

    def test_it_redraws_a_place_inside_the_jurisdiction(
        self, world: World, hebei_admin: User
    ) -> None:
        data = collection(feature(code=world.grid_c.code, geometry=square(117.20, 39.15, 0.02)))

        result = boundaries_import(data=data, actor=hebei_admin)

        assert (result.errors, result.updated) == ([], 1)
