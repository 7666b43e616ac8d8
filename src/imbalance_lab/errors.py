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
