from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "safecommunity.people"
    label = "people"
    verbose_name = _("Population registry")

    def ready(self) -> None:
        from safecommunity.people.metrics import register_metrics

        register_metrics()
