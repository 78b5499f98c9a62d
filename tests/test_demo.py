"""`python -m bot demo` as a newcomer runs it: no token, no network, a month of reporting."""
from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from tests.test_cli import run


def test_the_demo_plays_a_month_and_writes_its_chart_and_spreadsheet(tmp_path: Path) -> None:
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for moment in ("Kính gửi đồng chí", "⏰ Nhắc", "đã quá hạn", "📊 Tổng hợp chuyển đổi số — tháng 4/2025",
                   "🚨 Quá hạn", "❌ Chỉ tiêu 2: tỷ lệ phải từ 0 đến 100%", "✏️ Đã sửa chỉ tiêu 6",
                   "Còn thiếu", "chỉ xem được số liệu của đơn vị mình"):
        assert moment in out, moment
    # One officer and one leader on Zalo: numbered choices answered by number, charts by link.
    for moment in ("[Hoa (phường Kim Sơn) @ Zalo] /baocao", "Trả lời 1, 2, 3", "[Hoa (phường Kim Sơn) @ Zalo] 2",
                   "[ảnh: https://bot.example.gov.vn/files/"):
        assert moment in out, moment
    png = (tmp_path / "demo-output" / "summary.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    book = load_workbook(tmp_path / "demo-output" / "results.xlsx", read_only=True)
    assert "Tỷ lệ báo cáo" in book.sheetnames
    book.close()
