"""Static rules for the Python that diagrams carry (scripts, conditions, pre/post scripts, service parameters).

DESIGN §2: SpiffWorkflow runs these with plain ``exec``/``eval``; the script engine only exposes the whitelist,
and deployment refuses anything that reaches outside it. A script may use: whitelisted functions, the allowed
builtins (``scripting.ALLOWED_BUILTINS``) and task-data variables (any other plain name). It may not import,
define functions/classes/lambdas, touch attributes starting with ``_`` or frame/format attributes, or name
``exec``/``eval``/``open``/``__import__``/``getattr``/``globals`` or any other builtin outside the allowed set.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Collection
from typing import Literal

from .scripting import ALLOWED_BUILTINS

__all__ = ["check_expression"]

_PYTHON_BUILTINS = frozenset(dir(builtins))
# Named explicitly so the message is specific even if the builtins module changes.
_FORBIDDEN_NAMES = frozenset({
    "exec", "eval", "open", "__import__", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "compile", "breakpoint", "input", "help", "type", "object", "super", "memoryview", "dir", "exit", "quit",
})
# Attributes that lead from ordinary values to frames, code or interpreter internals without an underscore.
_FORBIDDEN_ATTRIBUTES = frozenset({
    "format", "format_map", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals",
    "f_locals", "f_builtins", "f_back", "tb_frame", "tb_next", "co_code", "func_globals", "mro",
})
_FORBIDDEN_NODES: dict[type[ast.AST], str] = {
    ast.Import: "不允许 import",
    ast.ImportFrom: "不允许 import",
    ast.Lambda: "不允许 lambda",
    ast.FunctionDef: "不允许定义函数",
    ast.AsyncFunctionDef: "不允许定义函数",
    ast.ClassDef: "不允许定义类",
    ast.Global: "不允许 global",
    ast.Nonlocal: "不允许 nonlocal",
    ast.Await: "不允许 await",
    ast.Yield: "不允许 yield",
    ast.YieldFrom: "不允许 yield",
    ast.AsyncFor: "不允许异步语句",
    ast.AsyncWith: "不允许异步语句",
}


def check_expression(source: str, mode: Literal["eval", "exec"], functions: Collection[str]) -> list[str]:
    """Problems (Chinese messages) in one script (``exec``) or expression (``eval``); empty when clean."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError as err:
        return [f"语法错误（第 {err.lineno} 行）：{err.msg}"]
    problems: list[str] = []
    for node in ast.walk(tree):
        message = _node_problem(node, functions)
        if message is not None and message not in problems:
            problems.append(message)
    return problems


def _node_problem(node: ast.AST, functions: Collection[str]) -> str | None:
    for node_type, message in _FORBIDDEN_NODES.items():
        if isinstance(node, node_type):
            return message
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return f"不允许访问以下划线开头的属性 {node.attr}"
        if node.attr in _FORBIDDEN_ATTRIBUTES:
            return f"不允许访问属性 {node.attr}"
    if isinstance(node, ast.Name):
        return _name_problem(node, functions)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name not in functions and name not in ALLOWED_BUILTINS and _name_problem(node.func, functions) is None:
            return f"函数 {name} 不在白名单中"
    return None


def _name_problem(node: ast.Name, functions: Collection[str]) -> str | None:
    name = node.id
    if name in _FORBIDDEN_NAMES or name.startswith("_"):
        return f"不允许使用 {name}"
    if isinstance(node.ctx, ast.Store | ast.Del) and (name in functions or name in ALLOWED_BUILTINS):
        return f"不能给白名单函数或内置函数 {name} 赋值"
    if name in _PYTHON_BUILTINS and name not in ALLOWED_BUILTINS:
        return f"不允许使用内置函数 {name}"
    return None
