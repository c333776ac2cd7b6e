"""Expert libraries (专家库管理, D1–D4): experts of a committee's library, their review and the bulk import.
"""
