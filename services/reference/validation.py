"""Validation of identifiers and dates that appear on applications and certificates.

Rules owned here (see RULES.md, "Validation"):

- 公民身份号码 (GB 11643-1999): 17 digits + MOD 11-2 check character, real birth date, gender digit.
- 统一社会信用代码 (GB 32100-2015): 18 characters, MOD 31 check character, 登记管理部门 / 机构类别 prefix.
- 发文字号 (GB/T 9704-2012, 7.2.4): ``代字〔YYYY〕N号``; decrees ``…令第N号``.
- Mobile and fixed-line telephone numbers (mobile ``^1[3-9]\\d{9}$``; the carrier is not inferred).
- 评审时间 before 批准时间, and the 文号's year equal to the 批准时间's year (manual S 1.2.8.2.1).

Every function either returns a normalized value or raises :class:`InvalidValue` with a Chinese message that
names the rule, so that callers can prefix the field or row (``第 12 行：证件号码校验位错误``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "DocumentNumber",
    "InvalidValue",
    "check_dates_order",
    "check_document_year",
    "credit_code_nature",
    "id_number_birth_date",
    "id_number_gender",
    "mask_id_number",
    "normalize_credit_code",
    "normalize_id_number",
    "normalize_mobile",
    "normalize_phone",
    "parse_document_number",
]


class InvalidValue(ValueError):
    """A value that breaks a named rule; ``message`` is shown to the person who entered it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


_WHITESPACE = re.compile(r"\s+")


def _compact(value: str) -> str:
    return _WHITESPACE.sub("", value)


# --- 公民身份号码 (GB 11643-1999) -------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# [0-9] rather than \d throughout: \d also matches full-width and other Unicode digits.
_ID_PATTERN = re.compile(r"[0-9]{17}[0-9X]")
# A plausibility floor, not part of GB 11643-1999; low enough that the standard's own worked example
# 440524188001010014 (born 1880-01-01, RULES.md) is valid.
EARLIEST_BIRTH_DATE = date(1850, 1, 1)


def id_number_check_char(body: str) -> str:
    return _ID_CHECK_CHARS[
        sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True)) % 11
    ]


def _birth_date_or_none(digits: str) -> date | None:
    try:
        return date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def normalize_id_number(value: str, today: date | None = None) -> str:
    """Return the 18-character ID number with spaces removed and ``x`` upper-cased, or raise InvalidValue."""
    number = _compact(value).upper()
    if len(number) != 18:
        raise InvalidValue("证件号码应为 18 位")
    if not _ID_PATTERN.fullmatch(number):
        raise InvalidValue("证件号码含非法字符")
    # The 地址码 is a GB/T 2260 administrative division code, whose first digit (大区) is never 0.
    if number[0] == "0":
        raise InvalidValue("证件号码中的地址码无效")
    # The check comes before the date so that a mistyped number is reported as such. The expected character is
    # deliberately not revealed: it would let anyone complete a guessed number.
    if number[17] != id_number_check_char(number[:17]):
        raise InvalidValue("证件号码校验位错误")
    birth_date = _birth_date_or_none(number[6:14])
    if birth_date is None or birth_date < EARLIEST_BIRTH_DATE:
        raise InvalidValue("证件号码中的出生日期无效")
    if birth_date > (today or date.today()):
        raise InvalidValue("证件号码中的出生日期晚于今天")
    return number


def id_number_birth_date(value: str) -> date:
    """The birth date encoded in positions 7–14 of a valid ID number."""
    number = normalize_id_number(value)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def id_number_gender(value: str) -> str:
    """``"男"`` when the 顺序码's last digit (the 17th) is odd, ``"女"`` when it is even."""
    number = normalize_id_number(value)
    return "男" if int(number[16]) % 2 else "女"


def mask_id_number(value: str) -> str:
    """Hide the birth date and sequence: ``510106********7209``. Never raises, whatever the input."""
    number = _compact(value).upper()
    length = len(number)
    if length >= 11:
        return number[:6] + "*" * (length - 10) + number[-4:]
    # Too short to be a real number: still show no more than half of it.
    shown = length // 4
    if shown == 0:
        return "*" * length
    return number[:shown] + "*" * (length - 2 * shown) + number[-shown:]


# --- 统一社会信用代码 (GB 32100-2015) ----------------------------------------------------------------------

_CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_NATURE_BY_PREFIX = {
    "11": "机关",
    "12": "事业单位",
    "51": "社会组织",
    "52": "社会组织",
    "53": "社会组织",
}


def credit_code_check_char(body: str) -> str:
    total = sum(
        _CREDIT_CHARSET.index(char) * weight for char, weight in zip(body, _CREDIT_WEIGHTS, strict=True)
    )
    return _CREDIT_CHARSET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    """Return the upper-cased 18-character code without spaces, or raise InvalidValue."""
    code = _compact(value).upper()
    if len(code) != 18:
        raise InvalidValue("统一社会信用代码应为 18 位")
    if any(char not in _CREDIT_CHARSET for char in code):
        raise InvalidValue("统一社会信用代码含非法字符（不得含 I、O、Z、S、V）")
    # Positions 3–8 are the GB/T 2260 行政区划码 of the registering authority.
    if not code[2:8].isdigit():
        raise InvalidValue("统一社会信用代码第 3–8 位（行政区划码）应为数字")
    if code[17] != credit_code_check_char(code[:17]):
        raise InvalidValue("统一社会信用代码校验位错误")
    return code


