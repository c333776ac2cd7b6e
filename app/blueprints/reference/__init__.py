"""数据字典 and reference data pages (P1, P2)."""
