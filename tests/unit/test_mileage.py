"""Mileage versions as pure data: merging a file into a version, the difference, and
which version is in force for a year (第十五条 列养里程每两年调整一次)."""

from __future__ import annotations

from datetime import date

from roadchief.domain.mileage import (
    MileageEntry,
    describe_diff,
    frozen_years,
    merge_version,
    mileage_diff,
    version_in_force,
)


def entry(metres, town="T1", road_class="村道", village="V1", station=None, listed=True) -> MileageEntry:
    return MileageEntry(
        road_class=road_class, town=town, village=village, station=station, listed_m=metres, is_listed=listed
    )


BASE = {1: entry(1000), 2: entry(2000, town="T2"), 3: entry(500, road_class="镇道", village=None)}


def test_partial_file_merges_into_the_previous_version():
    after = merge_version(BASE, {2: entry(2100, town="T2")}, complete=False)
    assert after == {1: BASE[1], 2: entry(2100, town="T2"), 3: BASE[3]}
    assert BASE[2].listed_m == 2000  # the base is not modified


def test_complete_file_replaces_the_version():
    after = merge_version(BASE, {2: entry(2100, town="T2"), 9: entry(300)}, complete=True)
    assert after == {2: entry(2100, town="T2"), 9: entry(300)}


def test_difference_counts_segments_and_km_per_town():
    after = merge_version(
        BASE,
        {
            2: entry(2100, town="T2"),
            3: entry(500, road_class="镇道", village=None, listed=False),
            9: entry(300, town="T3"),
        },
        complete=False,
    )
    del after[1]
    diff = mileage_diff(BASE, after)
    assert (diff.added, diff.removed, diff.changed) == ((9,), (1,), (2, 3))
    assert diff.town_before == {"T1": 1500, "T2": 2000, "T3": 0}  # every town of either side
    assert diff.town_after == {"T1": 0, "T2": 2100, "T3": 300}
    assert diff.class_before == {"村道": 3000, "镇道": 500} and diff.class_after == {"村道": 2400, "镇道": 0}
    assert (diff.total_before, diff.total_after) == (3500, 2400)
    assert not diff.is_empty


def test_moving_a_segment_to_another_village_is_a_change_without_km():
    diff = mileage_diff(BASE, {**BASE, 1: entry(1000, village="V2")})
    assert diff.changed == (1,) and diff.town_before == diff.town_after and not diff.is_empty


def test_identical_versions_have_no_difference():
    diff = mileage_diff(BASE, dict(BASE))
    assert diff.is_empty and diff.added == diff.removed == diff.changed == ()


def test_description_names_towns_segments_and_totals():
    after = {**BASE, 2: entry(2100, town="T2"), 9: entry(300)}
    lines = describe_diff(
        mileage_diff(BASE, after),
        town_name={"T1": "小坝镇", "T2": "大坝镇"}.get,
        segment_label=lambda key: f"路段{key}",
    )
    text = "\n".join(lines)
    assert "新增 1 段，移除 0 段，变更 1 段" in text
    assert "路段9" in text and "路段2" in text and "2.000 → 2.100" in text
    assert "小坝镇：1.500 → 1.800 km（+0.300）" in text
    assert "大坝镇：2.000 → 2.100 km（+0.100）" in text
    assert "合计：3.500 → 3.900 km（+0.400）" in text


def test_description_of_no_difference():
    assert describe_diff(mileage_diff(BASE, BASE), str, str) == ["列养里程无变化"]


def test_version_in_force_on_first_january_else_first_in_the_year():
    dates = [date(2021, 1, 1), date(2024, 1, 1), date(2025, 7, 1)]
    assert version_in_force(2020, dates) is None
    assert version_in_force(2021, dates) == date(2021, 1, 1)
    assert version_in_force(2023, dates) == date(2021, 1, 1)
    assert version_in_force(2024, dates) == date(2024, 1, 1)
    assert version_in_force(2025, dates) == date(2024, 1, 1)  # the July version starts counting in 2026
    assert version_in_force(2026, dates) == date(2025, 7, 1)
    assert version_in_force(2020, [date(2020, 3, 1), date(2020, 6, 1)]) == date(2020, 3, 1)


def test_frozen_years_when_changing_or_creating_a_version():
    closed = {2022: [1, 2], 2024: [1]}
    dates = [date(2021, 1, 1)]
    # changing the 2021 version touches every closed year it is in force for
    assert frozen_years(closed, dates, dates, changed=date(2021, 1, 1)) == [(2022, [1, 2]), (2024, [1])]
    # a new 2024 version changes 2024's plan (closed Q1) but not 2022's
    assert frozen_years(closed, dates, dates + [date(2024, 1, 1)]) == [(2024, [1])]
    # a new 2025 version changes no closed year
    assert frozen_years(closed, dates, dates + [date(2025, 1, 1)]) == []
    assert frozen_years({}, dates, dates, changed=date(2021, 1, 1)) == []


def test_town_sums_may_count_only_the_funded_classes():
    after = {**BASE, 3: entry(800, road_class="镇道", village=None), 4: entry(900, road_class="市道", village=None)}
    diff = mileage_diff(BASE, after, classes=("镇道", "村道"))
    assert diff.town_after == {"T1": 1800, "T2": 2000}  # the 市道 is not in the plan
    assert diff.class_after == {"村道": 3000, "镇道": 800, "市道": 900}
    text = "\n".join(describe_diff(diff, str, str))
    assert "镇村道合计：3.500 → 3.800 km（+0.300）" in text and "全部列养合计：3.500 → 4.700 km（+1.200）" in text
