"""专技人才审核 / 专技人才统计 (L1, L2) and 职称确认审核 (L3): the units' pages and the individual's own."""
