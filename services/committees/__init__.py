"""Evaluation committees (评委会): 评委会管理 and its rules (C1–C3), 评委会备案 with its multi-post review (C4–C6),
and the platform's committee administration (评委会管理 for administrators, C7).
"""
