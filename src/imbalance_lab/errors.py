"""Every error a user can cause and fix: one line that names the file, column or key and the fix.

The command-line interface prints ``error: <message>`` and exits with status 2; a stage notebook
that raises one of these fails its stage with the same one line. Every such class is defined
here, so the stage runner, which sees only the class name of a notebook's exception, knows them
all by walking :class:`ImbalanceLabError`'s subclasses (:func:`user_error_names`).
"""

from __future__ import annotations


class ImbalanceLabError(Exception):
    """A problem with the user's input or configuration, reported as one line.

    The message must say what is wrong, where (file, column or params key) and what to do.
    """


class ParamsError(ImbalanceLabError):
    """A wrong, missing or unknown key in params.yaml."""


class DataError(ImbalanceLabError):
    """A data source that cannot be read or does not pass validation."""


class StrategyError(ImbalanceLabError):
    """An imbalance strategy that cannot be built or cannot run on a training fold."""


class ThresholdError(ImbalanceLabError, ValueError):
    """A decision-threshold objective that the predictions cannot meet (e.g. a precision target
    no threshold reaches). Also a ValueError, as
    :func:`imbalance_lab.evaluation.choose_threshold` documents."""


class TuneError(ImbalanceLabError):
    """A tuning problem the user can fix (storage, params)."""


class ClusterError(ImbalanceLabError):
    """A Dask scheduler (``$IMBALANCE_LAB_DASK_SCHEDULER``) that cannot be reached or has no worker."""


class ArtifactError(ImbalanceLabError):
    """A model artifact that is missing, incomplete, modified or unsafe to load."""


class ScoringError(ImbalanceLabError):
    """New data that cannot be read or does not fit the model's schema."""


class StageError(ImbalanceLabError):
    """A stage notebook failed for a reason other than the user's input (the message says where
    its executed notebook and log are)."""


def user_error_names() -> frozenset[str]:
    """The class names of :class:`ImbalanceLabError` and all its subclasses."""
    names, todo = set(), [ImbalanceLabError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return frozenset(names)
