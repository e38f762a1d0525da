"""Write mediation/accounts/common_passwords.txt: the guessable passwords the policy refuses.

The list is generated, not copied: the passwords that top every published leak list (international and
Chinese sites), the keyboard walks and digit runs, and the base words people dress up to pass a
"letters, digits and a symbol" rule (Password@123, Admin#2024, Woaini1314!). Only entries of at least
MIN_LENGTH characters are kept (shorter ones are refused for their length anyway). Lower case: the check
compares case-insensitively. Run it again after editing the lists: ``python scripts/make_common_passwords.py``.
"""

from __future__ import annotations

from pathlib import Path

MIN_LENGTH = 10
OUT = Path(__file__).resolve().parent.parent / "mediation" / "accounts" / "common_passwords.txt"

# Top entries of the public leak lists, and the Chinese favourites (CSDN, 12306, Tianya leaks).
TOP = """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123
football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael
654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm
asdfgh hunter buster soccer harley batman andrew tigger sunshine iloveyou charlie robert thomas
hockey ranger daniel starwars 112233 george computer michelle jessica pepper zxcvbn 555555 11111111
131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua cheese amanda summer love
ashley nicole chelsea biteme matthew access yankees 987654321 dallas austin thunder taylor matrix
welcome login admin administrator root toor guest user test tester demo default changeme secret
passw0rd p@ssw0rd p@ssword pa55word letmein1 qwerty123 qwe123 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y
1qaz2wsx3edc qazwsxedc qazwsxedcrfv zaq12wsx zaq1xsw2 1qazxsw2 asdfghjkl asdfghjkl; zxcvbnm123
qwertyuiop123 1234qwer qwer1234 asdf1234 1234asdf zxcv1234 abcd1234 abc123456 a123456789 a12345678
aa123456 aa12345678 aa123456789 123456aa 123456abc 123abc 147258369 147258 258369 159357 159753
789456123 789456 963852741 741852963 123654789 987654321 0123456789 9876543210 1234567890
12345678910 123456789123 1234512345 12345678900 11111111111 12344321 123454321 1234554321 11223344 1122334455 112233445566 12121212 1212121212 123123123
123321123 321321321 5201314 woaini woaini1314 woaini520 iloveyou1314 1314520 5211314 woaiwojia
wodemima mima123 mima mimamima zhangwei wangwei wangfang liwei lina zhangmin liuyang zhangjie
xiaoming xiaohong xiazhili dearbook qq123456 qq123456789 qqqqqqqq 88888888 66666666 99999999
8888888888 6666666666 168168 518518 888888 999999 100200 110110 110120 119119 120120 12306
31415926 3.1415926 314159 31415926535 woshishui nihao nihao123 zhongguo china chinese beijing
shanghai tianjin guangzhou shenzhen hangzhou huawei xiaomi alibaba taobao baidu tencent weixin
wechat qqqq abcdefg abcdefgh abcdefghij abcdefghijk abcdef abcde abc password1 password12
password123 password1234 passwords iloveu iloveyou1 sunshine1 princess1 administrator123 qwertyuiop123 qwertyuiop1 asdfghjkl123 football1 monkey1 dragon1
welcome1 welcome123 admin123 admin1234 admin12345 admin123456 administrator1 root123 root1234
root12345 root123456 test123 test1234 test12345 test123456 user123 user1234 guest123 system
system123 manager manager123 super superuser superadmin sysadmin operator service server
database oracle mysql postgres postgresql sa sa123 db2admin informix sybase
""".split()

