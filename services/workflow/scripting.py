"""The script engine that runs BPMN scripts, conditions and service tasks with a whitelist of functions.

SpiffWorkflow evaluates expressions with plain ``eval``/``exec`` (DESIGN §2, "Scripts are not sandboxed"), so a
diagram sees only: the functions registered here, a small set of builtins, and its own task data. Deployment
(``checker``) rejects any script that names something else; this module makes the runtime agree with it.

Business operations (``approve_unit_registration`` …) are *declared* here so diagrams can be checked before the
application exists; the application (or a test) registers the real implementation under the same name.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import orjson
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

__all__ = [
    "ALLOWED_BUILTINS",
    "BUSINESS_OPERATIONS",
    "WHITELIST",
    "FunctionRegistry",
    "NotBound",
    "UnknownFunction",
    "WhitelistEnvironment",
    "WhitelistScriptEngine",
    "build_script_engine",
    "register_function",
]

F = TypeVar("F", bound=Callable[..., Any])

# Pure functions whose results are plain JSON data (iterators and sets would be refused when the state is saved).
_ALLOWED_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "float", "int", "len", "list", "max", "min", "range", "round", "sorted",
    "str", "sum",
)
ALLOWED_BUILTINS: Mapping[str, Any] = MappingProxyType(
    {name: getattr(builtins, name) for name in _ALLOWED_BUILTIN_NAMES}
)

# Operations the diagrams in bpmn/ call; the app binds them to services (单位注册 / 变更上级单位).
BUSINESS_OPERATIONS: Mapping[str, str] = MappingProxyType({
    "approve_unit_registration": "单位注册审核通过，注册生效",
    "reject_unit_registration": "单位注册审核不通过",
    "apply_superior_change": "变更上级单位审核通过，变更生效",
    "reject_superior_change": "变更上级单位审核不通过",
    "approve_committee_filing": "评委会备案审核通过，备案生效",
    "return_committee_filing": "评委会备案审核退回组建单位",
    "reject_committee_filing": "评委会备案审核不通过",
    "notify_committee_expiry": "评委会备案即将到期提醒",
    "expire_committee": "评委会备案到期失效",
    "admit_committee_expert": "专家库审核通过，专家入库",
    "return_committee_expert": "专家库审核退回",
    "publish_activity": "评审活动发布审核通过，评审活动发布",
    "return_activity": "评审活动发布审核退回组建单位",
    "reject_activity": "评审活动发布审核不通过",
    "approve_quota_declaration": "职数审核通过，职数核准",
    "return_quota_declaration": "职数审核退回申报单位",
    "reject_quota_declaration": "职数审核不通过",
    "route_declaration": "申报材料送至审核路径上的下一审核单位",
    "pass_declaration": "申报材料审核通过，上报上级审核单位或评委会受理",
    "return_declaration": "申报材料审核退回",
    "reject_declaration": "申报材料审核不通过",
    "route_history_batch": "历史职称数据送至审核路径上的下一审核单位",
    "pass_history_batch": "历史职称数据审核通过，上报下一单位或待发证",
    "return_history_batch": "历史职称数据审核退回采集单位",
    "reject_history_batch": "历史职称数据审核不通过",
    "close_meeting_round": "评审会议计票完成：记录结果，分组投票时生成下一轮名单",
    "admit_exceptional_passers": "破格评议通过人员进入普通评审会议待分配列表",
    "open_result_publicity": "普通评审会议计票完成：评委会组建单位待办“评审结果公示”",
    "confirm_result": "评审结果确认通过",
    "reject_result": "评审结果确认不通过，本年度申报结束",
    "return_result": "评审结果确认退回评委会补充材料",
    "approve_result_filing": "评审结果备案审核通过，备案生效",
    "return_result_filing": "评审结果备案审核退回组建单位",
    "reject_result_filing": "评审结果备案审核不通过",
    "approve_review_plan": "呈报方案审核通过",
    "return_review_plan": "呈报方案审核退回组建单位",
    "reject_review_plan": "呈报方案审核不通过",
    "route_talent_record": "专技人才信息送至下一审核单位",
    "pass_talent_record": "专技人才审核通过，上报上级单位或审核通过",
    "return_talent_record": "专技人才审核退回个人",
    "reject_talent_record": "专技人才审核不通过",
    "route_title_confirmation": "职称确认申请送至下一审核单位",
    "pass_title_confirmation": "职称确认审核通过，提交下一级审核单位或确认",
    "return_title_confirmation": "职称确认审核退回申报人",
    "reject_title_confirmation": "职称确认审核不通过",
})


class UnknownFunction(LookupError):
    """A diagram asked for a function that is not on the whitelist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"函数 {name} 不在白名单中")
        self.name = name


