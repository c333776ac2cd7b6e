"""The organisation: units and their information (单位信息维护, A1), accounts and staff (A2–A4), unit
self-registration (单位注册, A5), 变更上级单位 (A6), 多岗审核 configuration (B1), and the single-unit review lists
the review pages share.
"""
