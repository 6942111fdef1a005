"""Registrations: a person's place at a workshop, from the form to the email.

Follow one registration: functions/registrations/app.py (HTTP) -> service.py (the use
case) -> seats.py (the transactions that take, pass and free seats) -> table.py (keys,
conditions) -> emails.py (the outbox items). docs/registrations.md has the whole story.
"""
