"""批量发证 (P5; S 1.2.8.1 生成证书 / 发放; H 1.29 按查询条件批量发证): an issuer completes hundreds or thousands
of queued tasks in one action, as a background job.

Rules owned here:
- The job's items are task ids; each is completed through `issuance.complete_issuance_task` (exactly the checks of
  the single action) in its own transaction with its `job_item` row, by services.workflow.task_batch as the
  inbox's batch is: a refused task stays 未处理 with the reason (已被他人处理 naming who, when someone was first),
  the others go on.
- 发放 works in chunks of documents.CHUNK: first the chunk's certificates get their numbers (one atomic
  allocation per pool) and verification codes and are committed (short: the pool row is locked meanwhile);
  then their PDFs are rendered in one wkhtmltopdf process, stored and committed; then the tasks are completed
  one by one. A job run again after its worker died finds the certificates it made (one per issuance, unique)
  and reuses them: nobody gets two certificates or two numbers, and no number is handed out twice.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db, loaded_from_row, shared_reads
from app.models import Certificate, CertificateIssuer, HumanTask, Issuance, JobItem, Unit, User
from services.certificates import documents, electronic_license, numbering
from services.certificates.issuance import BUSINESS_TYPE, ISSUE_TASK, complete_issuance_task
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.file_store import StoredFile, path_for, store
from services.jobs import JobContext, job_kind, start_job
from services.workflow import instances, task_batch

ACTIONS = {"pass": "审核通过", "issue": "发放证书", "return": "退回", "cancel": "取消发证"}
PDF_MIMETYPE = "application/pdf"


_CERTIFICATE = Certificate.__table__
_NEW_CERTIFICATES = insert(_CERTIFICATE)
_CERTIFICATE_PDF = (update(_CERTIFICATE).where(_CERTIFICATE.c.id == bindparam("certificate_id"))
                    .values(pdf_sha256=bindparam("pdf_sha256")))


def verify_url(code: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{code}"


def _seal_uri(issuer: CertificateIssuer | None) -> str:
    if issuer is None or not issuer.seal_sha256:
        return ""
    path = path_for(issuer.seal_sha256)
    if not path.exists():
        return ""
    mimetype = "image/png" if (issuer.seal_filename or "").lower().endswith(".png") else "image/jpeg"
    return documents.image_data_uri(path.read_bytes(), mimetype)


def page_for(certificate: Certificate, issuance: Issuance, seal_uri: str) -> documents.CertificatePage:
    return documents.CertificatePage(
        number=certificate.number, name=issuance.name, gender=issuance.gender, birth_month=issuance.birth_month,
        id_type=issuance.id_type, id_number=issuance.id_number, work_unit=issuance.work_unit,
        series_name=issuance.series_name, specialty_name=issuance.specialty_name, title_name=issuance.title_name,
        level_name=issuance.level_name, qualified_on=issuance.qualified_on.isoformat() if issuance.qualified_on else "",
        committee_name=issuance.committee_name, approval_no=issuance.approval_no,
        issuer_name=certificate.issuer_name, issued_on=certificate.issued_on.isoformat(),
        verify_url=verify_url(certificate.verify_code), seal_uri=seal_uri, license_id=certificate.license_id or "")


def number_certificates(issuances: Sequence[Issuance], today: date | None = None) -> list[Certificate]:
    """A certificate (number, verification code) for each issuance that has none; one allocation per pool."""
    today = today or date.today()
    missing = [i for i in issuances if i.certificate is None]
    groups: dict[tuple[int, int], list[Issuance]] = defaultdict(list)
    for issuance in missing:
        groups[(issuance.issuer_unit_id, issuance.level_rank)].append(issuance)
    made = []
    for (unit_id, rank), members in groups.items():
        unit = db.session.get(Unit, unit_id)
        assert unit is not None
        issuer = numbering.issuer_for(unit)
        numbers = numbering.allocate(issuer, today.year, rank, len(members)).numbers()
        now = datetime.now()
        rows = [{"issuance_id": issuance.id, "issuer_unit_id": unit_id, "number": number,
                 "verify_code": secrets.token_urlsafe(16), "issuer_name": unit.name, "issued_on": today,
                 "pdf_sha256": None, "status": "draft", "revoked_at": None, "revoke_reason": "",
                 "revoked_by_id": None, "report_id": None, "created_at": now,
                 "license_id": electronic_license.identifier(unit.credit_code, number)}
                for issuance, number in zip(members, numbers, strict=True)]
        # One executemany INSERT of the chunk through Core (DESIGN §5: ORM add_all is 7–9× slower; with RETURNING
        # SQLite would take a statement per row) and one read of the new ids (a certificate per issuance, unique);
        # the objects are built from the rows as if loaded.
        db.session.flush()
        connection = db.session.connection()
        connection.execute(_NEW_CERTIFICATES, rows)
        ids = dict(connection.execute(select(_CERTIFICATE.c.issuance_id, _CERTIFICATE.c.id).where(
            _CERTIFICATE.c.issuance_id.in_([row["issuance_id"] for row in rows]))).tuples().all())
        for issuance, row in zip(members, rows, strict=True):
            certificate = loaded_from_row(Certificate, {**row, "id": ids[issuance.id]}, issuance=issuance)
            set_committed_value(issuance, "certificate", certificate)
            made.append(certificate)
    return made


@dataclass
class Generation:
    """A chunk's certificates being rendered: one wkhtmltopdf process, perhaps still running in `pending`."""

    todo: list[Issuance]
    pending: Future[bytes] | None = None
    document: bytes | None = None


