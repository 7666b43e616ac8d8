"""The preprocessing step, built from the schema and fitted inside each training fold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from ..data.schema import Schema

MISSING = "__missing__"


def one_hot_encoder() -> OneHotEncoder:
    """The one-hot encoder of linear models: categories seen fewer than 5 times in the training
    fold are grouped, unseen ones are ignored (all zeros)."""
    return OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False)


def make_preprocessor(schema: Schema, *, encoding: str = "onehot", scale: bool = False) -> ColumnTransformer:
    """Imputation, categorical encoding and optional scaling for the schema's features.

    Parameters
    ----------
    schema : Schema
        The prepared data's schema (its ``numeric`` and ``categorical`` columns).
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
        encoder = one_hot_encoder()
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    # missing_values=pd.NA makes the imputer use pandas.isna: None in object columns is missing
    # too (with the default np.nan it would become a category of its own, apart from NaN)
    categorical_steps = [
        ("impute", SimpleImputer(strategy="constant", fill_value=MISSING, missing_values=pd.NA)),
        ("encode", encoder),
    ]
    transformers = []
    if schema.numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), list(schema.numeric)))
    if schema.categorical:
        transformers.append(("categorical", Pipeline(categorical_steps), list(schema.categorical)))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


class OneHotLastColumns(TransformerMixin, BaseEstimator):
    """One-hot encode the last ``n_columns`` columns of an array of ordinal codes, after a
    sampler: SMOTE-NC must see each categorical column as one column of codes. On one-hot
    columns it took a majority vote per dummy column, and synthetic rows could have no category
    (every dummy 0) or several.

    The other columns pass through first, as :func:`make_preprocessor` with one-hot encoding
    orders them; the encoder is :func:`one_hot_encoder`'s (unknown codes, such as the
    ordinal encoder's -1 for an unseen category, become all zeros).

    Parameters
    ----------
    n_columns : int
        How many trailing columns are codes.
    """

    def __init__(self, n_columns: int = 1) -> None:
        self.n_columns = n_columns

    def fit(self, X: Any, y: Any = None) -> OneHotLastColumns:
        """Fit the one-hot encoder on the trailing code columns."""
        X = np.asarray(X)
        self.encoder_ = one_hot_encoder().fit(X[:, X.shape[1] - self.n_columns :])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The leading columns as they are, then the code columns one-hot encoded."""
        X = np.asarray(X)
        split = X.shape[1] - self.n_columns
        return np.hstack([X[:, :split].astype(float), self.encoder_.transform(X[:, split:])])
