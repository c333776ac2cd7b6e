"""Specification of services.reference.validation: GB 11643-1999, GB 32100-2015, GB/T 9704-2012, phone numbers."""

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.reference.validation import (
    DocumentNumber,
    InvalidValue,
    check_dates_order,
    check_document_year,
    credit_code_nature,
    id_number_birth_date,
    id_number_gender,
    mask_id_number,
    normalize_credit_code,
    normalize_id_number,
    normalize_mobile,
    normalize_phone,
    parse_document_number,
)

TODAY = date(2024, 6, 1)

# Computed here from the standards rather than imported, so the tests check the module against RULES.md.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_check_char(body: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def make_id_number(region: str = "510106", birth: str = "19850315", sequence: str = "720") -> str:
    body = region + birth + sequence
    return body + id_check_char(body)


BORN_1980 = make_id_number("440524", "19800101", "001")


def credit_check_char(body: str) -> str:
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(body, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def make_credit_code(prefix: str = "91", region: str = "510100", rest: str = "MA61234567") -> str:
    body = prefix + region + rest[:9]
    return body + credit_check_char(body)


def other_char(correct: str, charset: str) -> str:
    return next(c for c in charset if c != correct)


def assert_refused(message: str, function: Callable[..., object], *args: object, **kwargs: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        function(*args, **kwargs)
    assert caught.value.message == message
    assert str(caught.value) == message


# --- InvalidValue ------------------------------------------------------------------------------------------


def test_invalid_value_is_a_value_error_whose_str_is_the_message() -> None:
    error = InvalidValue("证件号码校验位错误")
    assert isinstance(error, ValueError)
    assert error.message == "证件号码校验位错误"
    assert str(error) == "证件号码校验位错误"


# --- 公民身份号码 (GB 11643-1999) -------------------------------------------------------------------------


def test_worked_id_example_is_valid() -> None:
    assert normalize_id_number("11010519491231002X", today=TODAY) == "11010519491231002X"


def test_worked_id_example_born_1880_is_valid() -> None:
    # GB 11643-1999's own example (RULES.md): check character 4.
    assert normalize_id_number("440524188001010014", today=TODAY) == "440524188001010014"


def test_birth_before_1850_is_refused() -> None:
    body = "44052418490101001"
    assert_refused("证件号码中的出生日期无效", normalize_id_number, body + id_check_char(body), today=TODAY)


def test_worked_id_example_check_chars_follow_from_the_weights() -> None:
    assert sum(int(d) * w for d, w in zip("11010519491231002", ID_WEIGHTS, strict=True)) == 167
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("44052418800101001") == "4"


@pytest.mark.parametrize(
    "number",
    ["110105194912310021", "110105194912310020", "440524188001010015", "44052418800101001X"],
)
def test_id_with_wrong_check_char_is_refused(number: str) -> None:
    assert_refused("证件号码校验位错误", normalize_id_number, number, today=TODAY)


def test_id_check_error_does_not_reveal_the_expected_char() -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_id_number("110105194912310021", today=TODAY)
    assert "X" not in caught.value.message


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("11010519491231002x", "11010519491231002X"),
        (" 110105 19491231 002x ", "11010519491231002X"),
        (BORN_1980[:10] + "\t" + BORN_1980[10:].lower(), BORN_1980),
    ],
)
def test_id_lower_case_x_and_spaces_are_normalized(raw: str, normalized: str) -> None:
    assert normalize_id_number(raw, today=TODAY) == normalized


@pytest.mark.parametrize(
    "number", ["", "1101051949123100", "11010519491231002", "11010519491231002X1", "110105491231002"]
)
def test_id_with_wrong_length_is_refused(number: str) -> None:
    assert_refused("证件号码应为 18 位", normalize_id_number, number, today=TODAY)


@pytest.mark.parametrize(
    "number", ["11010519491231002Y", "1101051949123100X2", "11010519491231-02X", "１１010519491231002X"]
)
def test_id_with_illegal_characters_is_refused(number: str) -> None:
    assert_refused("证件号码含非法字符", normalize_id_number, number, today=TODAY)


def test_id_with_region_starting_with_zero_is_refused() -> None:
    assert_refused(
        "证件号码中的地址码无效", normalize_id_number, make_id_number(region="010105"), today=TODAY
    )


