"""Events: organisers create drafts and publish them; anyone reads what is published.

models.py (inputs, the stored event, public and organiser views), service.py (the use
cases), table.py (keys and expressions; docs/tables.md has the design).
"""
