"""通知公告管理 (K3) with its public pages, 消息推送 and 已接收消息 (K1, K2)."""
