"""Regenerate the small data files of the bad-input corpus (tests/e2e/test_bad_inputs.py).

``good.csv`` is a valid 60-row churn table (12 positives); every other file differs from it in
one way that the prepare stage must refuse with a one-line error. Run from the repository root:
``python tests/bad_inputs/make_files.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def good() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 60
    churned = np.zeros(n, dtype=int)
    churned[rng.choice(n, 12, replace=False)] = 1
    income = np.round(rng.normal(3000, 800, n) - 600 * churned, 2)
    income[[5, 41]] = np.nan
    return pd.DataFrame(
        {
            "customer_age": rng.integers(18, 80, n),
            "income": income,
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "churned": churned,
        }
    )


def write(name: str, df: pd.DataFrame, **kwargs) -> None:
    df.to_csv(HERE / name, index=False, lineterminator="\n", **kwargs)


def main() -> None:
    df = good()
    write("good.csv", df)
    (HERE / "empty.csv").write_text("")
    (HERE / "header_only.csv").write_text(",".join(df.columns) + "\n")
    write("semicolon.csv", df, sep=";")
    write("one_class.csv", df.assign(churned=0))
    write("three_classes.csv", df.assign(churned=np.where(np.arange(len(df)) % 7 == 3, 2, df["churned"])))
    few = df.assign(churned=0)
    few.loc[[3, 30], "churned"] = 1
    write("few_positives.csv", few)
    text = df.astype({"income": object})
    text.loc[17, "income"] = "unknown"
    write("text_in_numeric.csv", text)
    inf = df.copy()
    inf.loc[[8, 9], "income"] = np.inf
    write("inf_values.csv", inf)
    write("empty_column.csv", df.assign(notes=np.nan)[["customer_age", "income", "notes", "plan", "churned"]])
    dup = df[["customer_age", "income", "plan", "churned"]].copy()
    dup.insert(3, "income_2", dup["income"])
    (HERE / "duplicate_columns.csv").write_text(
        dup.to_csv(index=False, lineterminator="\n").replace("income_2", "income", 1)
    )
    write("other_schema.csv", df.rename(columns={"plan": "plan_name"}))
    write("identifier_column.csv", df.assign(name=[f"customer {i:03d}" for i in range(len(df))]))
    write("latin1.csv", df.assign(plan=df["plan"].replace({"pro": "pro-\u00e9t\u00e9"})), encoding="latin-1")
    write("decimal_comma.csv", df, sep=";", decimal=",")
    months = pd.date_range("2023-01-01", periods=12, freq="MS").strftime("%Y-%m-%d")
    write("dates.csv", df.assign(signup=[months[i % 12] for i in range(len(df))]))


if __name__ == "__main__":
    main()
