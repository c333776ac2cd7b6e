"""Consistency checks for the reference data in admin_config/ (regions, titles, specialties)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

CONFIG_DIR = Path(__file__).parents[2] / "admin_config"

REGION_LEVELS = {"province", "province_own", "city", "city_own", "county"}
CATEGORIES = {"工程技术人员", "农业技术人员", "科学研究人员", "卫生技术人员", "教学人员", "其他"}
HEALTH_LINES = {"医疗", "药学", "护理", "技术"}

# The 27 series of the national list (人社部, 2021-11-02).
NATIONAL_SERIES = {
    "高等学校教师",
    "哲学社会科学研究人员",
    "自然科学研究人员",
    "卫生技术人员",
    "工程技术人员",
    "农业技术人员",
    "新闻专业人员",
    "出版专业人员",
    "图书资料专业人员",
    "文物博物专业人员",
    "档案专业人员",
    "工艺美术专业人员",
    "技工院校教师",
    "体育专业人员",
    "翻译专业人员",
    "播音主持专业人员",
    "艺术专业人员",
    "公共法律服务专业人员",
    "船舶专业技术人员",
    "民用航空飞行技术人员",
    "经济专业人员",
    "会计人员",
    "统计专业人员",
    "审计专业人员",
    "中等职业学校教师",
    "中小学教师",
    "实验技术人才",
}


def _load(name: str) -> Any:
    with (CONFIG_DIR / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def regions() -> list[dict[str, Any]]:
    data = _load("regions.yaml")
    assert isinstance(data, list) and data, "regions.yaml must be a non-empty list"
    return data


@pytest.fixture(scope="module")
def titles() -> dict[str, Any]:
    data = _load("titles.yaml")
    assert isinstance(data, dict) and data.get("levels") and data.get("series")
    return data


@pytest.fixture(scope="module")
def specialties() -> dict[str, list[dict[str, Any]]]:
    data = _load("specialties.yaml")
    assert isinstance(data, dict) and data, "specialties.yaml must be a non-empty mapping"
    return data


def _walk(
    nodes: list[dict[str, Any]], parent: dict[str, Any] | None = None
) -> Iterator[tuple[dict, dict | None]]:
    for node in nodes:
        yield node, parent
        yield from _walk(node.get("children") or [], node)


def _cities(regions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [node for node, _ in _walk(regions) if node["level"] == "city"]


# ---------------------------------------------------------------------------------------------- regions


def test_region_codes_are_unique_quoted_strings(regions):
    codes = [node["code"] for node, _ in _walk(regions)]
    assert all(isinstance(code, str) for code in codes), "codes must be quoted strings, not integers"
    duplicates = [code for code, n in Counter(codes).items() if n > 1]
    assert duplicates == []
    assert len(codes) == 1 + 1 + 21 + 21 + 183


def test_region_levels_are_known_and_counted(regions):
    counts = Counter(node["level"] for node, _ in _walk(regions))
    assert set(counts) <= REGION_LEVELS
    assert counts == {"province": 1, "province_own": 1, "city": 21, "city_own": 21, "county": 183}


def test_province_root_and_own_node(regions):
    assert len(regions) == 1
    province = regions[0]
    assert (province["code"], province["name"], province["level"]) == ("510000", "四川省", "province")
    own = [c for c in province["children"] if c["level"] == "province_own"]
    assert own == [{"code": "510000B", "name": "省本级", "level": "province_own"}]
    assert {c["level"] for c in province["children"]} == {"province_own", "city"}


def test_exactly_21_city_level_nodes(regions):
    cities = _cities(regions)
    assert len(cities) == 21
    for city in cities:
        assert re.fullmatch(r"51\d{2}00", city["code"]), city
    prefectures = [c["name"] for c in cities if c["name"].endswith("自治州")]
    assert sorted(prefectures) == sorted(["阿坝藏族羌族自治州", "甘孜藏族自治州", "凉山彝族自治州"])


def test_each_city_has_exactly_one_city_own_child_first(regions):
    for city in _cities(regions):
        children = city["children"]
        own = [c for c in children if c["level"] == "city_own"]
        assert len(own) == 1, city["name"]
        assert children[0] is own[0], f"市本级 must be the first child of {city['name']}"
        assert own[0]["code"] == city["code"] + "B"
        assert own[0]["name"] == "市本级"


def test_county_codes_are_six_digits_under_their_city(regions):
    seen = 0
    for city in _cities(regions):
        counties = [c for c in city["children"] if c["level"] == "county"]
        assert counties, f"{city['name']} has no county-level division"
        for county in counties:
            assert re.fullmatch(r"\d{6}", county["code"]), county
            assert county["code"][:4] == city["code"][:4], (city["name"], county)
            assert not county["code"].endswith("00"), county
            assert not county.get("children"), county
            seen += 1
    assert seen == 183


def test_no_statistical_only_zones(regions):
    # 统计用区划代码 7x (经济开发区 etc.) are not GB/T 2260 administrative divisions.
    for node, _ in _walk(regions):
        if node["level"] == "county":
            assert node["code"][4] != "7", node


@pytest.mark.parametrize(
    ("code", "name", "parent_code"),
    [
        ("510100", "成都市", "510000"),
        ("510104", "锦江区", "510100"),
        ("510105", "青羊区", "510100"),
        ("510118", "新津区", "510100"),
        ("510185", "简阳市", "510100"),
        ("511100", "乐山市", "510000"),
        ("511102", "市中区", "511100"),
        ("511181", "峨眉山市", "511100"),
        ("511002", "市中区", "511000"),
        ("513400", "凉山彝族自治州", "510000"),
        ("513401", "西昌市", "513400"),
        ("513402", "会理市", "513400"),
        ("513201", "马尔康市", "513200"),
        ("513301", "康定市", "513300"),
    ],
)
def test_region_spot_checks(regions, code, name, parent_code):
    found = [(node, parent) for node, parent in _walk(regions) if node["code"] == code]
    assert len(found) == 1, code
    node, parent = found[0]
    assert node["name"] == name
    assert parent is not None and parent["code"] == parent_code


# ----------------------------------------------------------------------------------------------- titles


def test_title_levels_are_ranked(titles):
    levels = titles["levels"]
    assert [lv["code"] for lv in levels] == [
        "senior_full",
        "senior_deputy",
        "intermediate",
        "assistant",
        "junior",
    ]
    assert [lv["rank"] for lv in levels] == [1, 2, 3, 4, 5]
    assert [lv["grade"] for lv in levels] == ["高级", "高级", "中级", "初级", "初级"]


def test_title_level_codes_referenced_exist(titles):
    level_codes = {lv["code"] for lv in titles["levels"]}
    referenced = [t["level"] for s in titles["series"] for t in s["titles"]]
    assert referenced
    unknown = sorted({code for code in referenced if code not in level_codes})
    assert unknown == []


def test_series_codes_and_names_are_unique(titles):
    series = titles["series"]
    codes = [s["code"] for s in series]
    names = [s["name"] for s in series]
    assert [c for c, n in Counter(codes).items() if n > 1] == []
    assert [c for c, n in Counter(names).items() if n > 1] == []
    for code in codes:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", code), code


def test_all_national_series_are_present(titles):
    names = {s["name"] for s in titles["series"]}
    assert names == NATIONAL_SERIES


def test_series_categories_and_titles(titles):
    for s in titles["series"]:
        assert s["category"] in CATEGORIES, s["code"]
        assert s["titles"], s["code"]
        names = [t["name"] for t in s["titles"]]
        assert [n for n, c in Counter(names).items() if c > 1] == [], s["code"]
        # Every series reaches at least 副高级 and has an 中级 title.
        levels = {t["level"] for t in s["titles"]}
        assert {"senior_deputy", "intermediate"} <= levels, s["code"]


def test_health_titles_carry_a_line(titles):
    health = next(s for s in titles["series"] if s["name"] == "卫生技术人员")
    lines = [t.get("line") for t in health["titles"]]
    assert set(lines) == HEALTH_LINES
    by_name = {t["name"]: t for t in health["titles"]}
    assert by_name["主任医师"]["level"] == "senior_full"
    assert by_name["主管护师"]["level"] == "intermediate"
    assert by_name["药士"]["level"] == "junior"


def test_known_titles(titles):
    def title(series_name: str, name: str) -> dict[str, Any]:
        s = next(s for s in titles["series"] if s["name"] == series_name)
        return next(t for t in s["titles"] if t["name"] == name)

    assert title("工程技术人员", "正高级工程师")["level"] == "senior_full"
    assert title("工程技术人员", "技术员")["level"] == "junior"
    assert title("高等学校教师", "助教")["level"] == "assistant"
    assert title("中小学教师", "三级教师")["level"] == "junior"
    assert title("会计人员", "助理会计师")["level"] == "assistant"
    assert title("农业技术人员", "农业技术员")["level"] == "junior"


def test_historical_names_map_to_titles_of_the_same_series(titles):
    total = 0
    for s in titles["series"]:
        current = {t["name"] for t in s["titles"]}
        for h in s.get("historical") or []:
            assert h["maps_to"] in current, (s["code"], h)
            assert h["name"] not in current, (s["code"], h)
            assert isinstance(h["valid_to"], str), "valid_to must be a quoted string"
            dt.date.fromisoformat(h["valid_to"])
            total += 1
    assert total > 0


def test_well_known_historical_mappings(titles):
    mapping = {
        (s["name"], h["name"]): h["maps_to"] for s in titles["series"] for h in s.get("historical") or []
    }
    assert mapping[("工程技术人员", "教授级高级工程师")] == "正高级工程师"
    assert mapping[("中小学教师", "中学高级教师")] == "高级教师"
    assert mapping[("中小学教师", "小学高级教师")] == "一级教师"
    assert mapping[("中小学教师", "中学一级教师")] == "一级教师"


# ------------------------------------------------------------------------------------------ specialties


def test_specialty_series_exist_in_titles(specialties, titles):
    series_codes = {s["code"] for s in titles["series"]}
    assert set(specialties) <= series_codes, sorted(set(specialties) - series_codes)
    required = {
        "engineering_technician",
        "health_technician",
        "primary_secondary_teacher",
        "higher_education_teacher",
        "agricultural_technician",
        "economics",
    }
    assert required <= set(specialties)


def test_specialty_codes_are_unique_and_nested(specialties):
    codes: list[str] = []
    for series_code, nodes in specialties.items():
        assert nodes, series_code
        prefixes = set()
        for node, parent in _walk(nodes):
            code = node["code"]
            assert isinstance(code, str) and re.fullmatch(r"[A-Z]{3}-\d{2}(-\d{2})*", code), code
            assert node["name"], code
            if parent is None:
                prefixes.add(code.split("-")[0])
            else:
                assert code.startswith(parent["code"] + "-"), (parent["code"], code)
            codes.append(code)
        assert len(prefixes) == 1, f"{series_code} mixes code prefixes {prefixes}"
    assert len(codes) > 0
    assert [c for c, n in Counter(codes).items() if n > 1] == []


def test_specialty_names_unique_among_siblings(specialties):
    for series_code, nodes in specialties.items():
        for siblings in [nodes] + [n.get("children") or [] for n, _ in _walk(nodes)]:
            names = [n["name"] for n in siblings]
            assert [x for x, c in Counter(names).items() if c > 1] == [], series_code
