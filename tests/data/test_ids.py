"""Unit tests of imbalance_lab.data.ids: identifier columns kept as salted hashes (through validate_and_clean)."""

from __future__ import annotations


def test_hash_columns_replaced_by_salted_hash(clean, frame):
    ids = [f"CUST-{i:04d}" for i in range(24)]
    df = frame().assign(cust=ids)
    out_a, schema, _ = clean(df, hash_columns=["cust"], hash_salt="salt-a")
    out_a2, _, _ = clean(df, hash_columns=["cust"], hash_salt="salt-a")
    out_b, _, _ = clean(df, hash_columns=["cust"], hash_salt="salt-b")
    assert schema.id_columns == ["cust"] and "cust" not in schema.features
    assert out_a["cust"].tolist() == out_a2["cust"].tolist()  # deterministic
    assert out_a["cust"].nunique() == 24
    assert not set(out_a["cust"]) & set(out_b["cust"])  # another salt, other hashes
    text = out_a.astype(str).to_numpy().ravel()
    assert not any(i in cell for cell in text for i in ids)  # the raw id is nowhere
    assert not any("CUST" in str(c) for c in out_a.columns.difference(["cust"]))
