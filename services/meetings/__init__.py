"""评审会议 (manual S 1.2.5.2–1.2.6; Hunan guide H 1.3; FEATURES G2–G11, A9, D5): the committee's meeting from
preparation through the expert drawing, confirmation, assignment and the experts' voting to 计票完成, the 破格
meeting that feeds the ordinary one, 专业组 rounds, and the experts' own sign-in.

Modules: `drawing` (the pure drawing engine), `tally` (the pure counting rules), `meetings` (the meeting and its
staff steps over bpmn/review_meeting.bpmn), `draws` (抽选小组, draws and their record, confirmation, 补抽, 专家分组),
`preparation` (评分标准, 答辩安排 and 笔试成绩 imports), `assignment` (再排序, 主审 / 辅审, 评审方案, 评议材料),
`voting` (the experts' ballots and the count), `exports` (the meeting's spreadsheets), `expert_accounts` (专家端
sign-in).
"""
