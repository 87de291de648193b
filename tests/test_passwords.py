"""Password rules (DOMAIN.md §7.1 a): the seed's rule for units, a stricter one for staff, history and age.

1. Units keep seed 003's rule (8–16 letters and digits); staff passwords need 3 of the 4 character classes.
2. A password holding the user name or easily guessed is refused; every problem is named at once.
3. A change may not go back to any of the last PASSWORD_HISTORY passwords; only that many hashes are kept.
4. A staff password expires PASSWORD_MAX_AGE_DAYS after it was set: from PASSWORD_WARN_DAYS before, every
   page says so; once expired the account can do nothing but choose a new one. Unit passwords do not expire.
5. An account an admin or `flask users create` makes must choose its own password at the first login;
   the demo accounts, seeded by set-up, need not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import PasswordHistory, User
from app.services import accounts
from app.services.demo import DEMO_PASSWORD
from tests.second_factor_login import log_in

STAFF_RULE = "至少包含大写字母、小写字母、数字、符号中的三类"


def _user(name: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == name))  # type: ignore[return-value]


def _change(client: Any, current: str, new: str) -> Any:
    return client.post("/account/password", data={"current": current, "password": new, "confirm": new})


def _password_set_days_ago(name: str, days: int) -> None:
    _user(name).password_changed_at = datetime.now(UTC) - timedelta(days=days)
    db.session.commit()


@pytest.mark.parametrize(
    ("password", "unit_ok", "staff_ok"),
    [
        ("kx7mq2wzr", True, False),  # letters and digits: the seed's rule, two classes only
        ("Kx7mq2wzr", True, True),  # upper, lower, digit
        ("kx7-mq2wzr", True, True),  # lower, digit, symbol
        ("Kx7mq2wzr8Lp4Vn9", True, True),  # 16 characters
        ("Kx7mq2wzr8Lp4Vn9Tb", False, True),  # over 16: the seed's limit for units, staff may go to 64
        ("Kx7-mq", False, False),  # too short for both
    ],
)
def test_units_follow_the_seed_rule_and_staff_need_three_character_classes(
    app: Flask, password: str, unit_ok: bool, staff_ok: bool
) -> None:
    assert (not accounts.password_refusals(password, "someone")) is unit_ok
    assert (not accounts.password_refusals(password, "someone", staff=True)) is staff_ok


def test_a_staff_password_names_every_problem_at_once_beside_the_field(login: Any) -> None:
    client = login("admin")
    bad = "kangbashi1"  # two classes, holds the user name, easily guessed
    response = client.post(
        "/admin/users/new",
        data={
            "username": "kangbashi",
            "display_name": "审核员",
            "role": "编办",
            "office": "编办:150600",
            "password": bad,
            "confirm": bad,
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert STAFF_RULE in page and "密码不能包含用户名" in page and accounts.WEAK_PASSWORD in page
    assert _user("kangbashi") is None


@pytest.mark.parametrize("weak", ["Admin@123", "P@ssw0rd", "Password1!", "Woaini1314!"])
def test_common_staff_passwords_are_refused(login: Any, weak: str) -> None:
    response = _change(login("bianban"), DEMO_PASSWORD, weak)
    assert response.status_code == 400 and "密码过于简单或常见" in response.get_data(as_text=True)


def test_none_of_the_last_five_passwords_comes_back(app: Flask, login: Any) -> None:
    client = login("bianban")
    chosen = [f"Ordos-{n}-kq7Z" for n in range(1, 7)]
    current = DEMO_PASSWORD
    for password in chosen:
        assert _change(client, current, password).status_code == 302
        current = password
    bianban = _user("bianban")
    assert db.session.scalar(select(func.count()).where(PasswordHistory.user_id == bianban.id)) == 5

    refused = _change(client, current, chosen[1])  # the fifth last, the current one counted
    assert refused.status_code == 400 and "新密码不能与最近5次使用过的密码相同" in refused.get_data(as_text=True)
    assert _change(client, current, chosen[-1]).status_code == 400  # the current one
    assert _change(client, current, chosen[0]).status_code == 302  # the sixth last is free again


def test_a_wrong_current_password_is_named_with_the_rule_and_old_passwords_are_not_probed(login: Any) -> None:
    response = _change(login("bianban"), "wrong-pass1", DEMO_PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "当前密码不正确" in page and STAFF_RULE in page  # both at once
    assert "不能与当前密码相同" not in page  # nothing said about the account's passwords without the current one


def test_a_staff_password_warns_before_it_expires(app: Flask, login: Any) -> None:
    client = login("bianban")
    _password_set_days_ago("bianban", 90 - 15)
    assert "您的密码将在" not in client.get("/review/").get_data(as_text=True)

    _password_set_days_ago("bianban", 90 - 10)
    page = client.get("/review/").get_data(as_text=True)
    assert "您的密码将在 10 天后过期" in page and "/account/password" in page
    assert "您的密码将在 10 天后过期" in client.get("/messages/").get_data(as_text=True)  # every page

    assert _change(client, DEMO_PASSWORD, "Ordos-fresh-7Q").status_code == 302
    assert "您的密码将在" not in client.get("/review/").get_data(as_text=True)


def test_an_expired_staff_password_allows_nothing_but_a_change(app: Flask, client: Any, demo: dict[str, Any]) -> None:
    _password_set_days_ago("bianban", 91)
    response = log_in(client, "bianban", DEMO_PASSWORD)
    assert response.headers["Location"].endswith("/account/password")
    assert "已经过期" in client.get("/account/password").get_data(as_text=True)
    assert client.get("/review/").headers["Location"].endswith("/account/password")

    assert _change(client, DEMO_PASSWORD, "Ordos-fresh-7Q").status_code == 302
    assert client.get("/review/").status_code == 200


def test_unit_passwords_do_not_expire(app: Flask, login: Any) -> None:
    client = login("unit1")
    _password_set_days_ago("unit1", 400)
    page = client.get("/unit/")
    assert page.status_code == 200 and "您的密码将在" not in page.get_data(as_text=True)


def test_accounts_made_by_an_admin_or_the_cli_choose_their_own_password_at_first_login(
    app: Flask, client: Any, demo: dict[str, Any]
) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "create", "zhengce2", "--role", "政策", "--name", "政策员二", "--password", "Studio-42-kq"]
    )
    assert result.exit_code == 0, result.output
    assert _user("zhengce2").must_change_password

    response = log_in(client, "zhengce2", "Studio-42-kq")  # a new account: enrols its second factor first
    assert 'href="/account/password"' in response.get_data(as_text=True)  # then goes on to its own password
    assert client.get("/studio/").headers["Location"].endswith("/account/password")
    same = _change(client, "Studio-42-kq", "Studio-42-kq")
    assert same.status_code == 400 and "新密码不能与当前密码相同" in same.get_data(as_text=True)
    assert _change(client, "Studio-42-kq", "Policy-Own-9x").status_code == 302
    assert client.get("/studio/").status_code == 200


def test_demo_accounts_need_no_change_at_first_login(client: Any, demo: dict[str, Any]) -> None:
    response = log_in(client, "bianban", DEMO_PASSWORD)
    assert response.headers["Location"].endswith("/review/")
    assert client.get("/review/").status_code == 200
