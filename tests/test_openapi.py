"""The OpenAPI document describes every endpoint of /api/v1/."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecommunity.api import django_validation_error
from tests.conftest import World, client_for

EXPECTED_PATHS = {
    ("get", "/api/v1/me"),
    ("get", "/api/v1/places/divisions"),
    ("get", "/api/v1/places/divisions/{division_id}"),
    ("get", "/api/v1/places/beats"),
    ("get", "/api/v1/places/beats/{beat_id}"),
    ("get", "/api/v1/places/beats.geojson"),
    ("get", "/api/v1/places/beat-at"),
    ("get", "/api/v1/places/metrics"),
    ("get", "/api/v1/places/stations"),
    ("get", "/api/v1/places/stations/{station_id}"),
    ("get", "/api/v1/places/offices"),
    ("get", "/api/v1/places/offices/{office_id}"),
    ("post", "/api/v1/places/boundaries"),
    ("get", "/api/v1/teams/compliance"),
    ("get", "/api/v1/teams/staff"),
    ("get", "/api/v1/teams/staff/{staff_id}"),
    ("get", "/api/v1/teams/beats/{beat_id}/team"),
    ("get", "/api/v1/teams/roster"),
    ("get", "/api/v1/officer/"),
    ("get", "/api/v1/fieldwork/visits"),
    ("post", "/api/v1/fieldwork/visits"),
    ("get", "/api/v1/fieldwork/visits/{visit_id}"),
    ("get", "/api/v1/fieldwork/patrols"),
    ("post", "/api/v1/fieldwork/patrols"),
    ("get", "/api/v1/fieldwork/stationing"),
    ("post", "/api/v1/fieldwork/stationing"),
    ("get", "/api/v1/fieldwork/publicity"),
    ("post", "/api/v1/fieldwork/publicity"),
    ("get", "/api/v1/fieldwork/campaigns"),
    ("post", "/api/v1/fieldwork/campaigns"),
    ("get", "/api/v1/fieldwork/campaigns/{campaign_id}/coverage"),
    ("get", "/api/v1/fieldwork/campaigns/{campaign_id}/beats/{beat_id}/unvisited"),
    ("get", "/api/v1/disputes/"),
    ("post", "/api/v1/disputes/"),
    ("get", "/api/v1/disputes/statistics"),
    ("get", "/api/v1/disputes/{dispute_id}"),
    ("post", "/api/v1/disputes/{dispute_id}/transition"),
    ("post", "/api/v1/disputes/{dispute_id}/sessions"),
    ("get", "/api/v1/requests/"),
    ("post", "/api/v1/requests/"),
    ("get", "/api/v1/requests/{service_request_id}"),
    ("post", "/api/v1/requests/{service_request_id}/transition"),
    ("post", "/api/v1/requests/{service_request_id}/assign"),
    ("get", "/api/v1/custody/items"),
    ("post", "/api/v1/custody/items"),
    ("get", "/api/v1/custody/items/{item_id}"),
    ("post", "/api/v1/custody/items/{item_id}/return"),
    ("post", "/api/v1/custody/items/{item_id}/transfer"),
    ("post", "/api/v1/custody/items/{item_id}/dispose"),
    ("post", "/api/v1/custody/items/{item_id}/check"),
    ("get", "/api/v1/screening/runs"),
    ("get", "/api/v1/screening/runs/{run_id}"),
    ("get", "/api/v1/screening/runs/{run_id}/matches"),
    ("get", "/api/v1/screening/runs/{run_id}/pairs"),
    ("post", "/api/v1/screening/matches/{match_id}/review"),
    ("get", "/api/v1/screening/tasks"),
    ("post", "/api/v1/screening/tasks/{task_id}/done"),
}


@pytest.fixture
def document(db: None) -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    parsed: dict[str, Any] = json.loads(response.content)
    return parsed


def test_it_lists_every_endpoint(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert isinstance(paths, dict)
    listed = {(method, path) for path, ops in paths.items() for method in ops}
    assert EXPECTED_PATHS <= listed


def test_it_is_an_openapi_3_document_with_typed_responses(document: dict[str, Any]) -> None:
    assert str(document["openapi"]).startswith("3.")
    paths = document["paths"]
    assert isinstance(paths, dict)
    for method, path in EXPECTED_PATHS:
        operation = paths[path][method]
        assert operation["responses"], f"{method} {path} documents no response"
        assert operation.get("summary"), f"{method} {path} has no summary"


def test_it_documents_the_geojson_body_of_the_boundary_import(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    assert isinstance(paths, dict)
    body = paths["/api/v1/places/boundaries"]["post"]["requestBody"]
    assert "application/geo+json" in body["content"]


def test_it_documents_pagination_on_list_endpoints(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert isinstance(paths, dict)
    for path in ("/api/v1/places/beats", "/api/v1/teams/staff", "/api/v1/teams/roster"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"limit", "offset"} <= names, path


# --- fuzz: no query a client can send makes a GET endpoint answer 5xx ---------------------------

NASTY = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "nan",
        "inf",
        "-inf",
        "1e999",
        "2024-02-30",
        "9999-12-31",
        "12.01",
        "..",
        "%00",
        "' OR 1=1 --",
        "null",
        "[]",
        "9" * 30,
        "１２",
    ]
)
# Just past what a 64-bit integer column holds, and far past it.
EXTREMES = st.sampled_from([str(2**63), str(-(2**63) - 1), "9" * 30, "1" * 400])
VALUES = st.one_of(
    NASTY,
    EXTREMES,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=20),
)


FUZZ_USERS = ("admin", "neighbour", "station", "other_district")


@pytest.fixture
def clients(world: World) -> dict[str, Client]:
    return {who: client_for(world.users[who]) for who in FUZZ_USERS}


GET_PATHS = sorted(path for method, path in EXPECTED_PATHS if method == "get")


@pytest.mark.parametrize("path", GET_PATHS)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_never_answers_5xx_to_any_query(
    document: dict[str, Any], clients: dict[str, Client], path: str, data: st.DataObject
) -> None:
    parameters = document["paths"][path]["get"].get("parameters", [])
    who = data.draw(st.sampled_from(FUZZ_USERS), label="user")
    query: dict[str, str] = {}
    url = path
    for parameter in parameters:
        value = data.draw(VALUES, label=parameter["name"])
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", quote(value, safe="") or "0")
        elif data.draw(st.booleans(), label=f"send {parameter['name']}"):
            query[parameter["name"]] = value
    response = clients[who].get(url, query)
    assert response.status_code < 500, (url, query, response.status_code)


def test_it_turns_a_services_validation_error_into_a_400_with_its_messages() -> None:
    request = RequestFactory().get("/api/v1/me")
    response = django_validation_error(request, ValidationError(["first", "second"]))
    assert response.status_code == 400
    assert json.loads(response.content) == {"detail": ["first", "second"]}
