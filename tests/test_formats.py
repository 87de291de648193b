"""JSON Schema formats and their normalisation: 统一社会信用代码, mobile numbers, .政务/.公益 names,
English domain names, public IPv4 addresses, e-mail."""

import pytest
from jsonschema import Draft202012Validator
from stdnum.cn import uscc

from app.taskforms.formats import FORMAT_CHECKER, FORMAT_MESSAGES, NORMALISERS, domain_suffix, to_ascii_domain


def conforms(fmt: str, value: object) -> bool:
    """Validate through jsonschema itself, as the form validation will."""
    validator = Draft202012Validator({"format": fmt}, format_checker=FORMAT_CHECKER)
    return validator.is_valid(value)


def test_every_format_has_a_chinese_message() -> None:
    assert set(FORMAT_MESSAGES) == set(FORMAT_CHECKER.checkers)


@pytest.mark.parametrize("fmt", sorted(FORMAT_MESSAGES))
def test_non_strings_are_left_to_the_type_keyword(fmt: str) -> None:
    assert conforms(fmt, 12345)


# --- 统一社会信用代码 (GB 32100, embedded GB 11714) ---


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341L",
        "11110000000012343B",  # 机关
        "12440300455500001A",  # 事业单位
        "51110000500000015U",  # 社会团体
        "1111000000000006XN",  # 组织机构代码 check 10 → X
        "12110000000000190J",  # 组织机构代码 check 11 → 0
    ],
)
def test_uscc_with_both_check_characters_right_is_accepted(code: str) -> None:
    assert conforms("uscc", code)


def test_uscc_with_a_wrong_final_check_character_is_rejected() -> None:
    assert not conforms("uscc", "91110000600037341M")


def test_uscc_with_a_wrong_embedded_organisation_code_check_is_rejected() -> None:
    code = "11110000000012344E"  # final check recomputed, so stdnum alone accepts it
    assert uscc.is_valid(code)
    assert not conforms("uscc", code)


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341l",  # stored upper-case only
        "9111 0000 6000 3734 1L",
        "91110000600037341",
        "91110000600037341LL",
        "9111000060003734IL",  # I is not in the alphabet
    ],
)
def test_uscc_must_be_exactly_18_characters_of_the_gb_32100_alphabet(code: str) -> None:
    assert not conforms("uscc", code)


def test_uscc_starting_with_a_letter_is_rejected_as_stdnum_requires_digits() -> None:
    assert not conforms("uscc", "Y1110000600037341L")


# --- Mobile numbers ---


@pytest.mark.parametrize("number", ["13800138000", "15912345678", "19912345678"])
def test_mobile_is_eleven_digits_starting_1_then_3_to_9(number: str) -> None:
    assert conforms("cn-mobile", number)


@pytest.mark.parametrize(
    "number",
    [
        "+8613800138000",
        "008613800138000",
        "8613800138000",
        "12345678901",
        "1380013800",
        "138001380001",
        "138 0013 8000",
        "138-0013-8000",
        "１３８００１３８０００",  # full-width digits
        "13800138000\n",
    ],
)
def test_mobile_is_stored_without_prefixes_or_separators(number: str) -> None:
    assert not conforms("cn-mobile", number)


# --- .政务 / .公益 names ---


@pytest.mark.parametrize(
    "name",
    [
        "中央编办.政务",
        "国务院.政务",
        "红十字会.公益",
        "鄂尔多斯市东胜区人民政府办公室.政务",  # 15 characters, 51 octets
        "北京市东城区人民政府东华门街道办事处.政务",  # 18 characters, 57 octets
        "12345中国.公益",
        "中国-abc.政务",
    ],
)
def test_registrable_chinese_names_are_accepted(name: str) -> None:
    assert conforms("cn-domain", name)


def test_a_label_over_63_octets_after_punycode_is_rejected() -> None:
    assert not conforms("cn-domain", "内蒙古自治区鄂尔多斯市东胜区人民政府办公室.政务")  # 21 characters


def test_all_levels_together_are_limited_to_31_characters() -> None:
    assert conforms("cn-domain", "a" * 28 + "中.政务")  # 29 + 2
    too_long = "a" * 29 + "中.政务"  # 30 + 2, yet well under 63 octets
    assert to_ascii_domain(too_long)
    assert not conforms("cn-domain", too_long)


@pytest.mark.parametrize(
    "name",
    [
        "中央编办.com",
        "中央编办.政务.cn",  # a DNS alias, not the registered name
        "中央编办",
        ".政务",
        "www.中央编办.政务",
    ],
)
def test_name_must_be_one_label_before_the_政务_or_公益_suffix(name: str) -> None:
    assert not conforms("cn-domain", name)


@pytest.mark.parametrize(
    "name",
    [
        "abc.政务",  # no Chinese character
        "中央（编办）.政务",  # full-width parentheses
        "中央·编办.政务",
        "中央 编办.政务",
        "中央编办。政务",  # ideographic full stop: normalise before storing
        "Zhong中央.政务",  # upper case
        "-中央.政务",
        "中央-.政务",
        "ab--中央.政务",  # hyphens in positions 3 and 4
    ],
)
def test_label_has_a_chinese_character_and_only_letters_digits_and_inner_hyphens(name: str) -> None:
    assert not conforms("cn-domain", name)