@pytest.mark.parametrize(
    "birth", ["19490230", "19491301", "19490001", "19490100", "20230229", "18491231", "18000101", "00000000"]
)
def test_id_with_impossible_birth_date_is_refused(birth: str) -> None:
    assert_refused("证件号码中的出生日期无效", normalize_id_number, make_id_number(birth=birth), today=TODAY)


@pytest.mark.parametrize("birth", ["20240602", "20250101", "20991231"])
def test_id_with_future_birth_date_is_refused(birth: str) -> None:
    assert_refused(
        "证件号码中的出生日期晚于今天", normalize_id_number, make_id_number(birth=birth), today=TODAY
    )


@pytest.mark.parametrize("birth", ["20240601", "20240229", "19000101"])
def test_id_birth_date_up_to_today_and_from_1900_is_accepted(birth: str) -> None:
    number = make_id_number(birth=birth)
    assert normalize_id_number(number, today=TODAY) == number


@pytest.mark.parametrize(
    ("number", "gender"),
    [
        ("11010519491231002X", "女"),
        (BORN_1980, "男"),
        (make_id_number(sequence="001"), "男"),
        (make_id_number(sequence="998"), "女"),
    ],
)
def test_gender_follows_the_17th_digit(number: str, gender: str) -> None:
    assert id_number_gender(number) == gender


@pytest.mark.parametrize(
    ("number", "birth_date"),
    [
        ("11010519491231002X", date(1949, 12, 31)),
        ("11010519491231002x", date(1949, 12, 31)),
        (BORN_1980, date(1980, 1, 1)),
    ],
)
def test_birth_date_is_read_from_the_id(number: str, birth_date: date) -> None:
    assert id_number_birth_date(number) == birth_date


def test_gender_and_birth_date_refuse_an_invalid_id() -> None:
    assert_refused("证件号码校验位错误", id_number_gender, "110105194912310021")
    assert_refused("证件号码校验位错误", id_number_birth_date, "110105194912310021")


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("510106198503157209", "510106********7209"),
        ("11010519491231002x", "110105********002X"),
        (" 510106 19850315 7209 ", "510106********7209"),
        ("510106850315720", "510106*****5720"),
        ("12345678", "12****78"),
        ("1234", "1**4"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_id_number_is_masked(raw: str, masked: str) -> None:
    assert mask_id_number(raw) == masked


@pytest.mark.parametrize("raw", ["1", "12", "12345", "123456789", "1234567890"])
def test_masking_of_short_input_hides_at_least_half(raw: str) -> None:
    masked = mask_id_number(raw)
    assert len(masked) == len(raw)
    assert masked.count("*") * 2 >= len(raw)


@settings(database=None)
@given(
    region=st.integers(min_value=100000, max_value=999999),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_any_id_with_valid_date_and_computed_check_passes(region: int, birth: date, sequence: int) -> None:
    number = make_id_number(str(region), birth.strftime("%Y%m%d"), f"{sequence:03d}")
    assert normalize_id_number(number, today=TODAY) == number
    assert normalize_id_number(number.lower(), today=TODAY) == number
    assert id_number_birth_date(number) == birth
    assert id_number_gender(number) == ("男" if sequence % 2 else "女")


@settings(database=None)
@given(
    region=st.integers(min_value=100000, max_value=999999),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
    data=st.data(),
)
def test_any_id_with_a_changed_check_char_fails(
    region: int, birth: date, sequence: int, data: st.DataObject
) -> None:
    number = make_id_number(str(region), birth.strftime("%Y%m%d"), f"{sequence:03d}")
    wrong = data.draw(st.sampled_from([c for c in "0123456789X" if c != number[17]]))
    assert_refused("证件号码校验位错误", normalize_id_number, number[:17] + wrong, today=TODAY)


# --- 统一社会信用代码 (GB 32100-2015) ----------------------------------------------------------------------


def test_worked_credit_code_example_is_valid() -> None:
    body = "91350100M000100Y4"
    assert sum(CREDIT_CHARSET.index(c) * w for c, w in zip(body, CREDIT_WEIGHTS, strict=True)) == 1640
    assert normalize_credit_code("91350100M000100Y43") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("91350100m000100y43", "91350100M000100Y43"), (" 913501 00M000 100Y43 ", "91350100M000100Y43")],
)
def test_credit_code_is_upper_cased_and_spaces_removed(raw: str, normalized: str) -> None:
    assert normalize_credit_code(raw) == normalized


