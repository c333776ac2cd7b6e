"""我的任务: the background jobs a person started, their progress, result files and cancellation (issue 14)."""
