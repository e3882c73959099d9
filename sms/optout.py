"""Opt-out keywords in replies (回复R退订): the one place the rule lives. No Django import.

A reply opts out when its whole text, trimmed, is one of the keywords, compared without regard to
case or width (ＳＴＯＰ, stop and STOP are one keyword). A reply that merely contains a keyword
("Tomorrow?") does not: carriers treat only the bare keyword as an unsubscription.
"""

import unicodedata

# The carriers' usual ones (cloud-sms-spec.md 4.2: "拒收请回复R") and the English ones handsets send.
DEFAULT_KEYWORDS = ("R", "T", "TD", "N", "退订", "STOP", "UNSUBSCRIBE")

# Trimmed around the keyword: spaces of either width and the punctuation a reply often ends with.
_TRIM = " \t\r\n\u3000.,!?;:。，！？；：、\"'“”‘’"


def normalise(text):
    """The form keywords and replies are compared in."""
    return unicodedata.normalize("NFKC", text or "").strip(_TRIM).casefold()


def keyword_set(keywords):
    """The normalised set of `keywords`, or of the defaults when `keywords` is empty."""
    chosen = [k for k in (keywords or ()) if normalise(k)] or DEFAULT_KEYWORDS
    return frozenset(normalise(k) for k in chosen)


def is_opt_out(text, keywords=()):
    """True when the reply `text` is an opt-out keyword of `keywords` (the defaults if empty)."""
    return normalise(text) in keyword_set(keywords)


def parse_keywords(raw):
    """A keyword list typed into a form (commas or lines between them), de-duplicated in
    order; empty means the defaults."""
    seen, keywords = set(), []
    for part in (raw or "").replace("，", ",").replace("\n", ",").split(","):
        keyword = part.strip()
        if keyword and normalise(keyword) not in seen:
            seen.add(normalise(keyword))
            keywords.append(keyword)
    return keywords
