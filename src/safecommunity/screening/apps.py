from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "safecommunity.screening"
    verbose_name = _("Screening")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from safecommunity.people.services import resident_followers_register
        from safecommunity.screening.services import matches_merge, tasks_follow

        # Verification tasks follow their resident to a new beat, and a merge keeps every
        # review and task (``people.services``: the registry calls these in its transaction).
        resident_followers_register("screening", moved=tasks_follow, merged=matches_merge)
