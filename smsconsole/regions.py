"""The regions numbers can belong to, named in the reader's language (CLDR names through Babel).

One list for every region select of the console: the regions phonenumbers knows, each as
"China +86" / "中国 +86", with the one the account uses first.
"""

import functools

import phonenumbers
from babel import Locale, UnknownLocaleError
from django.utils.translation import get_language


@functools.lru_cache(maxsize=8)
def _named_regions(language):
    try:
        locale = Locale.parse((language or "en").replace("-", "_"), sep="_")
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    names = locale.territories
    entries = [
        (region, f"{names.get(region, region)} +{phonenumbers.country_code_for_region(region)}")
        for region in phonenumbers.SUPPORTED_REGIONS
    ]
    return tuple(sorted(entries, key=lambda entry: entry[1]))


def region_choices(first=None):
    """(code, label) for every region, in the active language; `first` (the account's) leads."""
    entries = list(_named_regions(get_language()))
    if first:
        entries.sort(key=lambda entry: entry[0] != first)
    return entries


def region_name(region):
    return dict(_named_regions(get_language())).get(region, region)
