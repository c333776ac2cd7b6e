"""Errors a person can act on: each carries a Chinese message naming the field and the rule.

Blueprints turn them into HTTP 400 / 403 / 404 / 409; services raise them before anything is written,
or the request's single commit never happens and the session is rolled back.
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, field: str | None = None, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors: dict[str, list[str]] = errors or ({field: [message]} if field else {})

    def __str__(self) -> str:
        return self.message


class InvalidInput(ServiceError):
    status = 400


class Forbidden(ServiceError):
    status = 403

    def __init__(self, message: str = "无权执行此操作") -> None:
        super().__init__(message)


class NotFound(ServiceError):
    status = 404

    def __init__(self, message: str = "记录不存在") -> None:
        super().__init__(message)


class Conflict(ServiceError):
    status = 409
