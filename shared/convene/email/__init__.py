"""Email: the outbox that services write to, and the path from the outbox to SES.

A service adds `outbox.put(message)` to the transaction that changes state; the
Notifications function renders and sends each new outbox item (`service.deliver`); the
EmailFeedback function keeps the suppression list and the unsubscribes (`feedback`).
docs/email.md is the contract: the kinds of email and the data each one needs.
"""
