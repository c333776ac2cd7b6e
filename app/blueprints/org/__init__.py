"""Unit, staff, role, registration, audit-log and 多岗审核 pages (A1–A6, B1, P3)."""
