"""Proof of patrol (domain.patrol_proof): coverage, speed sanity, gaps, minimums, desk inspections."""

from __future__ import annotations

import pytest

from roadchief.domain import patrol_proof as proof
from tests.patrol_traces import line_length_m, shift, trace

# a bent road near 青铜峡 (about 3.4 km)
ROAD = [[106.00, 38.00], [106.02, 38.002], [106.03, 38.015]]
GEOJSON = {"type": "LineString", "coordinates": ROAD}


def judge(points, rules=proof.DEFAULT_RULES):
    fixes = proof.project(points)
    track_legs = proof.legs(fixes, rules)
    result = proof.coverage(proof.plane_line(GEOJSON), proof.corridors(track_legs, rules), rules)
    summary = proof.summarise(fixes, rules)
    return summary, result, proof.flags(summary, [result], rules)


def test_faithful_drive_at_20_kmh_covers_the_segment():
    summary, result, flags = judge(trace(ROAD, speed_kmh=20, offset_m=8))
    assert result.coverage_permille >= 900
    assert result.covered and not result.driven_past
    assert abs(summary.length_m - line_length_m(ROAD)) < 30
    assert 19 <= summary.max_speed_kmh <= 21
    assert summary.duration_s == pytest.approx(line_length_m(ROAD) / (20 / 3.6), abs=6)
    assert flags == ()
    assert proof.passes(flags)


def test_a_trace_skipping_half_the_segment_covers_about_half():
    summary, result, flags = judge(trace(ROAD, 0.0, 0.5, speed_kmh=20))
    assert 450 <= result.coverage_permille <= 550
    assert not result.covered
    assert "low_coverage" in flags
    assert not proof.passes(flags)


def test_the_same_road_at_100_kmh_is_driven_past_and_covers_nothing():
    summary, result, flags = judge(trace(ROAD, speed_kmh=100, every_s=2))
    assert result.coverage_permille < 30  # only the trace's short last leg is slow
    assert result.driven_past and not result.covered
    assert "driven_past" in flags and "short_duration" in flags
    assert summary.max_speed_kmh >= 95


def test_a_track_far_from_the_road_does_not_cover_it():
    _, result, _ = judge(trace(ROAD, speed_kmh=20, offset_m=60))
    assert result.coverage_permille == 0 and not proof.touches(result)


def test_buffer_is_a_rule():
    wide = proof.check_rules({"buffer_m": "80"})
    _, result, _ = judge(trace(ROAD, speed_kmh=20, offset_m=60), wide)
    assert result.coverage_permille >= 900


def test_gaps_and_jumps_are_flagged_and_cover_nothing():
    first = trace(ROAD, 0.0, 0.4, speed_kmh=20)
    second = shift(trace(ROAD, 0.6, 1.0, speed_kmh=20), first[-1][2] - first[0][2] + 10)  # 700 m in 15 s
    summary, result, flags = judge(first + second)
    assert [g.point for g in summary.gaps] == [len(first) + 1]
    assert summary.gaps[0].metres > 600
    assert "gap" in flags
    assert 750 <= result.coverage_permille <= 850  # the jumped-over fifth is not covered

    paused = first + shift(trace(ROAD, 0.4, 1.0, speed_kmh=20), 600)  # stood still 10 minutes
    summary, result, flags = judge(paused)
    assert summary.gaps and summary.gaps[0].seconds > proof.DEFAULT_RULES.max_gap_s
    assert result.coverage_permille >= 900  # no distance jumped, so nothing is lost


def test_minimum_duration_and_length():
    points = trace(ROAD, 0.0, 0.1, speed_kmh=20)  # 340 m in about a minute
    summary, _, flags = judge(points)
    assert {"short_duration", "short_length"} <= set(flags)
    relaxed = proof.check_rules({"min_duration_s": "0", "min_length_m": "0", "coverage_pct": "5"})
    _, _, flags = judge(points, relaxed)
    assert flags == ()


def test_desk_inspection_distance():
    assert proof.desk_suspect(5000)
    assert not proof.desk_suspect(1000)  # exactly the limit is not suspect
    assert not proof.desk_suspect(None)
    assert proof.desk_suspect(600, proof.check_rules({"desk_distance_m": "500"}))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"buffer_m": "abc"}, "缓冲距离（米）应为整数"),
        ({"coverage_pct": "0"}, "覆盖率阈值（%）应在 1–100 之间"),
        ({"max_speed_kmh": "500"}, "最高巡查车速（km/h）应在 5–150 之间"),
    ],
)
def test_rule_values_are_checked(values, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        proof.check_rules(values)


def test_same_second_fixes_are_merged_not_infinite_speed():
    points = trace(ROAD, speed_kmh=20)
    doubled = [points[0], (points[0][0], points[0][1], points[0][2])] + points[1:]
    summary, result, _ = judge(doubled)
    assert summary.max_speed_kmh <= 21 and result.covered


def test_month_duty_met_needs_one_supervision_not_suspected_of_being_made_at_a_desk():
    # 一月一督查 (第二十一条): no 督查 is not met; only suspects are not met; one on-site is enough
    assert not proof.month_duty_met([])
    assert not proof.month_duty_met([5000])
    assert not proof.month_duty_met([5000, 1001])
    assert proof.month_duty_met([5000, 1000])
    assert proof.month_duty_met([0])
    # no GPS point: unverified, not a suspect (as desk_suspect), so the duty is met
    assert proof.month_duty_met([None])
    # the office's distance decides
    assert proof.month_duty_met([5000], proof.PatrolRules(desk_distance_m=8000))
