"""The password policy: one function, :func:`password_problems`, used by the web page that changes a
password and by ``flask user create``.

A password must
- have at least ``MIN_LENGTH`` (10) characters (and at most ``MAX_LENGTH``, to bound the hashing work);
- mix at least ``MIN_CLASSES`` (3) of the four kinds: lower-case letters, upper-case letters, digits,
  symbols (anything else, including Chinese characters), as 等级保护 guidance asks;
- not be, nor contain, the user name (compared case-insensitively);
- not be one of the guessable passwords in ``common_passwords.txt`` (compared case-insensitively).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_CLASSES = 3
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")

CLASSES = (
    ("小写字母", str.islower),
    ("大写字母", str.isupper),
    ("数字", str.isdigit),
)
SYMBOL = "符号"

POLICY_TEXT = (
    f"密码至少{MIN_LENGTH}位，须包含大写字母、小写字母、数字、符号中的至少{MIN_CLASSES}类，"
    "不能包含用户名，不能是常见密码。"
)


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def character_classes(password: str) -> list[str]:
    """The kinds of character the password uses, by their Chinese names."""
    found = []
    for name, test in CLASSES:
        if any(ch.isascii() and test(ch) for ch in password):
            found.append(name)
    if any(not (ch.isascii() and ch.isalnum()) for ch in password):
        found.append(SYMBOL)
    return found


def password_problems(password: str, username: str = "") -> list[str]:
    """What is wrong with the password, one Chinese sentence per rule it breaks; [] when it is fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少{MIN_LENGTH}位（现在{len(password)}位）。")
    elif len(password) > MAX_LENGTH:
        problems.append(f"密码不能超过{MAX_LENGTH}位。")
    kinds = character_classes(password)
    if len(kinds) < MIN_CLASSES:
        have = "、".join(kinds) or "无"
        problems.append(
            f"密码须包含大写字母、小写字母、数字、符号中的至少{MIN_CLASSES}类（现在只有：{have}）。"
        )
    name, lowered = username.strip().lower(), password.lower()
    if name and (name == lowered or (len(name) >= 3 and name in lowered)):
        problems.append("密码不能包含用户名。")
    if password.lower() in common_passwords():
        problems.append("这是常见密码，容易被猜中，请换一个。")
    return problems
