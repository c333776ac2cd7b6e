"""Posts (岗位) a user task may be assigned to: ``spiffworkflow:property name="post"`` on the task.

The checker refuses a diagram whose user task names a post outside this set; who holds a post in which unit is
resolved elsewhere (services/authz/audit_chain.py and the permission module), never by the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["POSTS"]

POSTS: Mapping[str, str] = MappingProxyType({
    "unit_reviewer": "单位审核人员",
    "unit_admin": "单位管理员及业务经办人员",  # the submitting unit's: corrects and resubmits after 退回
    "applicant": "申报人",
    "committee_reviewer": "评委会审核人员",
    "filing_reviewer": "备案审核人员",
    "expert": "评审专家",
    "issuer": "发证人员",
    "platform_admin": "平台管理员",
})
