"""Check digits and formats of Chinese identifiers (pure functions, no framework)."""

from __future__ import annotations

import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def id_card_check_digit(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_card_error(value: str, today: date | None = None) -> str | None:
    """None when ``value`` is a valid 18-digit 居民身份证号码 (GB 11643-1999), else the reason."""
    v = value.strip().upper()
    if len(v) != 18:
        return "居民身份证号码应为18位。"
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return "居民身份证号码前17位应为数字，最后一位为数字或X。"
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "居民身份证号码中的出生日期无效。"
    if born > (today or date.today()) or born.year < 1900:
        return "居民身份证号码中的出生日期无效。"
    if id_card_check_digit(v[:17]) != v[17]:
        return "居民身份证号码校验位错误。"
    return None


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_error(value: str) -> str | None:
    """None when ``value`` is a valid 统一社会信用代码 (GB 32100-2015), else the reason."""
    v = value.strip().upper()
    if len(v) != 18:
        return "统一社会信用代码应为18位。"
    if any(c not in _USCC_CHARS for c in v):
        return "统一社会信用代码含有无效字符（不使用I、O、Z、S、V）。"
    if not v[2:8].isdigit():
        return "统一社会信用代码第3至8位应为行政区划码。"
    if uscc_check_char(v[:17]) != v[17]:
        return "统一社会信用代码校验位错误。"
    return None


def phone_error(value: str) -> str | None:
    v = value.strip().replace(" ", "")
    if _MOBILE.match(v) or _LANDLINE.match(v):
        return None
    return "电话号码格式不正确（手机号11位，座机如 022-12345678）。"


def mask_id_number(value: str | None) -> str | None:
    """120***********1234: the first three and last four characters kept."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# ------------------------------------------------------------------ text that breaks things later

def _forbidden_class(multiline: bool) -> re.Pattern:
    """C0 controls (tab and newline allowed in multi-line text only), DEL, C1 controls, lone
    surrogates, and the Unicode noncharacters (U+FDD0–U+FDEF and the last two code points of every
    plane): they break PostgreSQL (NUL), XML in workbooks and PDFs, CSV and terminals later."""
    c0 = "\x00-\x08\x0b-\x1f" if multiline else "\x00-\x1f"
    planes = "".join(f"{chr(p * 0x10000 + 0xFFFE)}-{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
    return re.compile(f"[{c0}\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef{planes}]")


_FORBIDDEN_SINGLE = _forbidden_class(multiline=False)
_FORBIDDEN_MULTI = _forbidden_class(multiline=True)


def normalize_newlines(value: str) -> str:
    """CR LF (what browsers send from a textarea) and a lone CR become LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def text_error(value: str, *, multiline: bool = False) -> str | None:
    """None when ``value`` holds only characters allowed in stored text, else the reason (Chinese).

    Single-line text (names, numbers, codes, addresses) refuses tab and newline too; multi-line
    text (summaries, notes, reasons, agreement text) allows them (normalise CR first)."""
    match = (_FORBIDDEN_MULTI if multiline else _FORBIDDEN_SINGLE).search(value)
    if match is None:
        return None
    char = match.group()
    if char in "\t\n\r":
        return "此项只能填写一行，不能包含换行符或制表符。"
    return (f"第{match.start() + 1}个字符（U+{ord(char):04X}）是不允许的控制字符或非字符码位，"
            "请删除后重新填写。")
