"""GPX 1.1 in and out for patrol tracks: read the <trkpt>s of an upload (stdlib expat, no
DTD or entities accepted), write a stored track back as GPX."""

from __future__ import annotations

import xml.parsers.expat
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from roadchief.domain import clock
from roadchief.services import ServiceError

GPX_NS = "http://www.topografix.com/GPX/1/1"
MAX_GPX_BYTES = 8 * 1024 * 1024


class _Reader:
    def __init__(self, parser):
        self.parser = parser
        self.points: list[tuple[float, float, float]] = []
        self.current: dict | None = None
        self.in_time = False
        self.text: list[str] = []
        self.root_seen = False

    def where(self) -> str:
        return f"第 {self.parser.CurrentLineNumber} 行"

    def start(self, name, attrs):
        local = name.rsplit(" ", 1)[-1]
        if not self.root_seen:
            self.root_seen = True
            if local != "gpx":
                raise ServiceError(f"GPX 文件的根元素应为 <gpx>，{self.where()}是 <{local}>")
        if local == "trkpt":
            number = len(self.points) + 1
            try:
                lat, lon = float(attrs["lat"]), float(attrs["lon"])
            except KeyError as missing:
                raise ServiceError(f"GPX 第 {number} 个轨迹点（{self.where()}）缺少 {missing.args[0]} 属性") from None
            except ValueError:
                raise ServiceError(f"GPX 第 {number} 个轨迹点（{self.where()}）的经纬度不是数字") from None
            self.current = {"lat": lat, "lon": lon, "line": self.parser.CurrentLineNumber, "t": None}
        elif local == "time" and self.current is not None:
            self.in_time, self.text = True, []

    def end(self, name):
        local = name.rsplit(" ", 1)[-1]
        if local == "time" and self.in_time and self.current is not None:
            self.in_time = False
            text = "".join(self.text).strip()
            try:
                moment = clock.to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
            except (ValueError, TypeError, clock.NaiveDatetimeError):
                number = len(self.points) + 1
                raise ServiceError(
                    f"GPX 第 {number} 个轨迹点（第 {self.current['line']} 行）的时间“{text[:40]}”"
                    "不是带时区的 ISO 8601 时间"
                ) from None
            self.current["t"] = moment.timestamp()
        elif local == "trkpt" and self.current is not None:
            point, self.current = self.current, None
            if point["t"] is None:
                raise ServiceError(f"GPX 第 {len(self.points) + 1} 个轨迹点（第 {point['line']} 行）缺少 <time>")
            self.points.append((point["lon"], point["lat"], point["t"]))

    def chars(self, data):
        if self.in_time:
            self.text.append(data)


def _refuse_dtd(*_args):
    raise ServiceError("GPX 文件不能包含 DOCTYPE 或实体声明")


def parse_gpx(data: bytes) -> list[tuple[float, float, float]]:
    """The (lon, lat, t) track points of a GPX file, in file order. ServiceError naming the
    line or the point when the file is not well-formed or a point lacks a value."""
    if not data or not data.strip():
        raise ServiceError("GPX 文件为空")
    if len(data) > MAX_GPX_BYTES:
        raise ServiceError(f"GPX 文件过大（上限 {MAX_GPX_BYTES // 1024 // 1024} MB）")
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    reader = _Reader(parser)
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.chars
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as error:
        message = xml.parsers.expat.ErrorString(error.code)
        raise ServiceError(f"GPX 文件格式错误（第 {error.lineno} 行第 {error.offset + 1} 列）：{message}") from None
    if not reader.points:
        raise ServiceError("GPX 文件中没有轨迹点（<trkpt>）")
    return reader.points


def _iso(t: float) -> str:
    ms = int(round(t * 1000))
    text = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms % 1000:03d}Z" if ms % 1000 else f"{text}Z"


def track_gpx(name: str, points: list[list[float]], description: str = "") -> str:
    """GPX 1.1 text of one track (times in UTC, as GPX requires)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<gpx version="1.1" creator="roadchief" xmlns="{GPX_NS}">',
        f"  <trk><name>{escape(name)}</name><desc>{escape(description)}</desc><trkseg>",
    ]
    lines += [
        f"    <trkpt lat={quoteattr(f'{lat:.7f}')} lon={quoteattr(f'{lon:.7f}')}><time>{_iso(t)}</time></trkpt>"
        for lon, lat, t in points
    ]
    lines += ["  </trkseg></trk>", "</gpx>", ""]
    return "\n".join(lines)
