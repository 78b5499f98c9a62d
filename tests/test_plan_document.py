"""A new plan from its own document (issue 22): the seed plans rendered as DOCX and PDF in two
layouts read back to the committed files; documents unlike the seeds'; bad documents refused in
one line; the command line's draft, question and import."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from locales import translator
from models.plan_document import DocumentError, read_document
from models.plan_document_files import document_blocks, read_plan_document, units_of
from models.plans import load_plan_file
from tests import plan_documents as docs

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "data" / "plans"
SEEDS = sorted(path.name for path in PLANS.glob("*.yaml"))
T = translator("vi")


@functools.cache
def seed(name: str) -> dict[str, Any]:
    return docs.load_seed(PLANS / name)


@functools.cache
def rendered(name: str, kind: str, layout: str) -> bytes:
    """A seed plan as a document, made once per test session."""
    plan = seed(name)
    return docs.docx_bytes(plan, layout) if kind == "docx" else docs.pdf_bytes(plan, layout)


@functools.cache
def read_back(name: str, kind: str, layout: str) -> tuple[Any, str]:
    return read_plan_document(rendered(name, kind, layout), f"{Path(name).stem}.{kind}", T)


# --- the seeds, written out and read back ------------------------------------------------


@pytest.mark.parametrize("layout", ["a", "b"])
@pytest.mark.parametrize("kind", ["docx", "pdf"])
@pytest.mark.parametrize("name", SEEDS)
def test_a_seed_plan_reads_back_as_committed(name: str, kind: str, layout: str, tmp_path: Path) -> None:
    draft, text = read_back(name, kind, layout)
    committed = seed(name)["indicators"]
    assert len(draft.indicators) == len(committed)
    for got, expected in zip(draft.indicators, committed, strict=True):
        for key in ("text", "target", "lead", "tracking"):
            assert (got.get(key) or None) == (expected.get(key) or None), (expected["code"], key)
        if layout == "a":
            assert (got.get("province_target") or None) == (expected.get("province_target") or None)
    # The draft imports as it is written.
    path = tmp_path / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_plan_file(path)
    assert [i.target_raw for i in spec.indicators] == [i["target"] for i in committed]


@pytest.mark.parametrize("name", SEEDS)
def test_a_seed_plans_head_and_reporting_days_are_read_from_the_body(name: str) -> None:
    draft, _ = read_back(name, "docx", "a")
    committed = seed(name)
    head = draft.plan["plan"]
    assert head["year"] == committed["plan"]["year"]
    assert head.get("document") == committed["plan"].get("document")
    assert head.get("issued_on") == committed["plan"].get("issued_on")
    assert head["title"] == committed["plan"]["title"]
    deadlines = (committed.get("schedule") or {}).get("deadlines") or {}
    if not deadlines:
        assert "schedule" not in draft.plan
        assert any(d.message == "docplan-doubt-no-schedule" for d in draft.doubts)
        return
    read = draft.plan["schedule"]["deadlines"]
    for frequency, rule in deadlines.items():
        assert read[frequency]["day"] == rule["day"], frequency
        assert bool(read[frequency].get("before")) == bool(rule.get("before")), frequency
        if rule.get("month") not in (None, "last"):
            assert read[frequency]["month"] == rule["month"], frequency
    assert "báo cáo" in draft.plan["schedule"]["source"]  # the sentence, quoted


def test_groups_with_restarting_numbers_get_the_groups_code() -> None:
    draft, _ = read_back("dong-trieu-2024.yaml", "pdf", "a")
    codes = [i["code"] for i in draft.indicators]
    assert codes[:4] == ["I.1", "I.2", "I.3", "II.1"]
    assert [g["code"] for g in draft.groups] == ["I", "II", "III", "IV"]
    assert len(set(codes)) == len(codes)


def test_every_value_notes_its_table_and_row_and_each_doubt_sits_beside_its_value() -> None:
    draft, text = read_back("dong-trieu-2025.yaml", "docx", "a")
    assert text.count("# bảng ") >= len(draft.indicators)
    collective = [d for d in draft.doubts if d.message == "docplan-doubt-collective"]
    assert collective and all(d.table and d.row for d in collective)
    line = next(line for line in text.splitlines() if "CẦN XEM" in line and "UBND các xã, phường" in line)
    assert line.lstrip().startswith(("coordinating:", "lead:", "tracking:"))


def test_a_short_name_beside_the_long_one_is_the_same_office() -> None:
    draft, text = read_back("dong-trieu-2025.yaml", "docx", "b")
    units = {u["name"]: u for u in draft.plan["units"]}
    assert "Phòng VHTT" not in units and "Phòng VH&TT" not in units
    assert {"Phòng VHTT", "Phòng VH&TT"} <= set(units["Phòng Văn hóa và Thông tin"]["aliases"])
    assert "Phòng TC-KH" in units["Phòng Tài chính - Kế hoạch"]["aliases"]
    line = next(line for line in text.splitlines() if '"Phòng Văn hóa và Thông tin", kind' in line)
    assert "CẦN XEM: «Phòng VHTT» được hiểu là «Phòng Văn hóa và Thông tin»" in line


# --- documents unlike the seeds' ------------------------------------------------


def test_a_communes_own_document_reads_right() -> None:
    draft = read_document(document_blocks(docs.commune_docx(), "tan-an.docx"), "tan-an.docx")
    head = draft.plan["plan"]
    assert head == {**head, "document": "12/KH-UBND", "issued_on": date(2026, 1, 15), "year": 2026,
                    "issuer": "UBND xã Tân An", "title": "Chuyển đổi số xã Tân An năm 2026"}
    assert draft.plan["schedule"]["deadlines"] == {
        "monthly": {"day": 20, "before": True}, "quarterly": {"day": 15},
        "yearly": {"day": 10, "before": True, "month": 12}}
    rows = {i["code"]: i for i in draft.indicators}
    assert list(rows) == ["1", "2", "3", "4", "5", "6"]
    # The commune's own column is the target; the district's is a reference.
    assert [rows[c]["target"] for c in rows] == ["≥ 70%", "1.500 tài khoản", "Tối thiểu 05 thôn", "Từ 80% đến 85%",
                                                 "Dưới 5%", "Hoàn thành trong Quý III"]
    assert rows["4"]["_references"] == [("Chỉ tiêu năm 2026 của huyện", "Trên 75%")]
    assert rows["1"]["baseline"] == "62%"
    assert rows["1"]["lead"] == "Bộ phận Một cửa; Công an xã"  # a line break in the cell: two offices
    assert rows["4"]["text"].endswith("- Trong đó người cao tuổi được hướng dẫn sử dụng")
    assert rows["1"]["tracking"] == "Công chức Văn phòng - Thống kê"
    names = {u["name"]: u["kind"] for u in draft.plan["units"]}
    assert names["UBND xã Tân An"] == "commune" and names["Công an xã"] == "agency"
    assert "Trường Tiểu học Tân An" in names and "Tổ công nghệ số cộng đồng" in names
    assert {"các thôn", "UBND các thôn"} <= set(draft.collective)


def test_a_commune_document_imports_through_the_target_parser(tmp_path: Path) -> None:
    _, text = read_plan_document(docs.commune_docx(), "tan-an.docx", T)
    path = tmp_path / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_plan_file(path)
    targets = {i.code: i.parts[0].target for i in spec.indicators}
    assert (targets["1"].comparison.value, targets["1"].value) == ("at_least", 70)
    assert (targets["2"].value, targets["2"].unit) == (1500, "tài khoản")
    assert (targets["4"].low, targets["4"].high) == (80, 85)
    assert (targets["5"].comparison.value, targets["5"].value) == ("below", 5)
    assert targets["6"].measure.value == "milestone"


def test_a_districts_task_table_with_a_two_row_header_reads_right() -> None:
    draft = read_document(document_blocks(docs.district_pdf(), "son-dong.pdf"), "son-dong.pdf")
    head = draft.plan["plan"]
    assert (head["document"], head["issued_on"], head["issuer"]) == (
        "45/KH-UBND", date(2026, 1, 20), "UBND huyện Sơn Động")
    assert draft.plan["schedule"]["deadlines"] == {"monthly": {"day": 25, "before": True}}
    rows = {i["code"]: i for i in draft.indicators}
    assert list(rows) == ["1.1", "1.2", "2.1", "2.2"]
    assert [g["title"] for g in draft.groups] == ["CHÍNH QUYỀN SỐ", "KINH TẾ SỐ"]
    assert rows["1.1"]["target"] == "Trên 95%" and rows["1.1"]["province_target"] == "95%"
    assert rows["1.2"]["target"] == "Hoàn thành trong Quý III"  # from Thời gian hoàn thành
    assert rows["2.1"]["target"] == "Tối thiểu 30 doanh nghiệp"
    assert rows["1.1"]["coordinating"] == "Các cơ quan, đơn vị; UBND các xã, thị trấn"


def test_a_list_of_units_fills_in_a_collective_phrase(tmp_path: Path) -> None:
    listing = tmp_path / "xa.csv"
    listing.write_text("Mã,Tên,Loại\nduc-chinh,Phường Đức Chính,Phường\nan-sinh,Xã An Sinh,Xã\n", encoding="utf-8")
    units = units_of(listing)
    draft, text = read_plan_document(rendered("dong-trieu-2025.yaml", "docx", "a"), "dt.docx", T, units)
    assert {"duc-chinh", "an-sinh"} <= {u["code"] for u in draft.plan["units"]}
    assert not any(d.message == "docplan-doubt-collective" for d in draft.doubts)
    path = tmp_path / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_plan_file(path)
    first = spec.indicators[0]  # "Các cơ quan, đơn vị, UBND các xã, phường"
    assert {"duc-chinh", "an-sinh"} <= set(first.parts[0].reporters)


def test_a_list_of_villages_reports_what_the_plan_gives_to_cac_thon(tmp_path: Path) -> None:
    listing = tmp_path / "thon.csv"
    listing.write_text("Thôn Nà Pài\nThôn Bản Khít\n", encoding="utf-8")  # one name a line
    _, text = read_plan_document(docs.commune_docx(), "tan-an.docx", T, units_of(listing))
    path = tmp_path / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    spec = {i.code: i for i in load_plan_file(path).indicators}
    assert set(spec["3"].parts[0].reporters) == {"thon-na-pai", "thon-ban-khit", "to-cong-nghe-so-cong-dong"}
    assert "thon-na-pai" not in spec["1"].parts[0].reporters


def test_an_earlier_plans_units_are_taken_with_their_aliases() -> None:
    units = units_of(PLANS / "dong-trieu-2025.yaml")
    draft, _ = read_plan_document(rendered("dong-trieu-2025.yaml", "pdf", "b"), "dt.pdf", T, units)
    codes = [u["code"] for u in draft.plan["units"]]
    assert codes[: len(units)] == [u["code"] for u in units]
    assert "phong-vhtt" not in codes  # "Phòng VHTT" is an alias of vhtt, not a new unit


# --- bad documents ------------------------------------------------


def _broken_docx() -> bytes:
    good = docs.commune_docx()
    return good[: len(good) // 2]


@pytest.mark.parametrize(("make", "message"), [
    (docs.no_table_docx, "docplan-error-no-table"),
    (docs.scan_pdf, "docplan-error-scan"),
    (docs.locked_pdf, "docplan-error-locked"),
    (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "docplan-error-locked"),
    (_broken_docx, "docplan-error-broken"),
    (lambda: b"%PDF-1.7\nnot a pdf at all", "docplan-error-broken"),
    (lambda: b"%PDF-1.7\n" + b"\0" * (50 * 2**20), "docplan-error-too-big"),
], ids=["no-table", "scan", "locked-pdf", "locked-docx", "broken-docx", "broken-pdf", "50-mb"])
def test_a_bad_document_gets_one_clear_line(make: Any, message: str) -> None:
    name = "x.pdf" if message != "docplan-error-no-table" and b"%PDF" in make()[:8] else "x.docx"
    with pytest.raises(DocumentError) as caught:
        read_plan_document(make(), name, T)
    assert caught.value.message == message
    said = T(caught.value.message, **caught.value.params)
    assert "\n" not in said and "không nhập gì" in said.lower()


# --- the command line ------------------------------------------------


def run(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_URL", "WEBHOOK_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, input=stdin, timeout=120)


def _plans(cwd: Path) -> list[dict[str, Any]]:
    return json.loads(run("plans", "--json", cwd=cwd).stdout)


def test_the_draft_is_written_then_imports_as_is(tmp_path: Path) -> None:
    (tmp_path / "ke-hoach-2025.docx").write_bytes(rendered("dong-trieu-2025.yaml", "docx", "a"))
    drafted = run("import-plan", "ke-hoach-2025.docx", "--draft", "ke-hoach.yaml", cwd=tmp_path)
    assert drafted.returncode == 0, drafted.stderr
    lines = drafted.stdout.splitlines()
    assert lines[0].startswith("Đọc ke-hoach-2025.docx: 2 bảng, 4 nhóm, 27 chỉ tiêu")
    assert any(line.startswith("- bảng 1, dòng ") for line in lines)
    assert (tmp_path / "ke-hoach.yaml").is_file() and _plans(tmp_path) == []  # nothing imported
    imported = run("import-plan", "ke-hoach.yaml", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert [(p["code"], p["indicators"], p["year"]) for p in _plans(tmp_path)] == [("ke-hoach-2025", 27, 2025)]


def test_without_a_draft_it_asks_first(tmp_path: Path) -> None:
    (tmp_path / "ke-hoach-2026.pdf").write_bytes(docs.district_pdf())
    refused = run("import-plan", "ke-hoach-2026.pdf", cwd=tmp_path, stdin="k\n")
    assert refused.returncode == 0 and "Nhập kế hoạch này?" in refused.stdout and "Không nhập gì." in refused.stdout
    assert _plans(tmp_path) == []
    agreed = run("import-plan", "ke-hoach-2026.pdf", cwd=tmp_path, stdin="c\n")
    assert agreed.returncode == 0, agreed.stderr
    assert [p["code"] for p in _plans(tmp_path)] == ["ke-hoach-2026"]
    again = run("import-plan", "ke-hoach-2026.pdf", "--yes", cwd=tmp_path)
    assert again.returncode == 0 and "Nhập kế hoạch này?" not in again.stdout


def test_a_bad_document_on_the_command_line_is_one_line_and_imports_nothing(tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(docs.scan_pdf())
    with (tmp_path / "huge.docx").open("wb") as huge:
        huge.truncate(50 * 2**20)  # a 50 MB file, never read
    for name in ("scan.pdf", "huge.docx"):
        result = run("import-plan", name, "--yes", cwd=tmp_path)
        assert result.returncode == 1
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr, result.stderr
        assert name in result.stderr
    assert _plans(tmp_path) == []


def test_without_a_tracking_column_the_body_names_the_tracking_office() -> None:
    draft = read_document(document_blocks(docs.district_pdf(), "son-dong.pdf"), "son-dong.pdf")
    tracking = draft.plan["plan"]["tracking_unit"]
    assert next(u["name"] for u in draft.plan["units"] if u["code"] == tracking) == "Phòng Văn hóa và Thông tin"
