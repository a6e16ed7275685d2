"""Generate a synthetic province-scale network (default 60,000 segments, ~30,000 km)
as GeoJSON with the census column names, for the map and import benchmarks.

    python benchmarks/province.py OUT.geojson [--segments 60000] [--seed 7]

Synthetic: random-walk roads over Ningxia's extent (104.3–107.6°E, 35.3–39.3°N),
assigned to the nearest of the 青铜峡 towns so the importer accepts them.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

TOWNS = {  # name: (lon, lat) — spread over the province so every town gets a share
    "小坝镇": (106.07, 38.02),
    "大坝镇": (105.3, 37.2),
    "青铜峡镇": (104.8, 36.3),
    "叶盛镇": (106.6, 38.9),
    "瞿靖镇": (106.2, 37.6),
    "峡口镇": (105.6, 35.8),
    "邵岗镇": (107.2, 37.0),
    "陈袁滩镇": (106.9, 38.3),
    "树新林场": (105.8, 38.6),
}
EXTENT = (104.3, 35.3, 107.6, 39.3)
M_PER_DEG_LAT = 111_320.0


def nearest_town(lon: float, lat: float) -> str:
    return min(TOWNS, key=lambda t: (TOWNS[t][0] - lon) ** 2 + (TOWNS[t][1] - lat) ** 2)


def walk(rng: random.Random, start: tuple[float, float], metres: int) -> list[list[float]]:
    """A wiggly line of about `metres`, vertices every ~60 m."""
    lon, lat = start
    heading = rng.uniform(0, 2 * math.pi)
    points = [[round(lon, 6), round(lat, 6)]]
    steps = max(2, metres // 60)
    step = metres / steps
    for _ in range(steps):
        heading += rng.uniform(-0.25, 0.25)
        lat += step * math.sin(heading) / M_PER_DEG_LAT
        lon += step * math.cos(heading) / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
        points.append([round(lon, 6), round(lat, 6)])
    return points


def generate(count: int, seed: int) -> dict:
    rng = random.Random(seed)
    features = []
    road_no = 0
    while len(features) < count:
        road_no += 1
        road_class, prefix = rng.choice((("镇道", "Y"), ("村道", "C"), ("村道", "C"), ("市道", "X")))
        code = f"{prefix}{road_no:06d}640381"
        lon, lat = rng.uniform(EXTENT[0] + 0.2, EXTENT[2] - 0.2), rng.uniform(EXTENT[1] + 0.2, EXTENT[3] - 0.2)
        town = nearest_town(lon, lat)
        village = f"{town[:2]}{road_no % 40:02d}村" if road_class == "村道" else ""
        stake = 0
        for _ in range(rng.randint(1, 4)):
            if len(features) >= count:
                break
            metres = rng.randint(200, 800)
            line = walk(rng, (lon, lat), metres)
            lon, lat = line[-1]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": line},
                    "properties": {
                        "路线编码": code,
                        "路线名称": f"合成路{road_no}",
                        "行政等级": road_class,
                        "起点桩号": f"K{stake // 1000}+{stake % 1000:03d}",
                        "止点桩号": f"K{(stake + metres) // 1000}+{(stake + metres) % 1000:03d}",
                        "列养里程": f"{metres // 1000}.{metres % 1000:03d}",
                        "所属乡镇": town,
                        "所属村": village,
                        "技术等级": "四级",
                        "路面类型": "水泥",
                    },
                }
            )
            stake += metres
    return {"type": "FeatureCollection", "name": "synthetic-province", "features": features}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--segments", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data = generate(args.segments, args.seed)
    args.out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    km = sum(int(f["properties"]["列养里程"].replace(".", "")) for f in data["features"]) / 1000
    print(f"wrote {len(data['features'])} segments, {km:.0f} km to {args.out}")


if __name__ == "__main__":
    main()
