"""The ``import-boundaries`` command: all or nothing, every problem named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from safecommunity.places.models import Division, Grid
from tests.conftest import World, square


def _write(tmp_path: Path, *features: dict[str, object]) -> Path:
    path = tmp_path / "boundaries.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def _feature(props: dict[str, object], geometry: dict[str, object]) -> dict[str, object]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def test_it_creates_and_updates_places_from_a_file(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        _feature({"code": "120104003017", "name": "学府社区"}, square(117.10, 39.10, 0.02)),
        _feature(
            {
                "code": "120104003017003",
                "kind": "grid",
                "name": "学府三网格",
                "parent": "120104003017",
            },
            square(117.12, 39.10),
        ),
    )
    call_command("import-boundaries", str(path))
    assert "created 1, updated 1" in capsys.readouterr().out
    grid = Grid.objects.get(code="120104003017003")
    assert grid.path == "12.01.04.003.017.003"
    assert json.loads(Division.objects.get(code="120104003017").boundary)["type"] == "Polygon"


def test_it_names_every_bad_feature_and_writes_nothing(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    path = _write(
        tmp_path,
        _feature(
            {"code": "120104003017004", "kind": "grid", "name": "好网格", "parent": "120104003017"},
            square(117.13, 39.10),
        ),
        _feature(
            {"code": "120104003017005", "kind": "grid", "name": "坏网格", "parent": "120104003017"},
            bow_tie,
        ),
        _feature(
            {
                "code": "999999999999001",
                "kind": "grid",
                "name": "无主网格",
                "parent": "999999999999",
            },
            square(117.3, 39.3),
        ),
    )
    before = Grid.objects.count()
    with translation.override("en"), pytest.raises(CommandError, match="nothing was imported"):
        call_command("import-boundaries", str(path))
    err = capsys.readouterr().err
    assert "feature 2 (code 120104003017005): geometry: invalid polygon: Self-intersection" in err
    assert "feature 3 (code 999999999999001): unknown parent division code" in err
    assert "feature 1" not in err
    assert Grid.objects.count() == before


def test_it_reports_an_unreadable_file(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("import-boundaries", str(tmp_path / "missing.geojson"))
