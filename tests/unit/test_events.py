"""The event state machine (第十四条 先抢通，后修复) and the duty-period arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from roadchief.domain.events import EventError, EventState, check_record, hours_between, step

T0 = datetime(2026, 7, 20, 8, 0, tzinfo=UTC)


def test_cannot_be_interrupted_without_warning_sign_and_detour():
    with pytest.raises(EventError, match="警示标志.*绕行路线"):
        check_record(EventState(closed=True, occurred_at=T0))
    with pytest.raises(EventError, match="绕行路线"):
        check_record(EventState(closed=True, warning_sign="K3+200 两端设置警示牌", occurred_at=T0))
    with pytest.raises(EventError, match="警示标志"):
        check_record(EventState(closed=True, detour="经 X101 绕行", occurred_at=T0))
    # a drawn detour line counts as a detour
    assert check_record(EventState(closed=True, warning_sign="警示牌", has_detour_line=True, occurred_at=T0))
    # not interrupted: neither is needed
    assert check_record(EventState(closed=False, occurred_at=T0))


def test_whitespace_is_not_a_warning_sign():
    with pytest.raises(EventError):
        check_record(EventState(closed=True, warning_sign="  ", detour="经 X101", occurred_at=T0))


def test_cannot_repair_before_restore():
    event = EventState(occurred_at=T0)
    with pytest.raises(EventError, match="先抢通"):
        step(event, "repair", T0 + timedelta(hours=5))


def test_full_path_with_times():
    event = EventState(closed=True, warning_sign="警示牌", detour="经 X101 绕行", occurred_at=T0)
    restored = step(event, "restore", T0 + timedelta(hours=6))
    assert restored.state == "restored" and not restored.interrupted
    repaired = step(restored, "repair", T0 + timedelta(days=3))
    assert repaired.state == "repaired" and not repaired.open
    assert hours_between(T0, repaired.restored_at) == 6.0
    assert hours_between(T0, repaired.repaired_at) == 72.0


def test_steps_out_of_order_or_time_are_refused():
    event = EventState(occurred_at=T0)
    with pytest.raises(EventError, match="早于发生时间"):
        step(event, "restore", T0 - timedelta(hours=1))
    restored = step(event, "restore", T0 + timedelta(hours=1))
    with pytest.raises(EventError, match="已抢通"):
        step(restored, "restore", T0 + timedelta(hours=2))
    with pytest.raises(EventError, match="早于抢通时间"):
        step(restored, "repair", T0 + timedelta(minutes=30))
    repaired = step(restored, "repair", T0 + timedelta(hours=2))
    with pytest.raises(EventError):
        step(repaired, "repair", T0 + timedelta(hours=3))
    with pytest.raises(EventError):
        step(repaired, "restore", T0 + timedelta(hours=3))
    with pytest.raises(EventError):
        step(event, "close", T0)


def test_after_restore_the_detour_is_no_longer_required():
    restored = EventState(state="restored", closed=True, occurred_at=T0, restored_at=T0 + timedelta(hours=1))
    assert check_record(restored)


def test_duty_periods_split_the_window():
    from roadchief.services.seasonal import periods

    assert periods(date(2026, 6, 1), date(2026, 6, 20), 7) == [
        (date(2026, 6, 1), date(2026, 6, 7)),
        (date(2026, 6, 8), date(2026, 6, 14)),
        (date(2026, 6, 15), date(2026, 6, 20)),
    ]
    assert periods(date(2026, 6, 1), date(2026, 6, 20), None) == [(date(2026, 6, 1), date(2026, 6, 20))]


def test_duty_tags_read_from_the_note():
    from roadchief.services.seasonal import duty_tags

    assert duty_tags("flood", "雨前巡查，边沟通畅") == {"雨前"}
    assert duty_tags("flood", "【雨中】【雨后】") == {"雨中", "雨后"}
    assert duty_tags("winter", "清除积雪，撒铺防滑砂") == {"除雪", "撒砂"}
    assert duty_tags("winter", "撒融雪剂") == {"撒砂"}
    assert duty_tags("flood", "") == set()
