"""Every PDF the offices print embeds every font it references (pdffonts: emb yes), so it
prints the same on any machine and pdftotext returns the Chinese."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import select

from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import Road

pytestmark = pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler-utils (pdffonts) not installed")


def _fonts(path) -> list[tuple[str, str]]:
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    return [(line.split()[0], line.split()[-5]) for line in lines if line.strip()]


def test_every_pdf_embeds_all_its_fonts(demo_runner, tmp_path):
    code = db.session.scalar(select(Road.code).where(Road.road_class == "村道").limit(1))
    commands = {
        "plan": ["funding", "plan", "2022", "--pdf"],
        "quarter": ["funding", "quarter", "2022", "1", "--pdf"],
        "settlement": ["funding", "settle", "2022", "--pdf"],
        "bulletin": ["inspections", "bulletin", "2022", "1", "--pdf"],
        "works": ["ops", "plan-report", "2022", "--pdf"],
        "road_file": ["ops", "road-file", code, "-o"],
    }
    for name, args in commands.items():
        path = tmp_path / f"{name}.pdf"
        result = demo_runner.invoke(main, [*args, str(path)])
        assert result.exit_code == 0, (name, result.output)
        fonts = _fonts(path)
        assert fonts, name
        assert all(embedded == "yes" for _, embedded in fonts), (name, fonts)
        assert any("WenQuanYi" in font for font, _ in fonts), (name, fonts)
