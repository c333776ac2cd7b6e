"""Electronic certificates (issue 17; S 1.2.8.1 证书生成, H 1.9 发证单位编码, H 1.16–1.20 证书编号 / 发放 / 报送人社部 /
撤销 / 查询, H 1.29 批量生成电子证书; FEATURES I1–I7, P5; RULES "Certificates").

- `numbering` — 发证单位编码 and the numbering pools (never reused, concurrency-safe).
- `issuance` — `queue(actor, source, items)`: one `certificate_issuance` process per person; the issuer's queue
  actions (添加批次, 生成证书 info, 取消发证, 退回, 发放) are the completion of its user tasks.
- `documents` — the certificate PDF: many certificates per wkhtmltopdf process, split into one PDF each.
- `bulk` — 批量发证 as a background job: numbers and PDFs per chunk of 100, each task in its own transaction.
- `registry` — 证书查询, 撤销, 报送人社部, the public verification page.
- `imports` — 批量生成电子证书 from an imported xlsx list (H 1.29).
- `electronic_license` — the 电子证照标识 (GB/T 36904) given with the number.
- `review_forms` — 下载评审表: declaration, review chain opinions, committee votes, confirmation (S 1.2.8.1).
"""
