"""Who may do what: permission codes and their unit scopes (services/authz/access.py, A2–A4 roles and grants) and
the multi-post audit chain that resolves a unit's review levels to staff (多岗审核, B1; services/authz/audit_chain.py).
Sits below workflow/, which asks it who the candidates of a task are.
"""
