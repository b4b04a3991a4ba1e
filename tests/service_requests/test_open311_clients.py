"""Open311 clients from PyPI, unchanged, against a live server in both formats.

``georeport`` (PyPI, Apache-2.0) reads services, service definitions and requests, in JSON
and in XML; it does not post. The other Open311 libraries on PyPI (``open311`` 1.1 and
``three`` 0.8.0) are Python 2 only (implicit relative imports, ``itertools.ifilter``) and do
not import on Python 3.11. Posting is therefore checked with a small client that follows the
spec to the letter: form-encoded body, ``attribute[code]`` fields, api_key.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET  # noqa: S405  # parses our own server's answers
from collections.abc import Iterator

import pytest

from tests.service_requests.live import API_KEY, MIDDLE, run_server

georeport = pytest.importorskip("georeport")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_server(tmp_path_factory)


def spec_post(root: str, fmt: str, fields: dict[str, str]) -> tuple[int, bytes]:
    """POST requests.{fmt} as the spec describes: form-encoded, UTF-8."""
    body = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(  # noqa: S310  # a local test server
        f"{root}/requests.{fmt}",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_what_a_spec_client_posted(server: str, fmt: str) -> None:
    root = f"{server}/open311/v2"
    client = georeport.GeoReport(root, jurisdiction="120100", output_format=fmt)

    services = client.get_service_list()
    assert "noise" in {s["service_code"] for s in services}
    definition = client.get_service_definition("noise")
    attributes = definition["attributes"]
    if fmt == "xml":  # xmltodict: <attributes><attribute>…
        attributes = attributes["attribute"]
    assert attributes[0]["code"] == "noise_source"

    status, body = spec_post(
        root,
        fmt,
        {
            "api_key": API_KEY,
            "jurisdiction_id": "120100",
            "service_code": "noise",
            "lat": str(MIDDLE[0]),
            "long": str(MIDDLE[1]),
            "attribute[noise_source]": "construction",
            "description": f"夜间施工 ({fmt})",
            "first_name": "三",
            "last_name": "张",
            "phone": "13800138000",
        },
    )
    assert status == 200, body
    if fmt == "json":
        request_id = json.loads(body)[0]["service_request_id"]
    else:
        request_id = ET.fromstring(body).findtext("request/service_request_id")  # noqa: S314

    one = client.get_service_request(request_id)
    assert one["service_request_id"] == request_id
    assert one["status"] == "open"
    assert one["service_code"] == "noise"
    many = client.get_service_requests(service_code="noise", status="open")
    if fmt == "xml" and isinstance(many, dict):  # xmltodict: one <request> is a dict
        many = [many]
    assert request_id in {r["service_request_id"] for r in many}
    assert "张" not in json.dumps(many, ensure_ascii=False)
    by_id = client.get_service_requests(service_request_id=request_id)
    if isinstance(by_id, dict):
        by_id = [by_id]
    assert [r["service_request_id"] for r in by_id] == [request_id]


def test_a_spec_client_gets_spec_errors(server: str) -> None:
    root = f"{server}/open311/v2"
    status, body = spec_post(root, "xml", {"api_key": "wrong", "service_code": "noise"})
    assert status == 403
    error = ET.fromstring(body).find("error")  # noqa: S314
    assert error is not None and error.findtext("code") == "403"
    status, body = spec_post(root, "json", {"api_key": API_KEY, "service_code": "noise"})
    assert status == 400
    assert json.loads(body)[0]["code"] == 400