class NotBound(RuntimeError):
    """A declared business operation was called before the application registered its implementation."""


def _declared(name: str) -> Callable[..., Any]:
    def unbound(*args: Any, **kwargs: Any) -> Any:
        raise NotBound(f"业务操作 {name} 尚未接入实现")

    unbound.__name__ = name
    unbound.declared_only = True  # type: ignore[attr-defined]
    return unbound


class FunctionRegistry(Mapping[str, Callable[..., Any]]):
    """Name → function; the only callables a diagram can reach."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._functions: dict[str, Callable[..., Any]] = dict(functions or {})

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return self._functions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._functions)

    def __len__(self) -> int:
        return len(self._functions)

    def declare(self, name: str) -> None:
        """Reserve ``name`` with a placeholder so diagrams that call it pass the checker."""
        if name not in self._functions:
            self._functions[name] = _declared(name)

    def register(self, name: str, func: Callable[..., Any], *, replace: bool = False) -> None:
        if not name.isidentifier() or name.startswith("_") or name in ALLOWED_BUILTINS:
            raise ValueError(f"不能以 {name!r} 作为白名单函数名")
        existing = self._functions.get(name)
        # Silently replacing a real function would change what deployed diagrams do; placeholders may be bound.
        if existing is not None and not replace and not getattr(existing, "declared_only", False):
            raise ValueError(f"白名单函数 {name} 已注册")
        self._functions[name] = func

    def register_function(self, name: str | None = None, *, replace: bool = False) -> Callable[[F], F]:
        def decorate(func: F) -> F:
            self.register(name or func.__name__, func, replace=replace)
            return func

        return decorate

    def copy(self) -> FunctionRegistry:
        return FunctionRegistry(self._functions)

    def resolve(self, name: str) -> Callable[..., Any]:
        try:
            return self._functions[name]
        except KeyError:
            raise UnknownFunction(name) from None


WHITELIST = FunctionRegistry()
for _name in BUSINESS_OPERATIONS:
    WHITELIST.declare(_name)
register_function = WHITELIST.register_function


class WhitelistEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Task-data environment whose globals are the whitelist and whose ``__builtins__`` is the allowed set.

    Setting ``__builtins__`` explicitly matters: ``eval``/``exec`` insert the real builtins module when the
    globals lack that key.
    """

    def __init__(self, registry: FunctionRegistry) -> None:
        environment: dict[str, Any] = {"__builtins__": dict(ALLOWED_BUILTINS)}
        environment.update(registry)
        super().__init__(environment)
        self.registry = registry

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> str:
        """Run a ``spiffworkflow:serviceTaskOperator`` through the whitelist.

        Spiff's ServiceTask ``json.loads`` whatever this returns into the result variable, so the function's
        return value travels as JSON (and must therefore be plain JSON data).
        """
        func = self.registry.resolve(kwargs["operation_name"])
        params = {name: param["value"] for name, param in kwargs.get("operation_params", {}).items()}
        return orjson.dumps(func(**params)).decode()


class WhitelistScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """PythonScriptEngine over :class:`WhitelistEnvironment`.

    ``call_service`` is overridden because 3.2.0's version refers to an undefined ``script`` in its error path,
    which turns every service failure into a NameError that hides the real cause.
    """

    def __init__(self, registry: FunctionRegistry) -> None:
        super().__init__(environment=WhitelistEnvironment(registry))
        self.registry = registry

    def call_service(self, task: Any, **kwargs: Any) -> str:
        try:
            result: str = self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise self.create_task_exec_exception(task, kwargs.get("operation_name", ""), err) from err
        return result


def build_script_engine(registry: FunctionRegistry | None = None) -> WhitelistScriptEngine:
    """A script engine over ``registry`` (default: the application's :data:`WHITELIST`)."""
    return WhitelistScriptEngine(WHITELIST if registry is None else registry)