@pytest.mark.parametrize("code", ["91350100M000100Y40", "91350100M000100Y44", "91350100M000100Y4A"])
def test_credit_code_with_wrong_check_char_is_refused(code: str) -> None:
    assert_refused("统一社会信用代码校验位错误", normalize_credit_code, code)


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y431"])
def test_credit_code_with_wrong_length_is_refused(code: str) -> None:
    assert_refused("统一社会信用代码应为 18 位", normalize_credit_code, code)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V", "i", "o"])
def test_credit_code_with_forbidden_letter_is_refused(letter: str) -> None:
    assert_refused(
        "统一社会信用代码含非法字符（不得含 I、O、Z、S、V）",
        normalize_credit_code,
        "91350100" + letter + "000100Y43",
    )


@pytest.mark.parametrize("code", ["91350100M000100Y4-", "91350100M000100Y4中"])
def test_credit_code_with_other_illegal_characters_is_refused(code: str) -> None:
    assert_refused("统一社会信用代码含非法字符（不得含 I、O、Z、S、V）", normalize_credit_code, code)


@pytest.mark.parametrize("region", ["A50100", "35010B", "3501M0"])
def test_credit_code_with_non_numeric_region_is_refused(region: str) -> None:
    assert_refused(
        "统一社会信用代码第 3–8 位（行政区划码）应为数字",
        normalize_credit_code,
        make_credit_code(region=region),
    )


@pytest.mark.parametrize(
    ("prefix", "nature"),
    [
        ("11", "机关"),
        ("12", "事业单位"),
        ("91", "企业"),
        ("92", "企业"),
        ("93", "企业"),
        ("51", "社会组织"),
        ("52", "社会组织"),
        ("53", "社会组织"),
        ("13", None),
        ("31", None),
        ("Y1", None),
    ],
)
def test_credit_code_nature_follows_the_prefix(prefix: str, nature: str | None) -> None:
    assert credit_code_nature(make_credit_code(prefix=prefix)) == nature


def test_credit_code_nature_of_the_worked_example_is_enterprise() -> None:
    assert credit_code_nature("91350100M000100Y43") == "企业"


credit_bodies = st.builds(
    lambda head, region, tail: head + region + tail,
    st.text(alphabet=CREDIT_CHARSET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=CREDIT_CHARSET, min_size=9, max_size=9),
)


@settings(database=None)
@given(body=credit_bodies, data=st.data())
def test_any_credit_code_with_computed_check_passes_and_a_changed_one_fails(
    body: str, data: st.DataObject
) -> None:
    code = body + credit_check_char(body)
    assert normalize_credit_code(code.lower()) == code
    wrong = data.draw(st.sampled_from([c for c in CREDIT_CHARSET if c != code[17]]))
    assert_refused("统一社会信用代码校验位错误", normalize_credit_code, body + wrong)


# --- Telephone numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("13912345678", "13912345678"),
        ("199 1234 5678", "19912345678"),
        ("139-1234-5678", "13912345678"),
        ("+8613912345678", "13912345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("86-13912345678", "13912345678"),
        ("8613912345678", "13912345678"),
    ],
)
def test_mobile_is_normalized(raw: str, normalized: str) -> None:
    assert normalize_mobile(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12912345678",
        "10012345678",
        "1391234567",
        "139123456789",
        "1391234567a",
        "+85213912345678",
        "028-86123456",
    ],
)
def test_bad_mobile_is_refused(raw: str) -> None:
    assert_refused("手机号码格式不正确", normalize_mobile, raw)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("13912345678", "13912345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("028-86123456", "028-86123456"),
        ("0833-2123456", "0833-2123456"),
        ("010-62345678", "010-62345678"),
        ("(028)86123456", "028-86123456"),
        ("（028）86123456", "028-86123456"),
        ("028 86123456", "028-86123456"),
        ("02886123456", "028-86123456"),
        ("08332123456", "0833-2123456"),
        ("028-86123456-123", "028-86123456-123"),
        ("(0833)2123456-8001", "0833-2123456-8001"),
        (" 028-86123456 ", "028-86123456"),
    ],
)
def test_phone_accepts_mobile_or_fixed_line(raw: str, normalized: str) -> None:
    assert normalize_phone(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "86123456",
        "28-86123456",
        "028-06123456",
        "028-16123456",
        "028-861234",
        "028-861234567",
        "0833-21234567-",
        "028-86123456-1234567",
        "(028-86123456",
        "12912345678",
        "电话028-86123456",
    ],
)
def test_bad_phone_is_refused(raw: str) -> None:
    assert_refused("联系电话格式不正确（手机号或区号-号码）", normalize_phone, raw)


