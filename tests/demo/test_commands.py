"""The ``demo-city`` and ``demo`` commands on a database that is not empty."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings

from safecommunity.accounts.models import Role
from safecommunity.accounts.services import user_create
from safecommunity.demo.management.commands.demo import parse_addr
from safecommunity.demo.screening import risk_list_path
from safecommunity.places.models import Division
from safecommunity.places.services import division_create


def test_demo_city_refuses_a_database_that_already_holds_places(db: None) -> None:
    division_create(kind="city", code="120100", name="天津市", parent=None)
    with pytest.raises(CommandError, match="already holds 1 divisions"):
        call_command("demo-city", "--scale", "small", stdout=StringIO(), stderr=StringIO())
    assert Division.objects.count() == 1


def test_demo_city_refuses_when_a_demo_username_is_taken(db: None) -> None:
    user_create(username="admin", password="x", role=Role.ADMIN)
    with pytest.raises(CommandError, match="users named admin"):
        call_command("demo-city", "--scale", "small", stdout=StringIO(), stderr=StringIO())
    assert not Division.objects.exists()


def test_demo_city_refuses_an_unknown_scale(db: None) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("demo-city", "--scale", "galaxy", stdout=StringIO(), stderr=StringIO())


def test_demo_keeps_an_existing_database_and_does_not_serve_with_no_serve(db: None) -> None:
    division_create(kind="city", code="120100", name="天津市", parent=None)
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out, stderr=StringIO())
    assert Division.objects.count() == 1
    assert "No demo logins" in out.getvalue()
    assert "http://127.0.0.1:8000/" in out.getvalue()


def test_demo_names_the_sample_risk_list_once_it_was_written(
    db: None, settings: Settings, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    division_create(kind="city", code="120100", name="天津市", parent=None)
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out, stderr=StringIO())
    assert "sample risk list" not in out.getvalue()
    sample = risk_list_path()
    sample.parent.mkdir(parents=True)
    sample.write_text("姓名\n张伟\n", encoding="utf-8")
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out, stderr=StringIO())
    assert (
        f"screening: http://127.0.0.1:8000/screening/ (sample risk list: {sample})"
        in out.getvalue()
    )


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("9000", ("127.0.0.1", 9000)),
    ],
)
def test_it_reads_the_serving_address(addr: str, expected: tuple[str, int]) -> None:
    assert parse_addr(addr) == expected


@pytest.mark.parametrize("addr", ["localhost", "host:port", "127.0.0.1:70000", ""])
def test_it_names_a_bad_serving_address(addr: str) -> None:
    with pytest.raises(CommandError, match="HOST:PORT"):
        parse_addr(addr)
