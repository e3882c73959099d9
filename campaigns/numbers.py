"""Recipient number normalisation to E.164. No Django import.

Mainland mobile numbers, the bulk of every list, take a regex fast path derived from
phonenumbers' own metadata; everything else goes through phonenumbers itself. Damage that
spreadsheet programs do to numbers is repaired only where the original is unambiguous.
"""

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

# Error codes; the Django side translates them for the rejected-rows report.
EMPTY = "empty"
SCIENTIFIC_NOTATION = "scientific_notation"  # 1.38001E+10: digits were lost, cannot be repaired
NOT_A_NUMBER = "not_a_number"
INVALID = "invalid_number"
NOT_MOBILE = "not_mobile"
ERROR_CODES = (EMPTY, SCIENTIFIC_NOTATION, NOT_A_NUMBER, INVALID, NOT_MOBILE)

_SEPARATORS = re.compile(r"[\s\-().\u00a0\u3000/]")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
# Excel stores long numbers as floats; a CSV saved from it can carry a trailing ".0".
_FLOAT_TAIL = re.compile(r"^(\+?\d{5,})\.0+$")
_PLAUSIBLE = re.compile(r"^\+?\d{3,17}$")


@lru_cache(maxsize=32)
def _fast_path(region):
    """A regex matching the region's mobile numbers with any of the usual prefixes, or None."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None or not metadata.mobile.national_number_pattern:
        return None, None, 0
    cc = str(metadata.country_code)
    national_prefix = metadata.national_prefix or ""
    prefixes = [re.escape("+" + cc), re.escape("00" + cc), re.escape(cc)]
    if national_prefix:
        prefixes.append(re.escape(national_prefix))
    pattern = re.compile(r"^(?:%s)?(%s)$" % ("|".join(prefixes), metadata.mobile.national_number_pattern))
    longest_mobile = max(metadata.mobile.possible_length or metadata.general_desc.possible_length or (15,))
    return pattern, cc, longest_mobile


def clean(raw):
    """The raw cell as a compact string of digits and an optional leading +, or an error code."""
    if raw is None:
        return None, EMPTY
    text = unicodedata.normalize("NFKC", str(raw)).strip()  # full-width digits and ＋ become ASCII
    if not text:
        return None, EMPTY
    if _SCIENTIFIC.match(text.replace(" ", "")):
        return None, SCIENTIFIC_NOTATION
    if match := _FLOAT_TAIL.match(text):
        text = match.group(1)
    text = _SEPARATORS.sub("", text)
    if not _PLAUSIBLE.match(text):
        return None, NOT_A_NUMBER
    return text, None


def normalise_number(raw, region="CN", mobile_only=True):
    """Returns (e164, None) for a usable number or (None, error_code)."""
    pattern, cc, longest_mobile = _fast_path(region)
    if pattern is not None and isinstance(raw, str) and raw.isascii() and raw.isdigit():
        # Most cells of a clean list: plain ASCII digits need no repair before the fast path.
        if match := pattern.match(raw):
            return f"+{cc}{match.group(1)}", None
    text, error = clean(raw)
    if error:
        return None, error
    if pattern is not None and (match := pattern.match(text)):
        return f"+{cc}{match.group(1)}", None
    candidate = text
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        number = phonenumbers.parse(candidate, region)
        if (
            not phonenumbers.is_valid_number(number)
            and not candidate.startswith("+")
            and len(candidate) > longest_mobile
        ):
            # Bulk lists often hold MSISDNs (country code without +). Only a number too long to be
            # a national mobile is read that way: 12345678901 is a mistyped CN mobile, not a US one.
            number = phonenumbers.parse("+" + candidate, None)
    except phonenumbers.NumberParseException:
        return None, INVALID
    if not phonenumbers.is_valid_number(number):
        return None, INVALID
    if mobile_only and phonenumbers.number_type(number) not in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None, NOT_MOBILE
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