def begin_rendering(issuances: Sequence[Issuance], executor: ThreadPoolExecutor | None = None) -> Generation:
    """Start the PDF of every numbered certificate without one, as one document (≤ CHUNK pages). With an executor
    the wkhtmltopdf process runs while the caller goes on (it completes the previous chunk's tasks meanwhile)."""
    todo = [i for i in issuances if i.certificate is not None and not i.certificate.pdf_sha256]
    if not todo:
        return Generation([])
    seals: dict[int, str] = {}
    for unit_id in {i.issuer_unit_id for i in todo}:
        seals[unit_id] = _seal_uri(db.session.scalar(select(CertificateIssuer)
                                                     .where(CertificateIssuer.unit_id == unit_id)))
    pages = [page_for(i.certificate, i, seals[i.issuer_unit_id]) for i in todo if i.certificate is not None]
    html = documents.document_html(pages)
    if executor is None:
        return Generation(todo, document=documents.render_document(html))
    # Only the wkhtmltopdf process runs in the executor's thread (it waits on the process, without the GIL), so
    # the next chunk's render starts the moment this one ends; the split is Python work and stays in the caller.
    return Generation(todo, pending=executor.submit(documents.render_document, html))


def finish_rendering(generation: Generation) -> int:
    """Wait for the document, split it into one PDF per certificate, store them and note them (caller commits)."""
    if not generation.todo:
        return 0
    document = generation.pending.result() if generation.pending is not None else generation.document
    assert document is not None
    pdfs = documents.split_pages(document, len(generation.todo))
    stored = []
    for issuance, pdf in zip(generation.todo, pdfs, strict=True):
        assert issuance.certificate is not None
        checked = StoredFile(hashlib.sha256(pdf).hexdigest(), f"{issuance.certificate.number}.pdf", len(pdf), "pdf")
        store(checked, pdf)
        stored.append((issuance.certificate, checked.sha256))
    db.session.flush()
    db.session.connection().execute(_CERTIFICATE_PDF, [{"certificate_id": c.id, "pdf_sha256": sha}
                                                       for c, sha in stored])  # one executemany
    for certificate, sha256 in stored:
        set_committed_value(certificate, "pdf_sha256", sha256)
    return len(generation.todo)


def render_certificates(issuances: Sequence[Issuance]) -> int:
    """Render and store the PDFs of the numbered certificates without one, CHUNK per wkhtmltopdf process."""
    return sum(finish_rendering(begin_rendering(issuances[start:start + documents.CHUNK]))
               for start in range(0, len(issuances), documents.CHUNK))


def _issuances_of_tasks(task_ids: Sequence[int], bpmn_id: str | None = ISSUE_TASK) -> list[Issuance]:
    stmt = select(HumanTask.business_id).where(HumanTask.id.in_(task_ids), HumanTask.business_type == BUSINESS_TYPE,
                                               HumanTask.status == "open")
    ids = list(db.session.scalars(stmt.where(HumanTask.bpmn_id == bpmn_id) if bpmn_id else stmt))
    return list(db.session.scalars(select(Issuance).where(Issuance.id.in_(ids))
                                   .options(selectinload(Issuance.certificate)).order_by(Issuance.id)))


def begin_generation(task_ids: Sequence[int], executor: ThreadPoolExecutor | None = None) -> Generation:
    """生成证书 for a chunk of 发放 tasks: numbers and codes (committed at once), then the PDF document started."""
    issuances = [i for i in _issuances_of_tasks(task_ids)
                 if not (i.source == "initial" and not (i.approval_no and i.approved_on))]
    if not issuances:
        return Generation([])
    number_certificates(issuances)
    db.session.commit()
    return begin_rendering(issuances, executor)