@pytest.mark.parametrize(
    ("name", "a_label"),
    [
        ("政务", "xn--zfr164b"),
        ("公益", "xn--55qw42g"),
        ("政务.cn", "xn--zfr164b.cn"),
        ("中央编办.政务", "xn--fiq11i8xgb87b.xn--zfr164b"),
        ("中央机构编制委员会办公室", "xn--fiq7vw9cbxa5o06fttm8jbp9hi71bjxag80t"),
    ],
)
def test_punycode_uses_idna2008(name: str, a_label: str) -> None:
    assert to_ascii_domain(name) == a_label


@pytest.mark.parametrize(("name", "suffix"), [("中央编办.政务", "政务"), ("红十字会.公益", "公益")])
def test_domain_suffix_names_the_registry(name: str, suffix: str) -> None:
    assert domain_suffix(name) == suffix


def test_domain_suffix_refuses_other_names() -> None:
    with pytest.raises(ValueError):
        domain_suffix("example.com")


# --- IPv4 ---


@pytest.mark.parametrize("address", ["1.2.3.4", "8.8.8.8", "202.96.134.133", "223.5.5.5"])
def test_ipv4_is_a_public_dotted_quad(address: str) -> None:
    assert conforms("ipv4", address)


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",  # this network
        "127.0.0.1",  # loopback
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # link-local (cloud metadata)
        "100.64.0.1",  # CGNAT shared space
        "224.0.0.1",  # multicast
        "255.255.255.255",  # broadcast
        "192.0.2.10",  # documentation
        "198.51.100.7",
        "203.0.113.9",
        "240.0.0.1",  # reserved
    ],
)
def test_ipv4_refuses_addresses_that_are_not_public(address: str) -> None:
    assert not conforms("ipv4", address)


@pytest.mark.parametrize(
    "address",
    ["01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4 ", "1.2.3.4/24", "0x1.2.3.4", "::1", "16909060"],
)
def test_ipv4_rejects_leading_zeros_other_notations_and_ipv6(address: str) -> None:
    assert not conforms("ipv4", address)


# --- E-mail ---


@pytest.mark.parametrize("address", ["a@b.cn", "zhang.san+form@gov.cn", "x" * 64 + "@" + "m" * 48 + ".gov.cn"])
def test_email_has_a_dot_atom_and_a_domain_name(address: str) -> None:
    assert conforms("email", address)


@pytest.mark.parametrize(
    "address",
    [
        "a@b",
        "a b@c.cn",
        "a@@b.cn",
        "@b.cn",
        "a@.cn",
        "a@b.",
        "ab.cn",
        "a..b@c.cn",
        ".a@c.cn",
        '"a b"@c.cn',  # quoted local parts are legal in RFC 5322 but not accepted here
        "a@[127.0.0.1]",  # address literals
        "a@[IPv6:::1]",
        "a@127.0.0.1",
        "a@localhost",
        "a@B.CN",  # stored with the domain in lower case (normalised before the check)
        "x" * 65 + "@gov.cn",  # local part over 64
        "x" * 60 + "@" + "m" * 60 + ".gov.cn",  # over 120 in all
    ],
)
def test_email_rejects_malformed_literal_or_over_long_addresses(address: str) -> None:
    assert not conforms("email", address)


# --- English domain names ---


@pytest.mark.parametrize("name", ["ordos.gov.cn", "www.gov.cn", "a-b.example.com"])
def test_hostname_is_an_ascii_domain_name(name: str) -> None:
    assert conforms("hostname", name)


@pytest.mark.parametrize(
    "name", ["ORDOS.GOV.CN", "http://ordos.gov.cn", "ordos.gov.cn/path", "ordos", "-a.cn", "a_b.cn"]
)
def test_hostname_refuses_schemes_paths_and_upper_case(name: str) -> None:
    assert not conforms("hostname", name)


# --- Normalisation before the check ---


@pytest.mark.parametrize(
    ("fmt", "typed", "stored"),
    [
        ("cn-domain", "中央编办。政务", "中央编办.政务"),  # ideographic full stop
        ("cn-domain", "中央编办．政务", "中央编办.政务"),  # full-width full stop
        ("cn-domain", "中央编办｡政务", "中央编办.政务"),  # half-width ideographic full stop
        ("cn-domain", "xn--fiq11i8xgb87b.xn--zfr164b", "中央编办.政务"),  # A-labels shown as U-labels
        ("cn-domain", "XN--FIQ11I8XGB87B.xn--zfr164b", "中央编办.政务"),
        ("cn-domain", "ABC中国.公益", "abc中国.公益"),  # case folded
        ("hostname", "ORDOS.GOV.CN", "ordos.gov.cn"),
        ("hostname", "ordos。gov。cn", "ordos.gov.cn"),
        ("uscc", "11110000000012343b", "11110000000012343B"),
        ("cn-mobile", "138 0013 8000", "13800138000"),
        ("cn-mobile", "+86 138-0013-8000", "13800138000"),
        ("cn-mobile", "008613800138000", "13800138000"),
        ("email", "Zhang@Example.CN", "Zhang@example.cn"),
    ],
)
def test_values_are_normalised_to_the_one_stored_form(fmt: str, typed: str, stored: str) -> None:
    assert NORMALISERS[fmt](typed) == stored
    assert conforms(fmt, stored)
