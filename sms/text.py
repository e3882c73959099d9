"""Message text: variables, rendering, signing with 【】, and segment counting. No Django.

The one owner of these rules: templates_app (form, admin, validation), campaigns (import,
confirmation, planning) and the SMPP encoder all call it, so a count shown anywhere is the count
charged to the rate bucket, stored on the message and sent.

Which count the console shows: the encoder's. The providers document the domestic rule as "every
character counts 1; 70 in one segment, 67 per segment beyond" and GSM-7 as 160/153. Every message
this console sends is signed, and 【】 are outside GSM-7, so what leaves is UCS-2: 70/67 UTF-16
code units. That equals the domestic rule for any text within the Basic Multilingual Plane, which
is every Chinese and Latin text. It differs in two places, and there the encoder is right because
it is what the SMSC receives and bills per part:
- a character outside the BMP (an emoji) is a surrogate pair, two units;
- a part never ends between the two units of a pair (a surrogate pair in UCS-2, ESC and its
  extension code in GSM-7), so such a part carries one unit less and a message can need one
  part more than plain ceil division says ('a' * 152 + '€' + 'a' * 152 is 3 parts, not 2).
An unsigned text (a universal template before a signature is chosen) is GSM-7 when it fits.
"""

import re
from dataclasses import dataclass
from typing import NamedTuple

# --- Alphabets ---------------------------------------------------------------------------------

GSM7 = "GSM-7"
UCS2 = "UCS-2"
GSM7_SINGLE, GSM7_PART = 160, 153  # septets in one message, and per part once it is split
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units, likewise

ESC = 0x1B
# GSM 03.38 basic table in code order; position 0x1B (ESC) is a placeholder, never a character.
GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table: sent as ESC followed by this code, so each takes two septets.
GSM7_EXTENSION_TABLE = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}  # fmt: skip

GSM7_BASIC = frozenset(GSM7_BASIC_TABLE) - {"\x1b"}
GSM7_EXTENSION = frozenset(GSM7_EXTENSION_TABLE.values())

_NOT_GSM7 = re.compile("[^" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENSION))) + "]")
_EXTENSION = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")
_OUTSIDE_BMP = re.compile("[\U00010000-\U0010ffff]")


def is_gsm7(text: str) -> bool:
    return _NOT_GSM7.search(text) is None


# --- Variables ---------------------------------------------------------------------------------

MAX_VARIABLES = 20
# ${1} … ${20} by position, or a typed label (the label is cosmetic: the attribute chosen at
# application decides). NEWTEXT appears in the provider's API enums without documented semantics.
TYPED_LABELS = ("PHONE", "CHARDIGIT", "DATETIME", "MONEY", "TEXT", "NEWTEXT")


@dataclass(frozen=True)
class Variable:
    index: int  # 1-based position in order of appearance
    label: str
    start: int
    end: int


# Anything that starts like a variable: "${...}" or "$ {...}" closed within a short span, else
# an unclosed "${" with the label-like characters after it, or a "{1}"/"{PHONE}" that lost its
# "$". Only an exact "${label}" with a known label is a variable; the rest is malformed.
_VARIABLE_LIKE = re.compile(
    r"\$[ \t]*\{[^{}$\n]{0,30}\}|\$[ \t]*\{[ \t]*\w*"
    r"|\{[ \t]*(?:\d+|" + "|".join(TYPED_LABELS) + r")[ \t]*\}",
    re.ASCII,
)
_NUMERIC_LABEL = re.compile(r"[1-9]\d?")


def _is_valid_label(label: str) -> bool:
    if _NUMERIC_LABEL.fullmatch(label):
        return int(label) <= MAX_VARIABLES
    return label in TYPED_LABELS


def scan(content: str) -> tuple[list[Variable], list[str]]:
    """The variables of a template, and the texts that look like variables but are not."""
    variables, malformed = [], []
    for match in _VARIABLE_LIKE.finditer(content):
        written = match.group()
        if written.startswith("${") and written.endswith("}") and _is_valid_label(written[2:-1]):
            variables.append(Variable(len(variables) + 1, written[2:-1], match.start(), match.end()))
        else:
            malformed.append(written)
    return variables, malformed


def find_variables(content: str) -> list[Variable]:
    return scan(content)[0]


# --- Rendering ---------------------------------------------------------------------------------


def sign(signature: str | None, content: str) -> str:
    """The text as delivered: the signature in 【】 comes first and counts in the length."""
    return f"【{signature}】{content}" if signature else content


def split(content: str, signature: str | None = None) -> tuple[str, ...]:
    """The signed content cut into the fixed pieces around its variables (one more piece than
    variables), so each message is a join instead of a search."""
    signed = sign(signature, content)
    offset = len(signed) - len(content)
    pieces, cursor = [], 0
    for variable in find_variables(content):
        pieces.append(signed[cursor : offset + variable.start])
        cursor = offset + variable.end
    pieces.append(signed[cursor:])
    return tuple(pieces)


def render(pieces: tuple[str, ...], values) -> str:
    """The text with values by position (the order find_variables gives); a missing value is empty."""
    values = values or ()
    out = [pieces[0]]
    # Indexed rather than zipped: this runs once per imported row and per message sent.
    for index in range(1, len(pieces)):
        out.append(str(values[index - 1]) if index <= len(values) else "")
        out.append(pieces[index])
    return "".join(out)


