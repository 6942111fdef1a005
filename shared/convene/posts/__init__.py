"""Blog posts that take comments: organisers register a post (title, address, whether
comments are open); the comments capability reads it through `service.get_post`.
"""
