"""Reference data: 数据字典 and the title tree / specialties / regions loaded from admin_config/ (P1, P2), the
working-day calendar (RULES "Publicity"), and the validation algorithms (ID number GB 11643, 统一社会信用代码
GB 32100, phone, 文号).
"""
