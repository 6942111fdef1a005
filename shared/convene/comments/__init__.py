"""Comments on blog posts: submission under a policy, spam defences, safe public reading,
reports, and the decision moderators apply. Start at service.py; docs/comments.md says why
it works the way it does."""
