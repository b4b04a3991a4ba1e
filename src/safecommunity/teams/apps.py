from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamsConfig(AppConfig):
    name = "safecommunity.teams"
    label = "teams"
    verbose_name = _("Teams")

    def ready(self) -> None:
        from safecommunity.teams.metrics import register_metrics

        register_metrics()
