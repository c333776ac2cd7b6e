"""Input schemas for 黑名单管理 (H 1.21; FEATURES F7)."""

from __future__ import annotations

from app.schemas import ChineseSchema, checked, text
from app.schemas.applicant import day, record_id
from services.reference.validation import normalize_id_number


class BlacklistAddSchema(ChineseSchema):
    applicant_id = record_id("人员", required=False)
    id_number = checked("证件号码", normalize_id_number, 18, required=False)
    name = text("姓名", 20, required=False)
    reason = text("列入原因", 500)
    basis = text("处理依据", 100, required=False)
    start_date = day("开始日期", required=False)
    end_date = day("截止日期", required=False)
    q = text("人员查询", 20, required=False)


class BlacklistEditSchema(ChineseSchema):
    name = text("姓名", 20, required=False)
    reason = text("列入原因", 500)
    basis = text("处理依据", 100, required=False)
    start_date = day("开始日期")
    end_date = day("截止日期")


class BlacklistLiftSchema(ChineseSchema):
    lift_reason = text("解除原因", 500)
