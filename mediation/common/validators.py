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


# The 56 民族 of the national standard GB 3304, without the trailing 族.
ETHNIC_GROUPS = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺").split()


def normalize_ethnicity(value: str) -> str | None:
    """汉 / 汉族 → 汉族; None if the value is not one of the 56 民族."""
    name = (value or "").strip()
    name = name[:-1] if name.endswith("族") and name[:-1] in ETHNIC_GROUPS else name
    return f"{name}族" if name in ETHNIC_GROUPS else None


def ethnicity_error(value: str) -> str | None:
    if normalize_ethnicity(value) is None:
        return "民族应为56个民族之一，如“汉族”“回族”。"
    return None
