"""Yearly review activities (评审活动, E1–E5): configuration, 评审活动发布 and its review, and post quotas
(职数申报, F8).
"""
