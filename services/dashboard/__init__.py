"""首页 (S 1.2.1; FEATURES M1): the signed-in unit's 评审工作监督 — the committees it formed or supervises, their
activities with dates and progress, committee counts and running activities — read in a few capped queries.
"""
