"""Open311 GeoReport v2: every resource in JSON and XML, the spec's error shape and status
codes for every bad input, and no personal data in any public answer."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405  # parses our own answers
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecommunity.service_requests.models import ServiceRequest
from tests.conftest import World
from tests.service_requests.conftest import OUTSIDE, POINT_A, file_in_a

BASE = "/open311/v2"


def post(client: Client, fmt: str = "json", **data: Any) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", data)


def valid(key: str, **extra: Any) -> dict[str, Any]:
    data = {
        "api_key": key,
        "service_code": "noise",
        "lat": str(POINT_A[0]),
        "long": str(POINT_A[1]),
        "attribute[noise_source]": "construction",
        "description": "工地夜间施工",
        "first_name": "三",
        "last_name": "张",
        "phone": "13800138000",
        "email": "zhangsan@example.org",
    }
    data.update(extra)
    return data


def xml_errors(body: bytes) -> list[tuple[str, str]]:
    root = ET.fromstring(body)  # noqa: S314  # our own answer
    assert root.tag == "errors"
    return [(e.findtext("code") or "", e.findtext("description") or "") for e in root]


# --- reads -----------------------------------------------------------------------------------


def test_discovery_names_the_spec_and_both_formats(client: Client, db: None) -> None:
    data = client.get(f"{BASE}/discovery.json").json()
    endpoint = data["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = ET.fromstring(client.get(f"{BASE}/discovery.xml").content)  # noqa: S314
    assert root.tag == "discovery"
    assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]


def test_services_lists_every_kind_in_both_formats(client: Client, db: None) -> None:
    response = client.get(f"{BASE}/services.json")
    assert response["Content-Type"].startswith("application/json")
    codes = {s["service_code"] for s in response.json()}
    assert codes == {
        "elderly",
        "keys",
        "hazard",
        "noise",
        "illegal_structure",
        "lost_found",
        "residence_certificate",
        "other",
    }
    other = next(s for s in response.json() if s["service_code"] == "other")
    assert other["metadata"] is False and other["type"] == "realtime"
    xml = client.get(f"{BASE}/services.xml")
    assert xml["Content-Type"].startswith("text/xml")
    assert xml.content.startswith(b"<?xml")
    root = ET.fromstring(xml.content)  # noqa: S314
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.findall("service")} == codes
    assert root.find("service/metadata").text in {"true", "false"}  # type: ignore[union-attr]


def test_a_service_definition_lists_its_attributes(client: Client, db: None) -> None:
    data = client.get(f"{BASE}/services/illegal_structure.json").json()
    assert data["service_code"] == "illegal_structure"
    codes = [a["code"] for a in data["attributes"]]
    assert codes == ["structure_kind", "rectification_deadline"]
    kind = data["attributes"][0]
    assert kind["datatype"] == "singlevaluelist" and kind["required"] is True
    assert {"key": "shed", "name": "Shed"} in kind["values"]
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(f"{BASE}/services/illegal_structure.json")
    assert {"key": "shed", "name": "棚亭"} in chinese.json()["attributes"][0]["values"]
    assert "整改期限" in chinese.content.decode()
    root = ET.fromstring(client.get(f"{BASE}/services/illegal_structure.xml").content)  # noqa: S314
    assert root.tag == "service_definition"
    first = root.find("attributes/attribute")
    assert first is not None and first.findtext("code") == "structure_kind"
    assert first.findtext("values/value/key") == "extension"


def test_an_unknown_service_is_a_404_in_both_formats(client: Client, db: None) -> None:
    response = client.get(f"{BASE}/services/pothole.json")
    assert response.status_code == 404
    assert response.json()[0]["code"] == 404
    response = client.get(f"{BASE}/services/pothole.xml")
    assert response.status_code == 404
    assert xml_errors(response.content)[0][0] == "404"


# --- POST ------------------------------------------------------------------------------------


def test_posting_a_request_returns_its_id_and_token(client: Client, api_key: str) -> None:
    response = post(client, **valid(api_key))
    assert response.status_code == 200
    [answer] = response.json()
    req = ServiceRequest.objects.get(service_request_id=answer["service_request_id"])
    assert answer["token"] == req.token
    assert req.attributes == {"noise_source": "construction"}
    assert req.contact_name == "张三"
    assert req.source == "open311"
    token = client.get(f"{BASE}/tokens/{req.token}.json").json()
    assert token == [{"service_request_id": req.service_request_id, "token": req.token}]


def test_posting_in_xml_and_with_the_key_in_the_query_string(client: Client, api_key: str) -> None:
    data = valid(api_key)
    del data["api_key"]
    response = client.post(f"{BASE}/requests.xml?api_key={api_key}&jurisdiction_id=120100", data)
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # noqa: S314
    assert root.tag == "service_requests"
    request_id = root.findtext("request/service_request_id")
    assert ServiceRequest.objects.filter(service_request_id=request_id).exists()
    token = ET.fromstring(  # noqa: S314
        client.get(f"{BASE}/tokens/{root.findtext('request/token')}.xml").content
    )
    assert token.findtext("request/service_request_id") == request_id


def test_it_accepts_an_address_string_or_an_address_id(
    client: Client, api_key: str, world: World
) -> None:
    by_address = valid(api_key, lat="", long="", address_string=world.dwelling_b.standard_address)
    answer = post(client, **by_address).json()[0]
    assert ServiceRequest.objects.get(service_request_id=answer["service_request_id"]).beat == (
        world.beat_b
    )
    by_id = valid(api_key, lat="", long="", address_id=str(world.dwelling_a.pk))
    answer = post(client, **by_id).json()[0]
    assert ServiceRequest.objects.get(service_request_id=answer["service_request_id"]).beat == (
        world.beat_a
    )


def test_it_takes_multivalue_attributes(client: Client, api_key: str) -> None:
    data = valid(api_key)
    data["attribute[time_of_day][]"] = ["evening", "night"]
    answer = post(client, **data).json()[0]
    req = ServiceRequest.objects.get(service_request_id=answer["service_request_id"])
    assert req.attributes["time_of_day"] == ["evening", "night"]


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"api_key": ""}, 403, "api_key is required"),
        ({"api_key": "wrong"}, 403, "api_key is not valid"),
        ({"service_code": ""}, 400, "service_code is required"),
        ({"service_code": "pothole"}, 404, "pothole"),
        ({"lat": "", "long": ""}, 400, "Say where"),
        ({"lat": "north"}, 400, "lat must be a number"),
        ({"long": "nan"}, 400, "long must be a number"),
        ({"lat": "95"}, 400, "−90…90"),
        ({"lat": str(OUTSIDE[0]), "long": str(OUTSIDE[1])}, 400, "outside every beat"),
        ({"lat": "", "long": "", "address_string": "火星路1号"}, 400, "standard address"),
        ({"lat": "", "long": "", "address_id": "abc"}, 400, "address_id"),
        ({"lat": "", "long": "", "address_id": "99999999"}, 400, "address_id"),
        ({"attribute[noise_source]": ""}, 400, "attribute[noise_source] is required"),
        ({"attribute[noise_source]": "ufo"}, 400, "not one of"),
        ({"attribute[colour]": "red"}, 400, "no such attribute"),
        ({"phone": "123"}, 400, "phone"),
        ({"email": "nobody"}, 400, "email"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"jurisdiction_id": "999999"}, 404, "jurisdiction_id"),
        ({"description": "x\x00y"}, 400, "NUL"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_bad_post_gets_the_spec_error(
    client: Client, api_key: str, change: dict[str, str], status: int, words: str, fmt: str
) -> None:
    response = post(client, fmt, **valid(api_key, **change))
    assert response.status_code == status
    if fmt == "json":
        [error] = response.json()
        code, description = str(error["code"]), error["description"]
    else:
        [(code, description)] = xml_errors(response.content)
    assert code == str(status)
    assert words in description
    assert not ServiceRequest.objects.exists()


# --- GET requests ----------------------------------------------------------------------------


def test_get_requests_filters_by_id_service_status_and_dates(client: Client, world: World) -> None:
    noise = file_in_a()
    other = file_in_a("other", attributes={})
    old = file_in_a("hazard", attributes={"hazard_kind": "fire"})
    long_ago = timezone.now() - timedelta(days=200)
    ServiceRequest.objects.filter(pk=old.pk).update(requested_datetime=long_ago, status="closed")

    def ids(query: str) -> set[str]:
        response = client.get(f"{BASE}/requests.json?{query}")
        assert response.status_code == 200, response.content
        return {r["service_request_id"] for r in response.json()}

    recent = {noise.service_request_id, other.service_request_id}
    assert ids("") == recent  # the last 90 days by default
    assert ids("service_code=noise") == {noise.service_request_id}
    assert ids("service_code=noise,other&status=open") == recent
    assert ids("status=closed") == set()
    start = (long_ago - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (long_ago + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"start_date={start}&end_date={end}") == {old.service_request_id}
    assert ids(f"start_date={start}&status=closed,open") == {old.service_request_id}
    # service_request_id overrides every other filter, the old one included.
    both = f"{noise.service_request_id},{old.service_request_id}"
    assert ids(f"service_request_id={both}&service_code=other") == {
        noise.service_request_id,
        old.service_request_id,
    }
    assert len(client.get(f"{BASE}/requests.json?limit=1").json()) == 1


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("start_date=yesterday", 400, "start_date"),
        ("end_date=2025-13-45T00:00:00Z", 400, "end_date"),
        ("start_date=2025-03-01T00:00:00Z&end_date=2025-02-01T00:00:00Z", 400, "before"),
        ("start_date=2024-01-01T00:00:00Z&end_date=2025-01-01T00:00:00Z", 400, "90 days"),
        ("status=pending", 400, "status"),
        ("service_code=pothole", 404, "pothole"),
        ("limit=0", 400, "limit"),
        ("limit=lots", 400, "limit"),
        ("jurisdiction_id=nowhere", 404, "jurisdiction_id"),
        ("service_request_id=" + ",".join(str(i) for i in range(101)), 400, "at most"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_bad_query_gets_the_spec_error(
    client: Client, db: None, query: str, status: int, words: str, fmt: str
) -> None:
    response = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert response.status_code == status
    if fmt == "json":
        description = response.json()[0]["description"]
    else:
        description = xml_errors(response.content)[0][1]
    assert words in description


def test_one_request_in_both_formats_and_unknown_ones(client: Client, world: World) -> None:
    req = file_in_a()
    [data] = client.get(f"{BASE}/requests/{req.service_request_id}.json").json()
    assert data["status"] == "open"
    assert data["service_code"] == "noise"
    assert data["agency_responsible"] == world.station.name
    assert data["requested_datetime"].endswith("+08:00")
    root = ET.fromstring(  # noqa: S314
        client.get(f"{BASE}/requests/{req.service_request_id}.xml").content
    )
    assert root.findtext("request/service_request_id") == req.service_request_id
    assert root.findtext("request/long") == str(req.lng)
    for path in ("requests/NOPE.json", "tokens/nope.json"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404
        assert response.json()[0]["code"] == 404
    response = client.get(f"{BASE}/nothing/here.xml")
    assert response.status_code == 404 and xml_errors(response.content)[0][0] == "404"


def test_public_reads_show_no_personal_data(client: Client, world: World) -> None:
    req = file_in_a(contact={"name": "张三", "phone": "13800138000", "email": "z@example.org"})
    elderly = file_in_a(
        "elderly",
        description="独居老人王奶奶需要代购",
        attributes={"need": "shopping", "living_alone": "yes"},
    )
    bodies = [
        client.get(f"{BASE}/requests.json").content,
        client.get(f"{BASE}/requests.xml").content,
        client.get(f"{BASE}/requests/{req.service_request_id}.json").content,
        client.get(f"/help/requests/{req.service_request_id}/").content,
        client.get(f"/help/requests/{elderly.service_request_id}/").content,
    ]
    for body in bodies:
        text = body.decode()
        for secret in ("张三", "13800138000", "138****8000", "z@example.org", "王奶奶", "马燕"):
            assert secret not in text
    [shown] = client.get(f"{BASE}/requests/{elderly.service_request_id}.json").json()
    assert shown["description"] == "" and shown["lat"] is None and shown["address"] == ""


def test_the_status_follows_the_workflow_with_notes(client: Client, world: World) -> None:
    from safecommunity.service_requests.services import request_assign, request_transition

    officer = world.users["officer"]
    req = file_in_a()
    request_assign(request=req, actor=officer, assignee=world.officer_a)
    request_transition(request=req, actor=officer, to="in_progress")
    request_transition(request=req, actor=officer, to="done", note="已与施工方沟通")
    [data] = client.get(f"{BASE}/requests/{req.service_request_id}.json").json()
    assert data["status"] == "closed"
    assert data["status_notes"] == "已与施工方沟通"


# --- fuzz ------------------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "service_code",
                "lat",
                "long",
                "address_string",
                "address_id",
                "attribute[noise_source]",
                "attribute[x][]",
                "jurisdiction_id",
                "phone",
                "email",
                "media_url",
                "description",
                "first_name",
            ]
        ),
        _text,
    ),
    query=st.dictionaries(
        st.sampled_from(
            ["service_request_id", "service_code", "start_date", "end_date", "status", "limit"]
        ),
        _text,
    ),
    fmt=st.sampled_from(["json", "xml"]),
)
def test_garbage_never_makes_a_500(
    client: Client, api_key: str, fields: dict[str, str], query: dict[str, str], fmt: str
) -> None:
    response = client.post(f"{BASE}/requests.{fmt}", {"api_key": api_key, **fields})
    assert response.status_code < 500
    if response.status_code != 200:
        if fmt == "json":
            assert response.json()[0]["code"] == response.status_code
        else:
            assert xml_errors(response.content)[0][0] == str(response.status_code)
    response = client.get(f"{BASE}/requests.{fmt}", query)
    assert response.status_code < 500
    json.loads(response.content) if fmt == "json" else ET.fromstring(response.content)  # noqa: S314


def test_posting_needs_no_csrf_token_the_api_key_is_the_authentication(
    api_key: str, world: World
) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(f"{BASE}/requests.json", valid(api_key))
    assert response.status_code == 200
    assert ServiceRequest.objects.count() == 1


def test_nul_characters_in_paths_are_unknown_not_errors(client: Client, db: None) -> None:
    for path in ("requests/AB%00CD.json", "tokens/ab%00cd.xml", "services/no%00ise.json"):
        assert client.get(f"{BASE}/{path}").status_code == 404
    assert client.get(f"{BASE}/requests.json", {"service_request_id": "A\x00B"}).status_code == 400
    assert client.get("/help/requests/AB%00CD/").status_code == 404
    assert client.get("/help/track/", {"number": "A\x00B"}).status_code in (400, 404)