def generate_for_tasks(task_ids: Sequence[int]) -> None:
    finish_rendering(begin_generation(task_ids))
    db.session.commit()


def start_clearing(actor: User, action: str, task_ids: Sequence[int], opinion: str = "",
                   batch_id: int | None = None, title: str = "") -> Any:
    """批量处理 the chosen tasks as one background job (its progress on 我的任务)."""
    if action not in ACTIONS:
        raise InvalidInput("批量操作：无效", field="action")
    if not task_ids:
        raise InvalidInput("请至少选择一条待处理记录", field="task_ids")
    if action in ("return", "cancel") and not opinion.strip():
        raise InvalidInput(f"意见：{ACTIONS[action]}时必须填写原因", field="opinion")
    return start_job(actor, "certificates.clear", title or f"批量{ACTIONS[action]}（{len(task_ids)} 人）",
                     {"action": action, "task_ids": [int(t) for t in task_ids], "opinion": opinion,
                      "batch_id": batch_id})


@job_kind("certificates.clear", "批量发证处理")
def clear_tasks(ctx: JobContext, params: dict[str, Any]) -> None:
    action, opinion = str(params["action"]), str(params.get("opinion") or "")
    batch_id = params.get("batch_id")
    task_ids = [int(t) for t in params["task_ids"]]
    ctx.set_total(len(task_ids))
    actor = ctx.actor
    if actor is None:
        raise NotFound("启动任务的用户不存在")
    done = set(db.session.scalars(select(JobItem.key).where(JobItem.job_id == ctx.job_id)))
    db.session.commit()
    remaining = [t for t in task_ids if str(t) not in done]
    loaded: dict[int, Issuance] = {}

    def handle(key: str) -> str:
        task = instances.lock_task(actor, int(key))  # as the inbox's post: the instance locked with the read
        if task.business_type != BUSINESS_TYPE:
            raise NotFound("发证待办不存在")
        issuance = loaded.get(task.business_id) or db.session.get(Issuance, task.business_id)
        if issuance is None:
            raise NotFound("发证记录不存在")
        if action == "pass" and batch_id:
            if task.bpmn_id != "review_issuance":
                raise Conflict(f"{issuance.name}：不在待处理中")
            issuance.batch_id = int(batch_id)
        complete_issuance_task(actor, task, {"decision": action, "opinion": opinion})
        if action == "issue" and issuance.certificate is not None:
            return f"{issuance.name}：已发放，证书编号 {issuance.certificate.number}"
        return f"{issuance.name}：{ACTIONS[action]}"

    # The job reads its people, their certificates and its actor once per chunk, not once per commit: the rows
    # it works on are locked and re-read by the engine's own statements (complete_checked_task), and nothing else
    # writes an issuance of a task in flight (its instance row is locked while it changes).
    session = db.session()
    session.expire_on_commit = False
    chunks = [remaining[start:start + documents.CHUNK] for start in range(0, len(remaining), documents.CHUNK)]
    def complete(chunk: list[int]) -> None:
        loaded.clear()
        loaded.update((i.id, i) for i in _issuances_of_tasks(chunk, None))
        with shared_reads():
            task_batch.complete_each(ctx, chunk, handle)

    try:
        if action != "issue":
            for chunk in chunks:
                complete(chunk)
        else:
            # A pipeline that keeps wkhtmltopdf (another process: the other core) busy. While it renders chunk n,
            # this thread numbers chunk n+1 and writes its HTML (its render waits in the executor's queue, so it
            # starts the moment chunk n's ends), completes chunk n-1's tasks, then splits and stores chunk n's
            # PDFs. A task is completed only once its PDF is stored and committed.
            with ThreadPoolExecutor(max_workers=1) as executor:
                ahead = begin_generation(chunks[0], executor) if chunks else Generation([])
                for index in range(len(chunks)):
                    rendering = ahead
                    ahead = begin_generation(chunks[index + 1], executor) if index + 1 < len(chunks) \
                        else Generation([])
                    if index:
                        complete(chunks[index - 1])
                    finish_rendering(rendering)
                    db.session.commit()
                if chunks:
                    complete(chunks[-1])
    finally:
        session.expire_on_commit = True
    ctx.summary = f"{ACTIONS[action]}：共 {len(task_ids)} 条"
