"""Masking phone numbers for people allowed to see that a number is there but not which: 138****8000.

No Django here. The rule: keep the country code of an international number, then of the
national digits hide at least four in the middle (more for long numbers) and keep the rest, the
last ones slightly favoured, so 13800138000 shows 138****8000 as the cloud consoles show it.
Works on raw cells too (a rejected row's "138 0013 8000" or "13800138000.0"): only digits
are hidden, everything else keeps its place, so a masked cell still shows what was wrong with it.
"""

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

MASK = "*"
HIDDEN_AT_LEAST = 4
SHOWN_AT_MOST = 7  # 3 at the front and 4 at the end of an 11-digit mobile number


def _country_code_length(digits):
    # Country codes are prefix-free (ITU E.164), so the first match is the only one.
    for length in (1, 2, 3):
        if int(digits[:length] or 0) in COUNTRY_CODE_TO_REGION_CODE:
            return length
    return 0


def mask_number(value):
    """`value` with the middle digits of its number replaced by *; None and "" stay as they are."""
    if not value:
        return value
    text = str(value)
    positions = [index for index, char in enumerate(text) if char.isdecimal()]
    skip = 0
    if text.lstrip().startswith("+") and len(positions) > 3:
        skip = _country_code_length("".join(text[i] for i in positions[:3]))
    national = positions[skip:]
    shown = max(0, min(SHOWN_AT_MOST, len(national) - max(HIDDEN_AT_LEAST, len(national) - SHOWN_AT_MOST)))
    tail = (shown + 1) // 2 if shown < SHOWN_AT_MOST else 4
    head = shown - tail
    hidden = set(national[head : len(national) - tail])
    return "".join(MASK if index in hidden else char for index, char in enumerate(text))
