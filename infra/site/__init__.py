"""The community's web pages, rendered from the public API.

One set of Jinja2 templates (``templates/``, autoescaped, all extending ``base.html``)
makes every page: those that show API data (the workshops list, one page per workshop
with its registration form, the blog posts, whose text is in ``posts/``, and the
``event.html`` / ``post.html`` pages that JavaScript fills from ``?id=``) and those that
need none in their HTML (``confirm.html``, ``registration.html``, ``policy.html``,
``series.html``, ``console/``). Two users of the same render functions:

* ``python -m infra.site build --api URL --out DIR`` writes a static site (``web/``'s
  assets and ``config.js`` plus the rendered pages) for any static host;
* the offline twin renders the same pages on request (``infra/local/pages.py``), so
  they are always current.

Data comes from the public API over HTTP only (``GET /events``, ``GET /events/{id}``,
``GET /posts/{id}/comments``), never from the tables.
"""
