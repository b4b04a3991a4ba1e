"""Which language a request is answered in.

Simplified Chinese is the platform's language; English is a switch a user makes (the
``set_language`` view stores it in a cookie). Pages therefore ignore the browser's
Accept-Language header: a station's shared PC with an English browser must still open in
Chinese. The JSON API, used by programs, honours Accept-Language as usual.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/api/"):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
