"""评委会管理 and 评委会备案 pages, and the platform's committee administration (C1–C7)."""
