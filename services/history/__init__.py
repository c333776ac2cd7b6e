"""历史职称数据 (manual S 1.2.8.2; FEATURES J1–J6; issue 18): titles granted before the platform.

- records: the rules of one row (J2), loaded once per batch.
- upload: template, upload, the check-and-store job, failures (J1); `flask history check|import` use it too.
- review: 提交审核 up the path to the 发证机构 and 数据审核 there (J3, J4), through bpmn/historical_upload.bpmn.
- bodies: 历史评审机构管理 (J6).
"""
