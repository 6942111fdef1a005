"""Moderation: moderators claim comments from the review queues, decide, and see the trail.

models.py (what crosses the API), service.py (claims, decisions, queue, history, stats,
blocks), digest.py (the moderators' digest, from the scheduled run), table.py (keys and
expressions). docs/moderation.md explains the design.
"""
