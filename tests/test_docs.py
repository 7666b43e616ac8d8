"""The README and docs/: short, linked, and naming only files and keys that exist."""

from __future__ import annotations

import re

import yaml

from tests.support import ROOT

README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)#]+)(?:#[^)]*)?\)")


def test_readme_is_at_most_170_lines_and_starts_with_the_two_commands():
    assert len(README.splitlines()) <= 170  # 150, and the drift benchmark's table (issue 27)
    first = re.search(r"```(?:bash)?\n(.*?)```", README, re.S).group(1)
    assert [line.split("#")[0].strip() for line in first.splitlines()] == ["make repro", "make test"]


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves():
    linked = set(LINK.findall(README))
    assert {f"docs/{page.name}" for page in DOCS} <= linked
    for page in [ROOT / "README.md", ROOT / "bench" / "README.md", *DOCS]:
        for target in LINK.findall(page.read_text()):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links {target}"


def test_docs_name_no_params_key_that_params_yaml_lacks():
    """... or that is optional (left out of params.yaml, with a default in code: every key there is a
    column of `dvc exp show`)."""
    from imbalance_lab.pipeline.params import optional_defaults

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    known = {f"{section}.{key}" for section, values in params.items() if isinstance(values, dict) for key in values}
    known |= {f"{section}.{key}" for section in params for key in optional_defaults(section)}
    for page in [ROOT / "README.md", *DOCS]:
        for section, key in re.findall(
            r"`(prepare|cross_validate|tune|imbalance|evaluate)\.([a-z_]+)", page.read_text()
        ):
            assert f"{section}.{key}" in known, f"{page.relative_to(ROOT)} names {section}.{key}"


def test_the_readme_shows_the_metrics_dvc_exp_show_leads_with():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert dvc["metrics"][0] == "metrics/evaluate.json"
    heading = next(line for line in README.splitlines() if line.strip().startswith("Experiment"))
    assert heading.split()[2:4] == ["test_ap", "test_roc_auc"]
