"""Convene: the domain package shipped as the Lambda layer.

Each capability (events, registrations, comments, moderation, email) keeps its models,
its service (the use cases) and its table access together in one sub-package.
"""
