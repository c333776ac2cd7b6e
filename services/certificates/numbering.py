"""证书编号 (H 1.9 发证单位编码, H 1.16 证书编号生成; RULES "Certificates"; FEATURES I4).

Rules owned here:
- Every issuing unit has a 发证单位编码, by default the last four digits of its region code (机构所属统筹区后4位),
  and a numbering pattern made of the issuer code, the year, the level and a sequence; no national scheme
  exists, so the pattern is configurable, but it must hold all four parts (numbers are unique platform-wide).
- Numbers come from a pool per issuer, year and level. A pool is a generated block of sequences
  (`start_seq`…`end_seq`, 批量生成证号) that extends itself by `block_size` when it runs out (系统在证书发放时发现
  证书编号库无编号可用时，会自动扩充).
- `next_seq` only ever grows: a number handed out is never handed out again, not after 撤销 either. Allocation
  is one atomic `UPDATE … RETURNING`, so two workers numbering the same pool at once (PostgreSQL row lock,
  SQLite's single writer) get disjoint ranges.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import CertificateIssuer, NumberPool, Unit, User
from services.authz import access
from services.common import audit_log, file_store
from services.common.errors import Conflict, Forbidden, InvalidInput
from services.workflow.forms import FieldDefinition

PATTERN_FIELDS = ("issuer", "year", "level", "seq")
_CODE = re.compile(r"^[0-9A-Za-z]{2,12}$")
_POOL = NumberPool.__table__
# next_seq moves past the range handed out; end_seq grows by a block when the range passes it (auto-extension).
_ALLOCATE = (
    update(_POOL).where(_POOL.c.id == bindparam("pool_id"))
    .values(next_seq=_POOL.c.next_seq + bindparam("count"),
            end_seq=case((_POOL.c.next_seq + bindparam("count") - 1 > _POOL.c.end_seq,
                          _POOL.c.next_seq + bindparam("count") - 1 + bindparam("block")),
                         else_=_POOL.c.end_seq))
    .returning(_POOL.c.next_seq)
)


def default_code(unit: Unit) -> str:
    """发证单位编码一般为机构所属统筹区后4位 (H 1.9)."""
    digits = "".join(ch for ch in unit.region.code if ch.isdigit())
    return digits[-4:].rjust(4, "0")


def issuer_for(unit: Unit) -> CertificateIssuer:
    """The unit's issuer record, created with the default code on first use."""
    issuer = db.session.scalar(select(CertificateIssuer).where(CertificateIssuer.unit_id == unit.id))
    if issuer is None:
        issuer = CertificateIssuer(unit_id=unit.id, code=default_code(unit))
        db.session.add(issuer)
        db.session.flush()
    return issuer


def check_pattern(pattern: str) -> None:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError:
        raise InvalidInput("编号规则：格式错误（花括号不成对）", field="pattern") from None
    unknown = fields - set(PATTERN_FIELDS)
    if unknown:
        raise InvalidInput(f"编号规则：不认识的部分 {{{sorted(unknown)[0]}}}，只能使用 {{issuer}} {{year}} {{level}} {{seq}}",
                           field="pattern")
    missing = [name for name in PATTERN_FIELDS if name not in fields]
    if missing:
        raise InvalidInput(f"编号规则：必须包含 {{{missing[0]}}}（发证单位编码、年度、级别、序号缺一不可，编号全省唯一）",
                           field="pattern")
    try:
        format_number(pattern, "0000", 2026, 1, 1)
    except (ValueError, IndexError, KeyError):
        raise InvalidInput("编号规则：格式错误", field="pattern") from None


def configure_issuer(actor: User, unit: Unit, code: str, pattern: str, block_size: int) -> CertificateIssuer:
    """新增 / 修改发证单位编码 (H 1.9) and the numbering pattern."""
    access.require_permission(actor, "certificate.issue", unit)
    code = code.strip()
    if not _CODE.match(code):
        raise InvalidInput("发证单位编码：应为 2–12 位字母或数字", field="code")
    check_pattern(pattern)
    if not 1 <= block_size <= 100000:
        raise InvalidInput("每次扩充数量：应在 1 到 100000 之间", field="block_size")
    taken = db.session.scalar(select(CertificateIssuer.id).where(
        CertificateIssuer.code == code, CertificateIssuer.unit_id != unit.id, CertificateIssuer.status == "active"))
    if taken:
        raise Conflict(f"发证单位编码：{code} 已被其他单位使用", field="code")
    issuer = issuer_for(unit)
    issuer.code, issuer.pattern, issuer.block_size, issuer.status = code, pattern, block_size, "active"
    db.session.flush()
    audit_log.record(actor, "certificate.issuer", f"保存发证单位编码 {code}，编号规则 {pattern}", "unit", unit.id)
    return issuer


