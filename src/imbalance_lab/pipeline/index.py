"""The study on one page: ``reports/index.html`` links each stage's report and shows its headline.

The ``report`` stage of dvc.yaml (``imbalance-lab report``) writes it from the executed notebooks,
so it follows any stage that reran; it starts no kernel.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ..errors import ImbalanceLabError
from ..io import read_yaml, write_bytes
from .notebook import HEADLINE_KEY
from .stages import read_stage

INDEX_FILE = "reports/index.html"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #1f2933; }}
  h1 {{ font-size: 1.6em; }}
  section {{ border-left: 4px solid #30638e; background: #f3f6fa; padding: 0.4em 1em 0.8em; margin: 1.2em 0; }}
  h2 {{ font-size: 1.15em; margin: 0.4em 0; }}
  p.headline {{ font-weight: 600; }}
  table {{ border-collapse: collapse; font-size: 0.9em; }}
  th, td {{ padding: 2px 8px; text-align: right; border-bottom: 1px solid #d9e2ec; }}
  th:first-child, td:first-child {{ text-align: left; }}
  .missing {{ color: #9aa5b1; }}
  p.more {{ font-size: 0.85em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Each stage's headline; its report (code folded) and executed notebook hold the rest.</p>
{sections}
</body>
</html>
"""


def stage_headline(notebook: dict[str, Any]) -> tuple[str | None, str | None]:
    """The headline line and the HTML of the headline table that an executed notebook shows."""
    line, table = None, None
    for cell in notebook.get("cells", []):
        for out in cell.get("outputs", []):
            marker = out.get("metadata", {}).get(HEADLINE_KEY, {})
            if marker.get("line"):
                line = str(marker["line"])
            if marker.get("table") and "text/html" in out.get("data", {}):
                table = "".join(out["data"]["text/html"])
    return line, table


def notebook_stages(dvc: dict[str, Any]) -> list[str]:
    """The stages of dvc.yaml that run a notebook (``imbalance-lab run STAGE``), in order."""
    return [
        name
        for name, spec in (dvc.get("stages") or {}).items()
        if str((spec or {}).get("cmd", "")).startswith("imbalance-lab run ")
    ]


def index_html(dvc_file: str | Path = "dvc.yaml", *, title: str = "imbalance-lab: the study") -> bytes:
    """The index page of the stages' reports of ``dvc_file`` (same reports, same bytes)."""
    dvc = read_yaml(dvc_file, hint="run from the project root")
    root = Path(dvc_file).parent
    sections = []
    for stage in notebook_stages(dvc):
        info = read_stage(stage, dvc_file=dvc_file)
        report, page = root / info["report"], Path(info["html"])
        try:
            notebook = json.loads(report.read_text(encoding="utf-8"))
        except FileNotFoundError:
            sections.append(f'<section><h2>{html.escape(stage)}</h2><p class="missing">not run yet</p></section>')
            continue
        except ValueError:
            raise ImbalanceLabError(f"{report}: not a notebook; rerun the stage (dvc repro {stage})") from None
        line, table = stage_headline(notebook)
        here = Path(INDEX_FILE).parent
        link = html.escape(page.relative_to(here).as_posix())
        executed = html.escape(Path(info["report"]).relative_to(here).as_posix())
        sections.append(
            f'<section><h2><a href="{link}">{html.escape(stage)}</a></h2>'
            f'<p class="headline">{html.escape(line or "(no headline)")}</p>{table or ""}'
            f'<p class="more"><a href="{link}">report</a> · <a href="{executed}">executed notebook</a></p></section>'
        )
    return _PAGE.format(title=html.escape(title), sections="\n".join(sections)).encode()


def write_index(dvc_file: str | Path = "dvc.yaml") -> Path:
    """Write :data:`INDEX_FILE` (next to the project's reports) atomically."""
    path = Path(dvc_file).parent / INDEX_FILE
    write_bytes(path, index_html(dvc_file))
    return path
