"""Template rules: variable attributes, the checks a value and a template must pass.

No Django import: forms and views translate the stable problem codes returned here. The text
itself (variables, signing, segments) is sms.text's.
"""

import re
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum

from sms.text import MAX_VARIABLES, Variable, scan, sign

# --- Variables ---------------------------------------------------------------------------------


class Attribute(StrEnum):
    PHONE = "PHONE"
    CHARDIGIT = "CHARDIGIT"
    DATETIME = "DATETIME"
    MONEY = "MONEY"
    TEXT = "TEXT"


ATTRIBUTE_MAX_LENGTH = {
    Attribute.PHONE: 15,
    Attribute.CHARDIGIT: 20,
    Attribute.DATETIME: 20,
    Attribute.MONEY: 20,
    Attribute.TEXT: 20,
}
# A typed label names its attribute; NEWTEXT (undocumented in the provider's API) is treated as TEXT.
_LABEL_ATTRIBUTES = {a.value: a for a in Attribute} | {"NEWTEXT": Attribute.TEXT}


def default_attribute(label: str) -> Attribute:
    """Typed labels name their attribute; a numeric label says nothing, so it defaults to TEXT."""
    return _LABEL_ATTRIBUTES.get(label, Attribute.TEXT)


# --- Variable values ---------------------------------------------------------------------------

VALUE_ERROR_CODES = ("empty", "too_long", "too_short", "invalid", "forbidden_character", "link", "contact")

