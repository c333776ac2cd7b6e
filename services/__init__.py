"""The domain: one package per business area, each naming the manual sections it implements.

Packages talk to each other downward only: common → authz → workflow → reference → org → committees → experts →
activities → applications → demo. Nothing here reads request, session or current_user: the acting user is an argument.
"""
