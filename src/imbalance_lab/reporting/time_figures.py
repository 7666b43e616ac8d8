"""Figures of data over time: the class balance by period, with the out-of-time test part marked."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure


def class_balance_over_time(balance: pd.DataFrame, *, test_from: str | None = None) -> Figure:
    """Rows per period (bars) and the share of positives (line), with the first test period marked.

    Parameters
    ----------
    balance : DataFrame
        :func:`imbalance_lab.data.class_balance_over_time`: ``period``, ``start``, ``rows``,
        ``positives`` and ``share`` per period.
    test_from : str, optional
        The first test time of an out-of-time split (``schema.test_from``): a dashed line before
        the period that holds it.
    """
    fig = Figure(figsize=(max(5.0, 0.3 * len(balance) + 2.5), 3.4), layout="constrained")
    ax = fig.subplots()
    x = list(range(len(balance)))
    ax.bar(x, balance["rows"], color="#c9ced6", label="rows")
    ax.set_ylabel("rows")
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], list(balance["period"])[::step], rotation=45, ha="right", fontsize=8)
    share = ax.twinx()
    share.plot(x, balance["share"], color="#d1495b", marker="o", markersize=3, label="share of positives")
    share.set_ylabel("share of positives")
    share.set_ylim(0, max(0.05, float(balance["share"].max()) * 1.2))
    if test_from is not None:
        cutoff = pd.Timestamp(test_from) if pd.api.types.is_datetime64_any_dtype(balance["start"]) else float(test_from)
        boundary = int((balance["start"] <= cutoff).sum()) - 1.5
        ax.axvline(boundary, color="#333333", linestyle="--", linewidth=1)
        ax.annotate(
            f"test (out of time) from {test_from}",
            (boundary, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_title("Class balance over time")
    return fig
