from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "safecommunity.places"
    label = "places"
    verbose_name = _("Places")

    def ready(self) -> None:
        from safecommunity.places import metrics

        metrics.register_builtin()