_PHONE = re.compile(r"[0-9+\-]*[0-9]")
_CHARDIGIT = re.compile(r"[A-Za-z0-9]+")
# Single-digit month/day/hour are accepted with separators ("2024年1月5日" is how dates are
# usually written); the compact yyyyMMdd form needs all eight digits to be unambiguous.
_DATE_FORMATS = [
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
    re.compile(r"(?P<y>\d{4})([-/])(?P<m>\d{1,2})\2(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日"),
]
_TIME_FORMATS = [
    re.compile(r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"),
    re.compile(r"(?P<h>\d{1,2})点(?P<mi>\d{2})分?"),
]
# Amounts in figures or in everyday and financial (大写) Chinese numerals, with the unit words
# that end a written amount (元角分整, 圆 on cheques). Currency symbols belong in fixed text.
_CHINESE_NUMERALS = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟萬億"
_MONEY = re.compile(rf"[0-9.{_CHINESE_NUMERALS}元圆角分整]+")
_MONEY_HAS_AMOUNT = re.compile(rf"[0-9{_CHINESE_NUMERALS}]")
_TEXT_FORBIDDEN = re.compile(r"[.。'<>{}]")
_URL_IN_VALUE = re.compile(r"(?i)https?://|www\.")
# A mainland mobile number, or a QQ/WeChat handle: values must not smuggle in contact details.
_CONTACT = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d{9}(?!\d)|(?i:qq|微信|wechat|vx)\s*[:：号]?\s*[\w-]{5,}")


def _valid_datetime(value: str) -> bool:
    for pattern in _DATE_FORMATS:
        if m := pattern.fullmatch(value):
            try:
                date(int(m["y"]), int(m["m"]), int(m["d"]))
            except ValueError:
                return False
            return True
    for pattern in _TIME_FORMATS:
        if m := pattern.fullmatch(value):
            try:
                time(int(m["h"]), int(m["mi"]), int(m.groupdict().get("s") or 0))
            except ValueError:
                return False
            return True
    return False


_ATTRIBUTE_VALUES = frozenset(a.value for a in Attribute)


def unknown_attributes(attributes) -> list[str]:
    """The attributes no value check knows: only a row written around the forms (the database, an
    admin bypass) has one, and a template with one cannot be sent until it is edited."""
    return sorted({str(attribute) for attribute in attributes} - _ATTRIBUTE_VALUES)


def validate_variable_value(attribute: Attribute, value: str, max_length: int, phone_min_length: int = 1) -> str | None:
    """Return an error code from VALUE_ERROR_CODES, or None when the value may be sent."""
    # Whitespace alone would reach the recipient as a visibly missing value.
    if not value.strip():
        return "empty"
    if len(value) > max_length:
        return "too_long"
    # Compared as strings (Attribute is a StrEnum): this runs once per variable per imported row.
    if attribute not in _ATTRIBUTE_VALUES:
        raise ValueError(f"unknown variable attribute {attribute!r}")
    if attribute == Attribute.PHONE:
        if not _PHONE.fullmatch(value):
            return "invalid"
        return "too_short" if len(value) < phone_min_length else None
    if attribute == Attribute.CHARDIGIT:
        return None if _CHARDIGIT.fullmatch(value) else "invalid"
    if attribute == Attribute.DATETIME:
        return None if _valid_datetime(value) else "invalid"
    if attribute == Attribute.MONEY:
        ok = _MONEY.fullmatch(value) and _MONEY_HAS_AMOUNT.search(value)
        return None if ok else "invalid"
    # TEXT: link and contact first, since "www.x.com" would also trip the "." rule.
    if _URL_IN_VALUE.search(value):
        return "link"
    if _CONTACT.search(value):
        return "contact"
    return "forbidden_character" if _TEXT_FORBIDDEN.search(value) else None


# --- Template validation -----------------------------------------------------------------------

TEMPLATE_TYPES = ("verification", "notification", "promotion")
MAX_TEMPLATE_LENGTH = 500
MAX_VERIFICATION_VARIABLE_LENGTH = 8

PROBLEM_CODES = (
    "empty",
    "too_long",
    "too_many_variables",
    "malformed_variable",
    "adjacent_variables",
    "only_variables",
    "brackets",
    "banned_symbol",
    "signature_in_text",
    "partial_variable_in_link",
    "verification_variable_count",
    "verification_variable_too_long",
    "verification_keyword",
    "verification_link",
    "promotion_opt_out",
    "variable_length",
    "short_link",
    "redirect_link",
)

# URL shorteners, the hosts whose links only forward to another address. The reference allows a
# link in a template only as the fixed, final address (cloud-sms-spec.md 2.2, 4.5): carriers refuse
# short and redirecting links, since the address the recipient lands on is not the one reviewed.
# A subdomain counts as its shortener (m.tb.cn is tb.cn).
SHORT_LINK_HOSTS = frozenset(
    {
        # International
        "bit.ly",
        "bitly.com",
        "j.mp",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "v.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "tiny.cc",
        "rb.gy",
        "t.ly",
        "bl.ink",
        "s.id",
        "lnkd.in",
        "youtu.be",
        "tr.im",
        "shorte.st",
        "adf.ly",
        # Mainland China: Sina/Weibo, Tencent, Baidu, Taobao, JD and common independent services
        "t.cn",
        "sina.lt",
        "url.cn",
        "dwz.cn",
        "tb.cn",
        "u.jd.com",
        "3.cn",
        "suo.im",
        "mrw.so",
        "985.so",
    }
)


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict = field(default_factory=dict)


_BRACKETS = re.compile(r"[【】\[\]]")
# Full-width ￥ and ＆ are what Chinese input methods type for ¥ and &; they garble the same way.
_BANNED_SYMBOLS = re.compile(r"\^_\^|[¥￥★&＆√※]")
# A fixed list of common TLDs keeps prose such as "e.g." or "5.Valid" from reading as a link.
_TLDS = "com|cn|net|org|gov|edu|info|biz|io|co|cc|me|tv|top|xyz|vip|shop|site|club|app|hk|tw"
_LINK = re.compile(
    r"(?i)https?://|www\.|(?<![A-Za-z0-9.@-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
    rf"(?:\.[a-z0-9-]+)*\.(?:{_TLDS})(?![a-z0-9-])"
)
_URL_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?#@&=%+")
# Where a link's host is: after an optional scheme, any dotted name (the shortener list decides).
_LINK_HOST = re.compile(
    r"(?i)(?<![A-Za-z0-9.@-])(?:https?://)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,})(?![a-z0-9-])"
)
# A link that carries another address in its query or path forwards to it.
_FORWARDS = re.compile(r"(?i)https?(?::|%3a)(?://|%2f%2f)|=www\.")
_VERIFICATION_KEYWORD_CN = re.compile(r"验证码|注册码|校验码|动态码")
# English keyword support is this project's own addition for international templates: the
# provider only documents the Chinese keywords.
_VERIFICATION_KEYWORD_EN = re.compile(r"(?i)\b(?:pass)?code\b")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Opt-outs as carriers accept them: 拒收请回复R, 回复R拒收, 回T退订, 退订回T, 回TD退订 (any letter
# case), and in English "reply/text STOP" or a short keyword followed by "to opt out/unsubscribe".
# A bare "reply R" is not enough in English: it could as well invite a reply to the offer.
_OPT_OUT = re.compile(
    r"(?:拒收|退订)\s*[,，:：]?\s*请?回复?\s*(?:TD|R|T|N)(?![A-Za-z])"
    r"|回复?\s*(?:TD|R|T|N)\s*(?:即可)?(?:拒收|退订)"
    r"|\b(?:reply|text|send)\s+[\"']?(?:STOP|UNSUBSCRIBE|TD)\b"
    r"|\b(?:reply|text|send)\s+[\"']?[A-Z]{1,2}[\"']?\s+to\s+(?:opt[\s-]?out|unsubscribe|stop)",
    re.IGNORECASE,
)


def contains_link(text: str) -> bool:
    return bool(_LINK.search(text))


def _masked(content: str, variables: list[Variable], fill: str) -> str:
    """The content with each variable replaced by `fill` repeated, so offsets stay the same."""
    chars = list(content)
    for v in variables:
        chars[v.start : v.end] = fill * (v.end - v.start)
    return "".join(chars)


def _glued_to_number(content: str, v: Variable) -> bool:
    before, after = content[max(v.start - 2, 0) : v.start], content[v.end : v.end + 2]
    return (
        before[-1:].isdigit()
        or after[:1].isdigit()
        or (before[-1:] in ("-", "+") and before[:1].isdigit())
        or (after[:1] == "-" and after[1:].isdigit())
    )


def _partial_in_link(content: str, url_masked: str, v: Variable) -> str | None:
    """The link or number the variable is glued into, or None."""
    glued_before = v.start > 0 and url_masked[v.start - 1] in _URL_CHARS
    glued_after = v.end < len(content) and url_masked[v.end] in _URL_CHARS
    if not (glued_before or glued_after):
        return None
    start, end = v.start, v.end
    while start > 0 and url_masked[start - 1] in _URL_CHARS:
        start -= 1
    while end < len(content) and url_masked[end] in _URL_CHARS:
        end += 1
    if _glued_to_number(content, v) or _LINK.search(url_masked[start:end]):
        return content[start:end]
    return None


def _is_short_link_host(host: str) -> bool:
    host = host.lower()
    return any(host == short or host.endswith("." + short) for short in SHORT_LINK_HOSTS)


def _forwarding_links(content: str, url_masked: str) -> list[Problem]:
    """Short links (a shortener's host) and redirecting links (another address inside)."""
    problems, end = [], 0
    for match in _LINK_HOST.finditer(url_masked):
        if match.start() < end:
            continue  # a host inside a link already looked at
        end = match.end()
        while end < len(url_masked) and url_masked[end] in _URL_CHARS:
            end += 1
        link = content[match.start() : end].rstrip(".")
        if _is_short_link_host(match.group(1)):
            problems.append(Problem("short_link", {"link": link}))
        elif _FORWARDS.search(url_masked, match.start() + 1, end):
            problems.append(Problem("redirect_link", {"link": link}))
    return problems


def _variable_settings(variables, found: list[Variable]) -> list[tuple[Attribute, int]]:
    """Per-position (attribute, max_length); positions without an entry use the label's default."""
    given = list(variables or [])
    settings = []
    for i, v in enumerate(found):
        if i < len(given):
            attribute, max_length = given[i]
            settings.append((Attribute(attribute), max_length))
        else:
            attribute = default_attribute(v.label)
            settings.append((attribute, ATTRIBUTE_MAX_LENGTH[attribute]))
    return settings


def validate_template(
    content: str, template_type: str, variables=None, signature_name: str | None = None
) -> list[Problem]:
    """Return every problem found; template_type must be one of TEMPLATE_TYPES."""
    if template_type not in TEMPLATE_TYPES:
        raise ValueError(f"unknown template type {template_type!r}")
    if not content.strip():
        return [Problem("empty")]
    problems = []
    found, malformed = scan(content)
    settings = _variable_settings(variables, found)
    url_masked = _masked(content, found, "x")  # a variable reads as part of a glued URL
    text_only = _masked(content, found, " ")  # keywords and symbols come from fixed text only

    full = sign(signature_name, content)
    if len(full) > MAX_TEMPLATE_LENGTH:
        problems.append(Problem("too_long", {"length": len(full), "limit": MAX_TEMPLATE_LENGTH}))
    if len(found) > MAX_VARIABLES:
        params = {"count": len(found), "limit": MAX_VARIABLES}
        problems.append(Problem("too_many_variables", params))
    problems += [Problem("malformed_variable", {"text": text.strip()}) for text in malformed]
    for first, second in zip(found, found[1:]):
        if not content[first.end : second.start].strip():
            text = content[first.start : second.end]
            problems.append(Problem("adjacent_variables", {"text": text}))
    if found and all(c.isspace() or unicodedata.category(c)[0] in "PS" for c in text_only):
        problems.append(Problem("only_variables"))

    # The signature is added by the provider; its 【】 in the text is reported as such, not as
    # stray brackets.
    bracket_text = text_only
    written_signature = sign(signature_name, "")
    if signature_name and written_signature in text_only:
        problems.append(Problem("signature_in_text", {"signature": signature_name}))
        bracket_text = text_only.replace(written_signature, "")
    if brackets := _BRACKETS.findall(bracket_text):
        problems.append(Problem("brackets", {"characters": "".join(dict.fromkeys(brackets))}))
    if symbols := _BANNED_SYMBOLS.findall(text_only):
        problems.append(Problem("banned_symbol", {"symbols": " ".join(dict.fromkeys(symbols))}))
    for v in found:
        if (text := _partial_in_link(content, url_masked, v)) is not None:
            params = {"text": text, "position": v.index}
            problems.append(Problem("partial_variable_in_link", params))
    problems += _forwarding_links(content, url_masked)

    if template_type == "verification":
        if len(found) != 1:
            problems.append(Problem("verification_variable_count", {"count": len(found)}))
        limit = MAX_VERIFICATION_VARIABLE_LENGTH
        for v, (_, max_length) in zip(found, settings):
            if max_length > limit:
                problems.append(
                    Problem(
                        "verification_variable_too_long",
                        {"position": v.index, "length": max_length, "limit": limit},
                    )
                )
        keyword = _VERIFICATION_KEYWORD_CN if _CJK.search(text_only) else _VERIFICATION_KEYWORD_EN
        if not keyword.search(text_only):
            problems.append(Problem("verification_keyword"))
        if _LINK.search(url_masked):
            problems.append(Problem("verification_link"))
    if template_type == "promotion" and not _OPT_OUT.search(text_only):
        problems.append(Problem("promotion_opt_out"))

    for v, (attribute, max_length) in zip(found, settings):
        limit = ATTRIBUTE_MAX_LENGTH[attribute]
        if not 1 <= max_length <= limit:
            problems.append(
                Problem(
                    "variable_length",
                    {"position": v.index, "attribute": attribute.value, "length": max_length, "limit": limit},
                )
            )
    return problems
