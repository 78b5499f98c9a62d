"""A new plan from its own document (issue 22): a 60-row appendix read from DOCX and from PDF.

    .venv/bin/python bench/bench_plan_document.py [--rows 60] [--repeat 5]

Renders a plan of ROWS indicators in four groups (the seed plans' rows in turn, so the texts,
targets and offices are the plans' own) as the DOCX and the PDF an office would issue
(tests/plan_documents.py, layout "a": header block, body with the reporting days, the appendix
table over several pages with its header repeated), then times `read_plan_document` as
`import-plan FILE --draft` and the chat call it: the file's blocks, the draft, its YAML and the
validator's check of that YAML. Best and median of --repeat, wall and CPU. Aim: under 2 s each.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from locales import translator
from models.plan_document_files import read_plan_document
from tests import plan_documents as docs

PLANS = Path(__file__).resolve().parent.parent / "data" / "plans"


def sixty_rows(rows: int) -> dict[str, Any]:
    """A plan of `rows` indicators taken from the seed plans in turn, in four groups."""
    seeds = [docs.load_seed(path) for path in sorted(PLANS.glob("*.yaml"))]
    pool = [node for plan in seeds for node in plan["indicators"]]
    groups = ["I", "II", "III", "IV"]
    indicators = []
    for index in range(rows):
        node = dict(pool[index % len(pool)])
        node.update(code=str(index + 1), table="PL1", group=groups[index * len(groups) // rows])
        indicators.append(node)
    head = dict(seeds[3]["plan"])  # dong-trieu-2025: a city's plan with its number and date
    return {"plan": head, "schedule": seeds[3]["schedule"],
            "tables": [{"code": "PL1", "title": f"Phụ lục: {rows} chỉ tiêu chuyển đổi số"}],
            "groups": [{"code": g, "table": "PL1", "title": f"Nhóm {g}"} for g in groups],
            "indicators": indicators}


def timed(content: bytes, name: str, repeat: int) -> tuple[list[float], list[float], int]:
    t = translator("vi")
    walls, cpus = [], []
    count = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        draft, _ = read_plan_document(content, name, t)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        count = len(draft.indicators)
    return walls, cpus, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    plan = sixty_rows(args.rows)
    print("| file | size | rows read | wall best | wall median | CPU best | aim < 2 s |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("docx", "pdf"):
        content = docs.docx_bytes(plan, "a") if kind == "docx" else docs.pdf_bytes(plan, "a")
        walls, cpus, count = timed(content, f"ke-hoach.{kind}", args.repeat)
        assert count == args.rows, (kind, count)
        best = min(walls)
        print(f"| `.{kind}` | {len(content) / 1024:.0f} KB | {count} | {best:.2f} s | "
              f"{statistics.median(walls):.2f} s | {min(cpus):.2f} s | {'met' if best < 2 else 'NOT met'} |")


if __name__ == "__main__":
    main()
