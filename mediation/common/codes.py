"""Short codes that people read out, type and scan: one alphabet and one generator for the
verification codes of signed documents and the case codes (一案一码).

The alphabet has no characters that are easily confused when read, written or heard (no 0/O, 1/I/L).
Its 31 characters are a prime number, so a check character of weights 1, 2, … modulo 31 catches every
single mistyped character and every swap of two characters (:func:`with_check`).
"""

from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_MODULUS = len(ALPHABET)  # 31, a prime
# Spaces and every kind of dash or hyphen people (or an input method) put between groups.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−－_·・.]")


def random_code(length: int) -> str:
    """``length`` characters drawn from :data:`ALPHABET` by the system's CSPRNG (unguessable)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_code(text: str | None) -> str:
    """A code as typed → as stored: full-width characters folded (NFKC, as a Chinese input method
    types them), spaces and dashes dropped, upper case."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).upper()


def check_char(body: str) -> str:
    """The character that makes sum(weight × value) ≡ 0 (mod 31), weights 1, 2, … len(body) + 1."""
    total = sum((i + 1) * _VALUE[c] for i, c in enumerate(body))
    weight = len(body) + 1
    return ALPHABET[(-total * pow(weight, -1, _MODULUS)) % _MODULUS]


def with_check(body: str) -> str:
    return body + check_char(body)


def is_checked_code(code: str, length: int) -> bool:
    """``code`` (normalised) has ``length`` characters of the alphabet and a valid check character."""
    if len(code) != length or any(c not in _VALUE for c in code):
        return False
    return check_char(code[:-1]) == code[-1]


def grouped(code: str, size: int = 5) -> str:
    """ABCDEFGHJK → ABCDE-FGHJK: easier to read out and to copy; the dashes are ignored when typed."""
    return "-".join(code[i : i + size] for i in range(0, len(code), size))
