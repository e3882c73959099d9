from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsconsoleConfig(AppConfig):
    name = "smsconsole"
    verbose_name = _("Accounts and applications")
