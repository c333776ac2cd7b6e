"""专技人才审核 and 专技人才统计 (S 1.2.13; FEATURES L1, L2), 职称确认审核 (S 1.2.14; L3).

An individual submits a record from their profile; it is reviewed up their units — their own unit first, then
each superior up to the nearest 人社部门 — each unit with its 多岗审核 levels (bpmn/talent_review.bpmn,
bpmn/title_confirmation.bpmn, both calling unit_review). 通过 passes it up (the last unit's pass approves it),
退回 returns it to the individual with the reason, who corrects and submits again; 不通过 ends it and the record
is kept (it cannot be deleted). The statistics table counts approved talent records over a unit's subtree.
"""
