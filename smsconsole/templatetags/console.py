"""Template helpers of the console's layout."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from smsconsole.privacy import shown_number

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context, url_name, label):
    """A sidebar link, marked current on its page and the pages below it (the overview only on itself)."""
    url = reverse(url_name)
    path = context["request"].path
    current = path == url if url == "/" else path.startswith(url)
    if current:
        return format_html('<a href="{}" aria-current="page">{}</a>', url, label)
    return format_html('<a href="{}">{}</a>', url, label)


@register.filter
def shown_to(number, membership):
    """A number as the member may see it: `{{ contact.phone|shown_to:membership }}`."""
    return shown_number(number, membership)
