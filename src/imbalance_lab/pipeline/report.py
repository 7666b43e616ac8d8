"""A stage notebook, executed, made into a report: volatile metadata removed and HTML rendered."""

from __future__ import annotations

import re
from typing import Any

from .notebook import HEADLINE_KEY

PROGRESS_LINE = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\|\s*\d+/\d+ \[")


def headline_of(nb: Any) -> str | None:
    """The headline line a notebook displayed, or None."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            line = out.get("metadata", {}).get(HEADLINE_KEY, {}).get("line")
            if line:
                return str(line)
    return None


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


#: JupyterLab's HTML template, made a report: a code cell's source folded under "code" (click to
#: show it), figures at 150 dpi as wide as the page allows (up to 960 px), and a PNG's alternative text
#: (``metadata["image/png"]["alt"]``, the figure's titles: :func:`imbalance_lab.pipeline.notebook.figure_alt`),
#: which the lab template drops. The highlighted source is not passed through ``clean_html`` as the
#: lab template does: Pygments escapes the source, so the sanitizer found nothing to remove (the
#: five reports' bytes are the same) but took about a third of each report's rendering.
_HTML_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block extra_css %}
<style>
  details.il-code > summary { cursor: pointer; color: #6b7280; font-size: 0.85em; margin: 2px 0 2px 4px; }
  details.il-code[open] > summary { margin-bottom: 4px; }
  .jp-RenderedImage img { max-width: min(100%, 960px); height: auto; }
  .celltag_headline { border-left: 4px solid #30638e; background: #f3f6fa; padding: 4px 12px; margin: 8px 0 16px 0; }
</style>
{% endblock extra_css %}
{% block input_group -%}
{%- if 'headline' not in cell.metadata.get('tags', []) -%}
<details class="il-code"><summary>{{ 'parameters of this run' if 'injected-parameters' in cell.metadata.get('tags', []) else 'code' }}</summary>
{{ super() }}
</details>
{%- endif -%}
{%- endblock input_group %}
{% block input %}
<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">
     <div class="cm-editor cm-s-jupyter">
{{ cell.source | highlight_code(metadata=cell.metadata) }}
     </div>
</div>
{%- endblock input %}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
{%- set alttext = output | get_metadata('alt', 'image/png') -%}
{%- if alttext is not none %} alt="{{ alttext | escape_html }}"{%- endif %}>
</div>
{%- endblock data_png %}
"""


def report_view(nb: Any) -> Any:
    """The notebook as its HTML report shows it (in place): the headline (:data:`HEADLINE_KEY`
    outputs) first, after the title, and the parameters once (the values of this run, not the
    notebook's defaults)."""
    headline = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            headline += [out for out in cell.outputs if HEADLINE_KEY in out.get("metadata", {})]
            cell["outputs"] = [out for out in cell.outputs if HEADLINE_KEY not in out.get("metadata", {})]
    nb.cells = [c for c in nb.cells if "parameters" not in c.get("metadata", {}).get("tags", [])]
    if headline:
        import nbformat

        top = nbformat.v4.new_code_cell(source="", metadata={"tags": ["headline"]})
        top["id"] = "headline"
        top["outputs"] = headline
        at = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
        nb.cells.insert(at, top)
    return nb


def html_exporter() -> Any:
    """The exporter :func:`render_html` uses, ready: it has rendered a small notebook once, so
    that its templates are compiled and the libraries its filters load lazily are loaded.

    That first rendering takes about 0.2 s; a report then takes 0.1 to 0.25 s instead of 0.3 to
    0.45 s (measured on the five reports). The stage runner builds the exporter in a thread
    while the notebook runs.
    """
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    exporter = _new_exporter()
    outputs = [
        new_output("stream", text="text\n"),
        new_output("display_data", data={"text/html": "<b>html</b>", "text/plain": "html"}),
    ]
    sample = new_notebook(
        cells=[new_markdown_cell("# Title\n\nText."), new_code_cell("x = 1", outputs=outputs)],
        metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}},
    )
    exporter.from_notebook_node(sample)
    return exporter


def _new_exporter() -> Any:
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="lab",
        template_file="imbalance_lab.html.j2",
        extra_loaders=[jinja2.DictLoader({"imbalance_lab.html.j2": _HTML_TEMPLATE})],
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def render_html(nb: Any, *, exporter: Any = None) -> bytes:
    """The notebook rendered as its report: a standalone HTML page (:func:`report_view`; code
    folded, no prompts, figures with their titles as alternative text).

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook (changed in place: pass a copy to keep it).
    exporter : HTMLExporter, optional
        An exporter made by :func:`html_exporter` (default: a new one), for one report after
        another.
    """
    exporter = _new_exporter() if exporter is None else exporter
    body, _ = exporter.from_notebook_node(report_view(nb))
    return body.encode()
