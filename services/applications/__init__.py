"""Declarations and their review (职称申报 and 申报材料审核, F1–F7, G1, B5–B7): the applicant's declaration, the
review chain up the 审核路径 with multi-post audit, the review paths (B3, B4), the unit queries and statistics,
the blacklist (H 1.21), applicants (申报人) and evaluation changes (破格/转评).
"""