def runs(content: str, values=()) -> list[tuple[str, bool]]:
    """The content as (text, is_variable) runs for a preview: each variable shows its value by
    position where one is given, else itself as written; empty runs are left out."""
    values = list(values or [])
    out, cursor = [], 0
    for variable in find_variables(content):
        out.append((content[cursor : variable.start], False))
        index = variable.index - 1
        out.append((values[index] if index < len(values) else content[variable.start : variable.end], True))
        cursor = variable.end
    out.append((content[cursor:], False))
    return [run for run in out if run[0]]


# --- Segments ----------------------------------------------------------------------------------


class Segments(NamedTuple):
    length: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    encoding: str  # GSM7 or UCS2
    per_segment: int  # capacity of each segment at this length


def part_sizes(length: int, pairs, single: int, part: int):
    """Yields (size, times): a message of `length` units cut into parts, `times` parts of `size`
    units at a time, in order. `pairs` are the ascending offsets where a two-unit character starts
    (ESC + extension code, or a surrogate pair); a part never ends between its two units.

    Counted in runs, not part by part, so a length of a billion costs what a short one does.
    """
    if length <= single:
        yield length, 1
        return
    start = 0
    for pair in pairs:
        if pair < start + part - 1:
            continue  # both units fit the current part
        if pair > start + part - 1:
            # Whole parts go by before the one this pair falls into.
            whole = -(-(pair - start - (part - 1)) // part)
            yield part, whole
            start += whole * part
            if pair < start + part - 1:
                continue
        # The pair would straddle the end of this part: the part ends before it.
        yield part - 1, 1
        start = pair
    rest = length - start
    if rest >= part:
        yield part, rest // part
    if rest % part:
        yield rest % part, 1


def _pair_offsets(text: str, pattern: re.Pattern) -> list[int]:
    # Each earlier two-unit character shifts the next one's offset by one more unit.
    return [match.start() + earlier for earlier, match in enumerate(pattern.finditer(text))]


def _units(piece: str, gsm7: bool) -> tuple[int, list[int]]:
    """Units of a piece in the chosen encoding, and the offsets of its two-unit characters."""
    if gsm7:
        pairs = _pair_offsets(piece, _EXTENSION)
        return len(piece) + len(pairs), pairs
    units = len(piece.encode("utf-16-le")) >> 1
    # Only a character outside the BMP makes the UTF-16 length differ from the string's.
    return units, _pair_offsets(piece, _OUTSIDE_BMP) if units != len(piece) else []


def _parts(length: int, pairs: list[int], single: int, part: int) -> int:
    if length <= single:
        return 1 if length else 0
    if not pairs:
        return -(-length // part)  # what part_sizes gives without pairs, without the generator
    return sum(times for _size, times in part_sizes(length, pairs, single, part))


def _counted(length: int, pairs: list[int], gsm7: bool) -> Segments:
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm7 else (UCS2_SINGLE, UCS2_PART)
    return Segments(
        length, _parts(length, pairs, single, part), GSM7 if gsm7 else UCS2, single if length <= single else part
    )


def count_segments(text: str) -> Segments:
    """The segments the encoder sends `text` in (an empty text is 0: nothing is sent)."""
    gsm7 = is_gsm7(text)
    return _counted(*_units(text, gsm7), gsm7)


def segment_counter(pieces: tuple[str, ...]):
    """A function of the values (strings) giving count_segments(render(pieces, values)).segments,
    for the many rows of one template: where the fixed text is UCS-2 without a pair and the values
    add none, the count is the sum of lengths, so nothing is built (an import counts a million rows)."""
    if all(is_gsm7(piece) for piece in pieces):
        return lambda values: count_segments(render(pieces, values)).segments
    fixed, fixed_pairs = _units("".join(pieces), False)
    variables = len(pieces) - 1

    def segments(values):
        units = fixed
        if not fixed_pairs:
            for value in values[:variables]:
                if value.isascii():
                    units += len(value)
                    continue
                value_units = len(value.encode("utf-16-le")) >> 1
                if value_units != len(value):
                    break  # a pair in the value: count the built text
                units += value_units
            else:
                return _parts(units, (), UCS2_SINGLE, UCS2_PART)
        return count_segments(render(pieces, values)).segments

    return segments


def count_template(pieces: tuple[str, ...], max_lengths) -> Segments:
    """A template's segments with every variable at its maximum length, as the providers'
    consoles estimate it, counted without building the text (a maximum of 999999999 is a number
    here, not a gigabyte). Each variable counts as that many digits, one unit in either encoding,
    so the fixed text decides the encoding; a value with characters outside the BMP counts more
    when it is sent."""
    gsm7 = all(is_gsm7(piece) for piece in pieces)
    padding = [max(length, 0) for length in max_lengths]
    length, pairs = 0, []
    for index, piece in enumerate(pieces):
        units, found = _units(piece, gsm7)
        pairs += [length + offset for offset in found]
        length += units + (padding[index] if index < len(padding) else 0)
    return _counted(length, pairs, gsm7)
