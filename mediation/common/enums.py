"""Enumerations written with their Chinese names, exactly as in LEDGER.md and INTERFACES.md."""

from enum import StrEnum

from sqlalchemy import Enum


class NodeLevel(StrEnum):
    CITY = "市"
    DISTRICT = "区"
    COUNTY = "县"
    TOWN = "镇"
    SUBDISTRICT = "街道"
    COMMUNITY = "社区"
    VILLAGE = "村"
    GRID = "网格"


class UnitType(StrEnum):
    COMMITTEE = "人民调解委员会"
    ADMINISTRATIVE = "行政机关"
    COURT = "人民法院"
    CENTER = "综治中心"
    OTHER = "其他"


class OrgKind(StrEnum):
    """The kind of a mediation organisation (调解组织): the registry's 类型."""

    VILLAGE = "村（居）人民调解委员会"
    TOWN = "乡镇（街道）人民调解委员会"
    ENTERPRISE = "企事业单位人民调解委员会"
    INDUSTRY = "行业性专业性人民调解委员会"
    LAWYER = "律师调解工作室"
    PERSONAL = "个人调解工作室"
    STATIONED = "驻所（驻庭）调解室"
    OTHER = "其他调解组织"


class Industry(StrEnum):
    """The 行业 of a 行业性专业性人民调解委员会."""

    MEDICAL = "医疗"
    TRAFFIC = "交通"
    LABOUR = "劳动"
    PROPERTY = "物业"
    FAMILY = "婚姻家庭"
    CONSUMER = "消费"
    OTHER = "其他"


class Channel(StrEnum):
    PEOPLE = "人民调解"
    ADMINISTRATIVE = "行政调解"
    JUDICIAL = "司法调解"
    COURT_LINK = "诉调对接"


class Status(StrEnum):
    PENDING = "待分流"
    HANDLING = "办理中"
    STABILIZED = "稳控"
    CLOSED = "已办结"


class Outcome(StrEnum):
    SUCCESS = "调解成功"
    FAILURE = "调解不成功"
    WITHDRAWN = "撤回"
    REJECTED = "不予受理"


class RiskLevel(StrEnum):
    ORDINARY = "一般"
    MAJOR = "较大"
    SERIOUS = "重大"
    EXTREME = "特别重大"


class RiskFlag(StrEnum):
    CIVIL_TO_CRIMINAL = "民转刑风险"
    GROUP = "群体性"
    MILITARY = "涉军"
    PUBLIC = "涉众"
    PETITION = "信访关联"
    EXTREME = "个人极端倾向"


class Venue(StrEnum):
    VILLAGE = "村"
    FAMILY = "家庭"
    SCHOOL = "学校"
    ENTERPRISE = "企业"
    INSTITUTION = "单位"


class PartyRole(StrEnum):
    APPLICANT = "申请人"
    RESPONDENT = "被申请人"
    THIRD = "第三人"


class PartyKind(StrEnum):
    PERSON = "自然人"
    LEGAL = "法人"
    ORGANIZATION = "其他组织"


class Role(StrEnum):
    ADMIN = "admin"
    CENTER = "center"
    MEDIATOR = "mediator"
    GRID = "grid"
    COURT = "court"


ROLE_LABELS = {
    Role.ADMIN: "系统管理员",
    Role.CENTER: "综治中心",
    Role.MEDIATOR: "调解员",
    Role.GRID: "网格员",
    Role.COURT: "法院联络员",
}


def values(enum) -> list[str]:
    return [e.value for e in enum]


def enum_type(enum, length: int = 16):
    """A VARCHAR column type storing the enum's Chinese value (not its Python name)."""

    return Enum(
        enum,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
    )
