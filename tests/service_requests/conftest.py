"""Fixtures for residents' requests: the shared ``world``, an Open311 key, and a helper that
files a request in beat A the way the public page does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from safecommunity.accounts.models import User
from safecommunity.service_requests.models import ServiceRequest, Source
from safecommunity.service_requests.services import api_key_create, request_submit
from tests.conftest import World, client_for

API_KEY = "test-open311-key"
# Inside beat A's square (117.10…117.11, 39.10…39.11), B's, and outside every beat.
POINT_A = (39.105, 117.105)
POINT_B = (39.105, 117.115)
OUTSIDE = (30.0, 100.0)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English; Chinese is the default language."""
    with translation.override("en"):
        yield


def english(client: Client) -> Client:
    """A client whose pages (language cookie) and programs (Accept-Language) get English."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def client() -> Client:
    return english(Client())


def en_client_for(user: User) -> Client:
    return english(client_for(user))


@pytest.fixture
def api_key(world: World) -> str:
    api_key_create(name="test client", key=API_KEY)
    return API_KEY


@pytest.fixture
def officer_login(world: World) -> World:
    """Beat A's responsible officer (马燕) logs in as the ``officer`` user."""
    world.officer_a.user = world.users["officer"]
    world.officer_a.save(update_fields=["user"])
    return world


def file_in_a(service_code: str = "noise", **extra: Any) -> ServiceRequest:
    kwargs: dict[str, Any] = {
        "service_code": service_code,
        "description": "楼上每晚装修到十一点",
        "lat": POINT_A[0],
        "lng": POINT_A[1],
        "source": Source.PUBLIC,
        "attributes": {"noise_source": "neighbours"} if service_code == "noise" else {},
        "contact": {"name": "张三", "phone": "13800138000"},
    }
    kwargs.update(extra)
    return request_submit(**kwargs)
