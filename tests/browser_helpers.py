"""What the results pages' browser tests share: a language per run and a log-in at 1024 px."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD

LOG_IN = {"en": "Log in", "zh-hans": "登录"}


@pytest.fixture(params=["en", "zh-hans"])
def language(request):
    return request.param


def log_in_at_1024(page, live_server, language, username="alice"):
    """Logs `username` in with the console in `language`, on a 1024 px wide window."""
    page.set_viewport_size({"width": 1024, "height": 768})
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=LOG_IN[language], exact=True).click()
