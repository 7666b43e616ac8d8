"""A stage notebook, executed, made into a report: volatile metadata removed and HTML rendered."""

from __future__ import annotations

import re
from typing import Any

PROGRESS_LINE = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\|\s*\d+/\d+ \[")


def clean_notebook(nb: Any) -> Any:
    """Remove volatile metadata and progress-bar output from an executed notebook (in place)."""
    pm = nb.metadata.get("papermill", {})
    nb.metadata["papermill"] = {k: pm[k] for k in ("parameters", "default_parameters") if k in pm}
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
        elif not cell.get("id"):
            cell["id"] = f"cell-{i}"
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                # what a terminal shows: the text after the last carriage return of each line
                lines = [ln.rsplit("\r", 1)[-1] for ln in re.split(r"(?<=\n)", out["text"])]
                kept = [ln for ln in lines if ln.strip() and not PROGRESS_LINE.search(ln)]
                if not "".join(kept).strip():
                    continue
                out["text"] = "".join(kept)
            outputs.append(out)
        cell["outputs"] = outputs
    return nb


#: JupyterLab's HTML template, with a PNG's alternative text (``metadata["image/png"]["alt"]``,
#: the figure's titles: :func:`imbalance_lab.pipeline.notebook.figure_alt`), which the lab template drops.
_HTML_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
{%- set alttext = output | get_metadata('alt', 'image/png') -%}
{%- if alttext is not none %} alt="{{ alttext | escape_html }}"{%- endif %}>
</div>
{%- endblock data_png %}
"""


def render_html(nb: Any) -> bytes:
    """The notebook rendered to a standalone HTML page (no input prompts; figures with their
    titles as alternative text)."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        template_file="imbalance_lab.html.j2",
        extra_loaders=[jinja2.DictLoader({"imbalance_lab.html.j2": _HTML_TEMPLATE})],
    )
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    return body.encode()
