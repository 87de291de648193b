"""The public 办事指南 lists every deployed procedure with the guide text and stages from its diagram."""

from __future__ import annotations

from typing import Any


def test_the_guide_lists_the_four_procedures_from_their_diagrams(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    for title in ("域名注册", "域名续费", "党政机关网站开办审核/资格复核", "事业单位和社会组织网站标识申请"):
        assert title in page
    for stage in ("初审中", "复审中", "待提交纸质材料", "待缴费", "注册成功"):
        assert f"<span>{stage}</span>" in page


def test_health_check(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
