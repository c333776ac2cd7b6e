"""The BPMN engine layer over SpiffWorkflow 3.2 (DESIGN §2): parsing, instance state, scripting, forms, checks.

Pure Python: no Flask, no database. Persistence and HTTP call the functions in ``spec``, ``state`` and
``runner``; deployment calls ``checker``.
"""