def format_number(pattern: str, issuer_code: str, year: int, level_rank: int, seq: int) -> str:
    return pattern.format(issuer=issuer_code, year=year, level=level_rank, seq=seq)


def _pool_id(issuer: CertificateIssuer, year: int, level_rank: int) -> int:
    """The pool's id, created (first block generated) if missing; a concurrent creator is no error."""
    dialect = db.session.get_bind().dialect.name
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert_for(NumberPool).values(
        issuer_id=issuer.id, year=year, level_rank=level_rank, start_seq=1, end_seq=issuer.block_size, next_seq=1,
    ).on_conflict_do_nothing(index_elements=["issuer_id", "year", "level_rank"]))
    return int(db.session.scalar(select(NumberPool.id).where(
        NumberPool.issuer_id == issuer.id, NumberPool.year == year, NumberPool.level_rank == level_rank)))


@dataclass(frozen=True)
class Allocation:
    first: int
    count: int
    pattern: str
    issuer_code: str
    year: int
    level_rank: int

    def numbers(self) -> list[str]:
        return [format_number(self.pattern, self.issuer_code, self.year, self.level_rank, seq)
                for seq in range(self.first, self.first + self.count)]


def allocate(issuer: CertificateIssuer, year: int, level_rank: int, count: int) -> Allocation:
    """Hand out `count` consecutive numbers of the pool, extending it when it runs out. In the caller's
    transaction: on PostgreSQL the pool row stays locked until it commits (keep that transaction short)."""
    if issuer.status != "active":
        raise Conflict(f"发证单位编码 {issuer.code} 已注销，不能发证")
    if count <= 0:
        raise InvalidInput("证书编号：数量必须大于 0")
    pool_id = _pool_id(issuer, year, level_rank)
    after = int(db.session.execute(_ALLOCATE, {"pool_id": pool_id, "count": count, "block": issuer.block_size})
                .scalar_one())
    return Allocation(after - count, count, issuer.pattern, issuer.code, year, level_rank)


def generate_block(actor: User, issuer: CertificateIssuer, year: int, level_rank: int, end_seq: int) -> NumberPool:
    """批量生成证号 (H 1.16): make the pool reach `end_seq`; a block never shrinks below what was handed out."""
    access.require_permission(actor, "certificate.issue", issuer.unit)
    pool = db.session.get(NumberPool, _pool_id(issuer, year, level_rank))
    assert pool is not None
    db.session.refresh(pool)
    if end_seq < pool.end_seq:
        raise InvalidInput(f"结束序号：不能小于已生成的结束序号 {pool.end_seq}", field="end_seq")
    pool.end_seq = end_seq
    db.session.flush()
    audit_log.record(actor, "certificate.pool", f"生成证书编号 {year} 年 级别{level_rank} 至序号 {end_seq}",
                     "unit", issuer.unit_id)
    return pool


def seal_field() -> FieldDefinition:
    return FieldDefinition("seal", "发证机关印章图片", "file", max_size_mb=2, accept=("png", "jpg"))


def upload_seal(actor: User, unit: Unit, filename: str, content: bytes) -> CertificateIssuer:
    """The issuing unit's seal image, uploaded by its administrator; printed on every certificate it issues."""
    if not (actor.is_unit_admin and actor.unit_id == unit.id):
        raise Forbidden("只有本单位超级管理员可以上传发证机关印章")
    checked = file_store.check(seal_field(), filename, content)
    file_store.store(checked, content)
    issuer = issuer_for(unit)
    issuer.seal_sha256 = checked.sha256
    issuer.seal_filename = f"seal.{checked.file_type}"
    db.session.flush()
    audit_log.record(actor, "certificate.seal", "上传发证机关印章图片", "unit", unit.id)
    return issuer
