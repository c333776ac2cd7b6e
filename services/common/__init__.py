"""Shared plumbing every area uses: service errors (HTTP-mapped), the audit log (操作日志, P3), uploads checked by
size and real type and stored under their content hash, Excel export helpers, and 常用意见 (the reviewer's saved
opinions, B2). Imports nothing from the other service packages.
"""
