"""Open311 GeoReport v2 (``open311.py``): each resource in ``.json`` and ``.xml``."""

from django.urls import URLPattern, re_path

from safecommunity.service_requests import open311

app_name = "open311"
FMT = r"\.(?P<fmt>json|xml)$"
urlpatterns: list[URLPattern] = [
    re_path(r"^discovery" + FMT, open311.discovery, name="discovery"),
    re_path(r"^services" + FMT, open311.service_index, name="services"),
    re_path(r"^services/(?P<code>[^/]{1,64}?)" + FMT, open311.service_definition, name="service"),
    re_path(r"^requests" + FMT, open311.requests_resource, name="requests"),
    re_path(
        r"^requests/(?P<service_request_id>[^/]{1,64}?)" + FMT,
        open311.request_detail,
        name="request",
    ),
    re_path(r"^tokens/(?P<token>[^/]{1,64}?)" + FMT, open311.token_detail, name="token"),
    re_path(r"^(?P<rest>.*)$", open311.not_found, name="not_found"),
]