def credit_code_nature(value: str) -> str | None:
    """The organisation's nature from the 登记管理部门 + 机构类别 prefix, or None when not one we classify.

    All 9x codes (91 企业, 92 个体工商户, 93 农民专业合作社) are registered by market regulation: "企业".
    """
    code = normalize_credit_code(value)
    if code[0] == "9" and code[1] in "123":
        return "企业"
    return _CREDIT_NATURE_BY_PREFIX.get(code[:2])


# --- Telephone numbers ------------------------------------------------------------------------------------

_MOBILE_PATTERN = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_COUNTRY_PREFIX = re.compile(r"^(?:\+86|0086|86(?=1[0-9]{10}$))")
_MOBILE_SEPARATORS = re.compile(r"[\s\-]+")
# 区号: 010 and 02X are three digits, every other one four; 号码 is 7–8 digits and never starts with 0 or 1.
_FIXED_LINE_PATTERN = re.compile(
    r"(?:[(（](?P<paren_area>0(?:10|2[0-9]|[3-9][0-9]{2}))[)）]\s*-?\s*"
    r"|(?P<area>0(?:10|2[0-9]|[3-9][0-9]{2}))\s*-?\s*)"
    r"(?P<local>[2-9][0-9]{6,7})"
    r"(?:\s*(?:-|转)\s*(?P<extension>[0-9]{1,6}))?"
)


def normalize_mobile(value: str) -> str:
    """Return the 11-digit mobile number without country prefix, spaces or hyphens, or raise InvalidValue."""
    number = _MOBILE_COUNTRY_PREFIX.sub("", _MOBILE_SEPARATORS.sub("", value))
    if not _MOBILE_PATTERN.fullmatch(number):
        raise InvalidValue("手机号码格式不正确")
    return number


def normalize_phone(value: str) -> str:
    """Accept a mobile or a fixed line with area code; return ``13912345678`` or ``028-86123456[-123]``."""
    try:
        return normalize_mobile(value)
    except InvalidValue:
        pass
    match = _FIXED_LINE_PATTERN.fullmatch(value.strip())
    if match is None:
        raise InvalidValue("联系电话格式不正确（手机号或区号-号码）")
    area = match["paren_area"] or match["area"]
    normalized = f"{area}-{match['local']}"
    if match["extension"]:
        normalized += f"-{match['extension']}"
    return normalized


# --- 发文字号 (GB/T 9704-2012, 7.2.4) ----------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentNumber:
    """A parsed 文号; ``year`` is None for decrees (``国务院令第40号``)."""

    prefix: str
    year: int | None
    serial: int

    def __str__(self) -> str:
        if self.year is None:
            return f"{self.prefix}第{self.serial}号"
        return f"{self.prefix}〔{self.year}〕{self.serial}号"


_DECREE_PATTERN = re.compile(r"(?P<prefix>\S*令)第(?P<serial>[0-9]+)号")
_DOCUMENT_PATTERN = re.compile(r"(?P<prefix>[^〔〕]+)〔(?P<year>[^〔〕]*)〕(?P<serial>[^〔〕]*)号")
# Brackets people type instead of 〔〕: half-width and full-width square, round and lenticular, small tortoise.
_WRONG_BRACKETS = re.compile(r"[\[\]［］()（）【】﹝﹞〖〗]")


def _serial(text: str) -> int:
    if text.startswith("第"):
        raise InvalidValue("文号序号前不加“第”字（GB/T 9704-2012）")
    if not re.fullmatch(r"[0-9]+", text):
        raise InvalidValue("文号序号应为阿拉伯数字（GB/T 9704-2012）")
    if text.startswith("0"):
        raise InvalidValue("文号序号不编虚位，不得以 0 开头（GB/T 9704-2012）")
    return int(text)


def parse_document_number(value: str) -> DocumentNumber:
    """Parse ``川人社职〔2020〕60号`` or ``国务院令第40号``, or raise InvalidValue naming the broken rule."""
    text = _compact(value)
    decree = _DECREE_PATTERN.fullmatch(text)
    if decree is not None and "〔" not in text:
        return DocumentNumber(prefix=decree["prefix"], year=None, serial=_serial(decree["serial"]))
    if "〔" not in text and _WRONG_BRACKETS.search(text):
        raise InvalidValue("文号须使用六角括号〔〕")
    match = _DOCUMENT_PATTERN.fullmatch(text)
    if match is None:
        raise InvalidValue("文号格式不正确，应为“代字〔年份〕序号号”（GB/T 9704-2012）")
    year = match["year"]
    # 年份应标全称 (2020, not 20).
    if not re.fullmatch(r"[12][0-9]{3}", year):
        raise InvalidValue("文号年份应为四位数字全称（GB/T 9704-2012）")
    return DocumentNumber(prefix=match["prefix"], year=int(year), serial=_serial(match["serial"]))


# --- Dates (manual S 1.2.8.2.1) ---------------------------------------------------------------------------


def check_dates_order(review_date: date, approval_date: date) -> None:
    """The committee reviews first; the approving authority then approves on a later day."""
    if review_date >= approval_date:
        raise InvalidValue("评审时间须早于批准时间")


def check_document_year(doc: DocumentNumber, approval_date: date) -> None:
    """The approval 文号 is issued in the year of approval; decrees carry no year and pass."""
    if doc.year is not None and doc.year != approval_date.year:
        raise InvalidValue("文号年份须与批准时间年份一致")
