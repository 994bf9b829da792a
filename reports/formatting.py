"""How a number of the report is written, in one place, so the PDF, the Word file, the HTML page and the
Excel annex show the same figure (Excel keeps the number, rounded to the same decimals)."""

from dataclasses import dataclass

# Decimal and thousands separators per language. Russian (and the national languages) write a decimal
# comma and a non-breaking space between thousands (GOST 8.417).
_SEPARATORS = {"en": (".", ","), "ru": (",", "\u00a0")}
_DEFAULT_SEPARATORS = (",", "\u00a0")
MISSING = "–"


@dataclass(frozen=True)
class Number:
    """A table cell holding a number. `decimals` None picks them from the magnitude (`auto_decimals`)."""

    value: float | None
    decimals: int | None = None
    suffix: str = ""
    signed: bool = False


@dataclass(frozen=True)
class LevelCell:
    """A table cell holding an alert level: the word is always written next to its colour."""

    level: int | None
    label: str


def auto_decimals(value: float) -> int:
    """Large quantities (tonnes, persons) without decimals, indices with one, shares and prices with two."""
    magnitude = abs(value)
    if magnitude >= 1000:
        return 0
    if magnitude >= 100:
        return 1
    return 2


def rounded(number: Number) -> float | None:
    if number.value is None:
        return None
    decimals = auto_decimals(number.value) if number.decimals is None else number.decimals
    return round(number.value, decimals)


def format_number(value: float | None, language: str, *, decimals: int | None = None, signed: bool = False) -> str:
    if value is None:
        return MISSING
    decimals = auto_decimals(value) if decimals is None else decimals
    decimal_separator, thousands_separator = _SEPARATORS.get(language[:2], _DEFAULT_SEPARATORS)
    text = f"{abs(round(value, decimals)):,.{decimals}f}"
    text = text.replace(",", "\x00").replace(".", decimal_separator).replace("\x00", thousands_separator)
    if round(value, decimals) < 0:
        text = "−" + text  # the minus sign, not a hyphen
    elif signed and round(value, decimals) > 0:
        text = "+" + text
    return text


def format_cell(cell: object, language: str) -> str:
    if cell is None:
        return MISSING
    if isinstance(cell, Number):
        if cell.value is None:
            return MISSING
        return format_number(cell.value, language, decimals=cell.decimals, signed=cell.signed) + cell.suffix
    if isinstance(cell, LevelCell):
        return cell.label
    if isinstance(cell, int) and not isinstance(cell, bool):
        return format_number(float(cell), language, decimals=0)  # a count
    if isinstance(cell, float):
        return format_number(cell, language)
    return str(cell)
