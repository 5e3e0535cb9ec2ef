"""ISBN-10 and ISBN-13 check digits."""

import re

SEPARATORS = re.compile(r"[\s-]")


def normalize_isbn(value: str) -> str | None:
    """Return the ISBN without separators, or None if it is not a valid one."""
    digits = SEPARATORS.sub("", value).upper()
    if re.fullmatch(r"[0-9]{9}[0-9X]", digits) and isbn10_checks(digits):
        return digits
    if re.fullmatch(r"97[89][0-9]{10}", digits) and isbn13_checks(digits):
        return digits
    return None


def isbn10_checks(digits: str) -> bool:
    values = [10 if char == "X" else int(char) for char in digits]
    return sum((10 - i) * v for i, v in enumerate(values)) % 11 == 0


def isbn13_checks(digits: str) -> bool:
    return sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits)) % 10 == 0
