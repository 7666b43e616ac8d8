"""The project's error type: one line that names the file, column or key and the fix."""


class ImbalanceLabError(Exception):
    """A problem with the user's input or configuration, reported as one line.

    The command-line interface prints ``error: <message>`` and exits with status 2; notebooks
    executed by the stage runner propagate it the same way. The message must say what is wrong,
    where (file, column or params key) and what to do.
    """


class ParamsError(ImbalanceLabError):
    """A wrong, missing or unknown key in params.yaml."""


class DataError(ImbalanceLabError):
    """A data source that cannot be read or does not pass validation."""


# The stage runner recognises a user error raised inside a notebook by its class name, among the
# subclasses of ImbalanceLabError that exist in the runner's process. The runner does not import
# the (heavy) modules that raise the two errors below, so they are declared here as well: without
# that, a notebook's StrategyError or TuneError was reported as a crash of the stage
# ("stage 'imbalance' failed in cell 4: StrategyError: ...") instead of as the user's error.
# strategies.py and tuning.py should import these classes instead of defining their own.


class StrategyError(ImbalanceLabError):
    """An imbalance strategy that cannot be built or cannot run on a training fold."""


class TuneError(ImbalanceLabError):
    """A tuning problem the user can fix (storage, params)."""


class ThresholdError(ImbalanceLabError, ValueError):
    """A decision-threshold objective that the predictions cannot meet (e.g. a precision target
    no threshold reaches). Also a ValueError, as :func:`evaluation.choose_threshold` documents."""
