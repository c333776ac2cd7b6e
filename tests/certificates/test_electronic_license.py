"""电子证照标识 (GB/T 36904; RULES "Certificates"): `1.2.156.3005.2.<type>.<issuer USCC>.<number>.<version>.<check>`
with an ISO/IEC 7064 MOD 37,36 check character, given when the certificate is numbered, printed on the PDF and
shown on the public verification page."""

from __future__ import annotations

import re
import subprocess

from sqlalchemy import select

from app.extensions import db
from app.models import Certificate, HumanTask
from services.certificates import electronic_license
from services.common.file_store import path_for


def issued(issuer, people, count=1):
    from services.certificates import bulk, issuance

    issuance.queue(issuer, "review", people(count, approval_no="乐人社〔2026〕30号", approved_on="2026-12-01"))
    for bpmn_id, action in (("review_issuance", "pass"), ("issue_certificate", "issue")):
        bulk.start_clearing(issuer, action, list(db.session.scalars(select(HumanTask.id).where(
            HumanTask.status == "open", HumanTask.bpmn_id == bpmn_id))))
    return list(db.session.scalars(select(Certificate).order_by(Certificate.id)))


def test_the_check_character_is_iso_7064_mod_37_36():
    assert electronic_license.check_character("A12425GABC1234002") == "M"  # the standard's worked example


def test_an_issued_certificate_carries_a_checked_identifier_on_its_pdf_and_verification_page(
        client, issuer, issuing_unit, people):
    [certificate] = issued(issuer, people)

    license_id = certificate.license_id
    assert license_id == (f"1.2.156.3005.2.ZCZS.{issuing_unit.credit_code}.{certificate.number}.1."
                          f"{license_id[-1]}")
    assert electronic_license.is_valid(license_id)
    changed = license_id[:-3] + ("2" if license_id[-3] != "2" else "3") + license_id[-2:]
    assert not electronic_license.is_valid(changed)
    pdf_text = subprocess.run(["pdftotext", str(path_for(certificate.pdf_sha256)), "-"], capture_output=True,
                              check=True).stdout.decode()
    assert license_id in re.sub(r"\s+", "", pdf_text)
    page = client.get(f"/verify/{certificate.verify_code}").get_data(as_text=True)
    assert license_id in page and "电子证照标识" in page


def test_no_identifier_when_no_type_code_is_configured(app, issuer, people):
    app.config["CERTIFICATE_LICENSE_TYPE"] = ""
    try:
        [certificate] = issued(issuer, people)
    finally:
        app.config["CERTIFICATE_LICENSE_TYPE"] = "ZCZS"

    assert certificate.license_id is None
