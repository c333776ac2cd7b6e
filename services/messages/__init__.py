"""消息推送 and 已接收消息 (S 1.2.10–1.2.12; FEATURES K1, K2): a unit sends a message, with an attachment, to
subordinate units (picked, or a whole subtree) or to applicants of its scope; each recipient has a receipt with
未读 / 已读 and 确认已读; the sender sees who has read it. A send to more than MESSAGE_INLINE_RECIPIENTS recipients
runs as a background job (services/jobs), in chunks that each commit with their receipts and notifications.
"""
