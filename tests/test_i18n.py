"""The interface is bilingual: every string has a Chinese translation, Chinese is the default
and the language switch holds for every page."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, World, client_for

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_it_translates_every_message_into_chinese() -> None:
    po = polib.pofile(str(LOCALE / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == []
    assert fuzzy == []
    assert not po.metadata_is_fuzzy


def test_it_ships_the_compiled_catalogue_matching_the_po_file() -> None:
    po = polib.pofile(str(LOCALE / "django.po"))
    mo = polib.mofile(str(LOCALE / "django.mo"))
    compiled = {e.msgid: e.msgstr for e in mo}
    missing = [e.msgid for e in po.translated_entries() if e.msgid not in compiled]
    assert missing == []


def test_it_speaks_chinese_by_default(world: World) -> None:
    response = client_for(world.users["officer"]).get(reverse("home"))
    content = response.content.decode()
    assert '<html lang="zh-hans">' in content
    assert "平安社区" in content and "我的辖区" in content
    assert "My jurisdiction" not in content


def test_it_shows_the_login_page_in_chinese_by_default(db: None) -> None:
    content = Client().get(reverse("accounts:login")).content.decode()
    assert "登录" in content and "用户名" in content


def test_it_switches_to_english_and_back_for_every_page(world: World) -> None:
    client = client_for(world.users["district"])
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("places:map")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("places:map")
    pages = [
        reverse("home"),
        reverse("places:browser"),
        reverse("places:map"),
        reverse("places:beat", args=[world.beat_a.pk]),
        reverse("teams:compliance"),
        reverse("teams:staff"),
        reverse("teams:roster"),
    ]
    for url in pages:
        content = client.get(url).content.decode()
        assert '<html lang="en">' in content, url
        assert "Safe Community" in content and "Log out" in content, url
    # Messages from the selectors follow the language too.
    assert "no grid worker" in client.get(reverse("teams:compliance")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("home")})
    content = client.get(reverse("teams:compliance")).content.decode()
    assert '<html lang="zh-hans">' in content
    assert "没有网格员" in content


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_keeps_the_language_through_login(world: World, language: str) -> None:
    client = Client()
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    client.post(reverse("accounts:login"), {"username": "officer", "password": PASSWORD})
    content = client.get(reverse("home")).content.decode()
    assert f'<html lang="{language}">' in content


def test_it_offers_the_language_switch_on_every_page(world: World) -> None:
    content = client_for(world.users["officer"]).get(reverse("places:map")).content.decode()
    assert f'action="{reverse("set_language")}"' in content
    assert 'value="en"' in content and 'value="zh-hans"' in content
