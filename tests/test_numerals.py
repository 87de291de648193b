"""Counts in documents and notices are written in Chinese numerals: 一式三份, 一式两份 (never 一式二份)."""

import pytest

from app.services.numerals import chinese_numeral


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "一"),
        (2, "两"),
        (22, "二十二"),
        (20, "二十"),
        ("3", "三"),
        (10, "十"),
        (12, "十二"),
        (30, "三十"),
        (99, "九十九"),
        ("0", "0"),
        ("x", "x"),
    ],
)
def test_counts_become_chinese_numerals(value: object, expected: str) -> None:
    assert chinese_numeral(value) == expected