# --- 发文字号 (GB/T 9704-2012) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("川人社职〔2020〕60号", DocumentNumber(prefix="川人社职", year=2020, serial=60)),
        ("人社部发〔2024〕56号", DocumentNumber(prefix="人社部发", year=2024, serial=56)),
        (" 川人社职〔2020〕1号 ", DocumentNumber(prefix="川人社职", year=2020, serial=1)),
        ("国务院令第40号", DocumentNumber(prefix="国务院令", year=None, serial=40)),
        ("人力资源社会保障部令第40号", DocumentNumber(prefix="人力资源社会保障部令", year=None, serial=40)),
    ],
)
def test_document_number_is_parsed(raw: str, parsed: DocumentNumber) -> None:
    assert parse_document_number(raw) == parsed


@pytest.mark.parametrize("text", ["川人社职〔2020〕60号", "国务院令第40号"])
def test_document_number_prints_as_written(text: str) -> None:
    assert str(parse_document_number(text)) == text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("川人社职[2020]60号", "文号须使用六角括号〔〕"),
        ("川人社职［2020］60号", "文号须使用六角括号〔〕"),
        ("川人社职（2020）60号", "文号须使用六角括号〔〕"),
        ("川人社职(2020)60号", "文号须使用六角括号〔〕"),
        ("川人社职【2020】60号", "文号须使用六角括号〔〕"),
        ("川人社职〔20〕60号", "文号年份应为四位数字全称（GB/T 9704-2012）"),
        ("川人社职〔二〇二〇〕60号", "文号年份应为四位数字全称（GB/T 9704-2012）"),
        ("川人社职〔２０２０〕60号", "文号年份应为四位数字全称（GB/T 9704-2012）"),
        ("川人社职〔2020〕060号", "文号序号不编虚位，不得以 0 开头（GB/T 9704-2012）"),
        ("川人社职〔2020〕第60号", "文号序号前不加“第”字（GB/T 9704-2012）"),
        ("川人社职〔2020〕六十号", "文号序号应为阿拉伯数字（GB/T 9704-2012）"),
        ("国务院令第040号", "文号序号不编虚位，不得以 0 开头（GB/T 9704-2012）"),
        ("川人社职〔2020〕60", "文号格式不正确，应为“代字〔年份〕序号号”（GB/T 9704-2012）"),
        ("〔2020〕60号", "文号格式不正确，应为“代字〔年份〕序号号”（GB/T 9704-2012）"),
        ("", "文号格式不正确，应为“代字〔年份〕序号号”（GB/T 9704-2012）"),
    ],
)
def test_bad_document_number_is_refused(raw: str, message: str) -> None:
    assert_refused(message, parse_document_number, raw)


def test_document_number_is_immutable() -> None:
    doc = parse_document_number("川人社职〔2020〕60号")
    with pytest.raises(AttributeError):
        doc.year = 2021  # type: ignore[misc]


# --- Dates (manual S 1.2.8.2.1) ---------------------------------------------------------------------------


def test_review_before_approval_is_accepted() -> None:
    check_dates_order(date(2020, 11, 20), date(2020, 12, 15))


@pytest.mark.parametrize("approval_date", [date(2020, 11, 20), date(2020, 11, 19)])
def test_review_on_or_after_approval_is_refused(approval_date: date) -> None:
    assert_refused("评审时间须早于批准时间", check_dates_order, date(2020, 11, 20), approval_date)


def test_document_year_equal_to_approval_year_is_accepted() -> None:
    check_document_year(parse_document_number("川人社职〔2020〕60号"), date(2020, 12, 31))


@pytest.mark.parametrize("approval_date", [date(2021, 1, 5), date(2019, 12, 31)])
def test_document_year_other_than_approval_year_is_refused(approval_date: date) -> None:
    assert_refused(
        "文号年份须与批准时间年份一致",
        check_document_year,
        parse_document_number("川人社职〔2020〕60号"),
        approval_date,
    )


def test_decree_has_no_year_to_check() -> None:
    check_document_year(parse_document_number("国务院令第40号"), date(2019, 7, 1))