# Words people dress up: word + separator + digits (Admin@123, Password#2024 …).
BASES = """
password passwd passw0rd p@ssw0rd p@ssword pa55word pass mima mimamima admin administrator root
sys system sysadmin super superuser manager test tester user guest demo welcome login letmein
qwerty qwer qwert qwertyui qwertyuiop asdf asdfgh asdfghjkl zxcv zxcvbn zxcvbnm qaz qazwsx
qazwsxedc 1qaz2wsx 1q2w3e4r abc abcd abcde abcdef abcdefg aa aaa aaaa abc123 iloveyou woaini
wohenaini nihao zhongguo china beijing shanghai huawei h3c cisco ruijie hikvision dahua sangfor
oracle mysql postgres server database company office gov zhengfu zhengwu dangzheng
dragon monkey master shadow sunshine princess football baseball superman batman michael
jennifer charlie computer internet changeme default secret hello hello123 goodluck lucky
zhangsan lisi wangwu zhaoliu wangwei liwei zhangwei liuyang
""".split()

SEPARATORS = ["", "@", "#", "!", ".", "_"]
SUFFIXES = [
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "123456",
    "12345678",
    "123456789",
    "000",
    "111",
    "520",
    "1314",
    "5201314",
    "666",
    "888",
    "8888",
    "!@#",
    "!@#$",
    "123!",
    "123.",
    *(str(y) for y in range(2000, 2031)),
]


def walks() -> set[str]:
    out: set[str] = set()
    rows = [
        "1234567890",
        "qwertyuiop",
        "asdfghjkl",
        "zxcvbnm",
        "0987654321",
        "poiuytrewq",
        "lkjhgfdsa",
        "mnbvcxz",
        "abcdefghijklmnopqrstuvwxyz",
    ]
    for row in rows:
        for length in range(MIN_LENGTH, len(row) + 1):
            for start in range(len(row) - length + 1):
                out.add(row[start : start + length])
    # Runs of one character and two-character repeats.
    for ch in "0123456789abcdefghijklmnopqrstuvwxyz!@#*":
        for n in range(MIN_LENGTH, 17):
            out.add(ch * n)
    for pair in ("12", "ab", "qw", "as", "zx", "a1", "1a", "q1", "88", "69"):
        for n in range(MIN_LENGTH // 2, 9):
            out.add(pair * n)
    for chunk in (
        "123",
        "abc",
        "qwe",
        "asd",
        "zxc",
        "1234",
        "abcd",
        "qwer",
        "asdf",
        "zxcv",
        "12345",
        "qwert",
        "147",
        "258",
        "369",
        "789",
        "456",
    ):
        for n in range(2, 6):
            out.add(chunk * n)
    # Vertical and zig-zag keyboard walks.
    for walk in (
        "1qaz2wsx3edc",
        "1qaz2wsx3edc4rfv",
        "qazwsxedcrfv",
        "qazwsxedcrfvtgb",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "1q2w3e4r5t6y7u",
        "q1w2e3r4t5",
        "zaq12wsx",
        "zaq1xsw2cde3",
        "!qaz@wsx",
        "!qaz@wsx#edc",
        "1qaz@wsx",
        "1qaz@wsx3edc",
        "1qaz!qaz",
        "2wsx@wsx",
        "qwer!@#$",
        "qwer1234!@#$",
        "!@#$qwer",
        "1234!@#$",
        "!@#$%^&*",
        "!@#$%^&*()",
        "1234qwerasdf",
        "1234qwerasdfzxcv",
        "asdfqwer1234",
        "qweasdzxc",
        "qweasdzxc123",
        "123qweasdzxc",
        "147258369",
        "1472583690",
        "159357456",
        "741852963",
        "963852741",
        "7894561230",
        "1236987450",
    ):
        out.add(walk)
    return out


def main() -> None:
    words: set[str] = set(TOP)
    for base in BASES:
        for sep in SEPARATORS:
            for suffix in SUFFIXES:
                words.add(base + sep + suffix)
                if sep in ("", "@"):
                    words.add(suffix + sep + base)
                if sep == "" and suffix.isdigit():  # Woaini1314! Admin123.
                    words.update(base + suffix + end for end in ("!", "."))
    words |= walks()
    kept = sorted(w.lower() for w in words if len(w) >= MIN_LENGTH)
    OUT.write_text(
        "# Generated by scripts/make_common_passwords.py: guessable passwords, lower case.\n"
        + "\n".join(kept)
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(kept)} entries → {OUT}")


if __name__ == "__main__":
    main()
