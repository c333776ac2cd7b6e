"""评审结果 (FEATURES G12, H1–H3; issue 16): after a meeting's 计票完成.

- publicity: 评审结果公示 (the public notice and its PDF), 我要反馈 and 线下投诉, the end of the period.
- confirmation: 线上评审结果确认 / 线上委托结果确认 at the confirming unit through bpmn/result_confirmation.bpmn,
  一键通过 as a job, the committee's 补充材料 and 职称文件文号.
"""
