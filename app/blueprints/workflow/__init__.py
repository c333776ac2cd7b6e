"""待办事项 (the inbox and its task pages) and 流程管理 (process definitions and instances)."""
