"""通知公告管理 (S 1.2.15.1; FEATURES K3): a unit's notices — add, edit, publish, withdraw, delete — in the eight
types of the manual, and the public home page that lists the published ones by type, readable signed out.

Notice bodies are HTML written by staff and shown to anyone: they are sanitised with nh3 (ammonia, a library made
for it) when saved, to an allow-list of formatting tags; scripts, event handlers and javascript: links are gone.
"""
