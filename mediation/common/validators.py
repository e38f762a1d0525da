"""Check digits and formats of Chinese identifiers (pure functions, no framework)."""

from __future__ import annotations

import re
from datetime import date

from mediation import clock

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
    if born > (today or clock.today()) or born.year < 1900:
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


def normalize_phone(value: str) -> str:
    """A phone number as typed → as compared: spaces dropped."""
    return (value or "").strip().replace(" ", "")


def is_mobile(value: str) -> bool:
    """A mainland mobile number (11 digits, 1[3-9]…): the numbers that can receive an SMS."""
    return bool(_MOBILE.match(value or ""))


def mobile_error(value: str) -> str | None:
    """None when ``value`` is a mainland mobile number (an SMS can reach it), else the reason."""
    if err := phone_error(value):
        return err
    if not is_mobile(normalize_phone(value)):
        return "请填写11位手机号码（座机无法接收短信）。"
    return None


def mask_phone(value: str | None) -> str | None:
    """138****5678: the first three and last four digits kept."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


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
    return (
        f"第{match.start() + 1}个字符（U+{ord(char):04X}）是不允许的控制字符或非字符码位，请删除后重新填写。"
    )


# --- what a natural person's name may hold ----------------------------------------------------------

# Han ideographs: the URO, Extensions A–I, the compatibility blocks, and 〇 (U+3007, used in names).
_HAN_RANGES = (
    (0x3007, 0x3007),
    (0x3400, 0x4DBF),  # Extension A (䶮 U+4DAE)
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x2A6DF),  # Extension B (𠀀 U+20000)
    (0x2A700, 0x2B73F),  # Extension C
    (0x2B740, 0x2B81F),  # Extension D
    (0x2B820, 0x2CEAF),  # Extension E
    (0x2CEB0, 0x2EBEF),  # Extension F
    (0x2EBF0, 0x2EE5F),  # Extension I
    (0x2F800, 0x2FA1F),  # CJK Compatibility Ideographs Supplement
    (0x30000, 0x3134F),  # Extension G
    (0x31350, 0x323AF),  # Extension H
)
# Latin letters with diacritics (Latin-1 Supplement, Extended-A/B, Extended Additional), for
# foreign names and minority names written in Latin letters; × and ÷ are not letters.
_LATIN_RANGES = ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x24F), (0x1E00, 0x1EFF))
# The 间隔号 of minority and foreign names, as typed on different keyboards; stored as U+00B7.
MIDDLE_DOTS = "\u00b7\u2027\u2022\u30fb\uff65\u2219\u22c5\u0387"
_APOSTROPHES = "'\u2019\u02bc"
_HYPHENS = "-\u2010\u2011"
_SEPARATORS = {"\u00b7", " ", "-", "'"}

PERSON_NAME_ERROR = "姓名只能由汉字（含生僻字）、字母、间隔号“·”、空格、连字符“-”和撇号“'”组成，不能含数字、表情符号或其他符号。"


def _in(code: int, ranges) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


def is_han(char: str) -> bool:
    return _in(ord(char), _HAN_RANGES)


def normalize_person_name(value: str) -> str:
    """The stored form of a person's name: the dot variants as ·, ’ as ', one space between words
    (full-width spaces too), no spaces around the dot."""
    table = {ord(c): "\u00b7" for c in MIDDLE_DOTS}
    table.update({ord(c): "'" for c in _APOSTROPHES})
    table.update({ord(c): "-" for c in _HYPHENS})
    table[0x3000] = " "
    text = " ".join(value.translate(table).split())
    return text.replace(" \u00b7", "\u00b7").replace("\u00b7 ", "\u00b7")


def person_name_error(value: str) -> str | None:
    """None when ``value`` may be a natural person's name, else the reason (one rule for the API,
    the registration form and the ledger import). Organisations' names are not checked here."""
    name = normalize_person_name(value)
    if not name:
        return "姓名不能为空。"
    if any(not (is_han(c) or _in(ord(c), _LATIN_RANGES) or c in _SEPARATORS) for c in name):
        return PERSON_NAME_ERROR
    if name[0] in _SEPARATORS or name[-1] in _SEPARATORS:
        return "姓名不能以间隔号、连字符或撇号开头或结尾。"
    if any(a in _SEPARATORS and b in _SEPARATORS for a, b in zip(name, name[1:], strict=False)):
        return "姓名中的间隔号、连字符、撇号不能连用。"
    return None


# The 56 民族 of the national standard GB 3304, without the trailing 族.
ETHNIC_GROUPS = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()


def normalize_ethnicity(value: str) -> str | None:
    """汉 / 汉族 → 汉族; None if the value is not one of the 56 民族."""
    name = (value or "").strip()
    name = name[:-1] if name.endswith("族") and name[:-1] in ETHNIC_GROUPS else name
    return f"{name}族" if name in ETHNIC_GROUPS else None


def ethnicity_error(value: str) -> str | None:
    if normalize_ethnicity(value) is None:
        return "民族应为56个民族之一，如“汉族”“回族”。"
    return None
