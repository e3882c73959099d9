"""
WSGI config for smsconsole project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsconsole.settings")

# get_wsgi_application() with the send API's short middleware stack (smsconsole.handlers).
django.setup(set_prefix=False)

from smsconsole.handlers import ConsoleHandler  # noqa: E402 (needs the settings above)

application = ConsoleHandler()
