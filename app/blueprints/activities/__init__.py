"""评审活动 and 职数申报 pages (E1–E5, F8)."""
