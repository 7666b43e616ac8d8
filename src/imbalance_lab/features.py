"""The preprocessing step, built from the schema and fitted inside each training fold."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

MISSING = "__missing__"


def make_preprocessor(schema: dict[str, Any], *, encoding: str = "onehot", scale: bool = False) -> ColumnTransformer:
    """Imputation, categorical encoding and optional scaling for the schema's features.

    Parameters
    ----------
    schema : dict
        The schema written by the prepare stage (``numeric`` and ``categorical`` columns).
    encoding : {"onehot", "ordinal"}
        One-hot for linear models (rare categories grouped, unseen ones ignored); ordinal codes
        for tree models (unseen categories become -1).
    scale : bool
        Standardise numeric columns (for models that need it).

    Returns
    -------
    ColumnTransformer
        Unfitted; numeric missing values are imputed with the median plus an indicator column,
        categorical ones become their own category.
    """
    if encoding not in ("onehot", "ordinal"):
        raise ValueError(f"encoding must be 'onehot' or 'ordinal', got {encoding!r}")
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median", add_indicator=True))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    if encoding == "onehot":
        encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False)
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    # missing_values=pd.NA makes the imputer use pandas.isna: None in object columns is missing
    # too (with the default np.nan it would become a category of its own, apart from NaN)
    categorical_steps = [
        ("impute", SimpleImputer(strategy="constant", fill_value=MISSING, missing_values=pd.NA)),
        ("encode", encoder),
    ]
    transformers = []
    if schema["numeric"]:
        transformers.append(("numeric", Pipeline(numeric_steps), list(schema["numeric"])))
    if schema["categorical"]:
        transformers.append(("categorical", Pipeline(categorical_steps), list(schema["categorical"])))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
