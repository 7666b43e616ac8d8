"""Unit tests of imbalance_lab.pipeline.settings: settings of the machine, from the environment."""

from __future__ import annotations

import pytest

from imbalance_lab.errors import ImbalanceLabError
from imbalance_lab.pipeline import settings


def test_n_jobs_defaults_to_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.delenv(settings.N_JOBS_ENV, raising=False)
    assert settings.n_jobs() == settings.available_cores() >= 1
    monkeypatch.setenv(settings.N_JOBS_ENV, " ")
    assert settings.n_jobs() == settings.available_cores()


def test_n_jobs_from_the_environment(monkeypatch):
    monkeypatch.setenv(settings.N_JOBS_ENV, "3")
    assert settings.n_jobs() == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_wrong_n_jobs_is_one_line_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(settings.N_JOBS_ENV, value)
    with pytest.raises(ImbalanceLabError) as err:
        settings.n_jobs()
    assert str(err.value) == (
        f"$IMBALANCE_LAB_N_JOBS is {value!r}; set it to the number of cores a stage may use (e.g. 2), or unset it"
    )
