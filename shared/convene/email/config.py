"""What the email path reads from its environment (template.yaml: NotificationsFunction)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class EmailSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    sender_address: str = Field("", alias="SENDER_ADDRESS")
    configuration_set: str = Field("", alias="SES_CONFIGURATION_SET")
    moderators_address: str = Field("", alias="MODERATORS_ADDRESS")
    organisers_address: str = Field("", alias="ORGANISERS_ADDRESS")
    site_url: str = Field("http://localhost:3000", alias="SITE_URL")
    # The name people see in From and in the emails' sign-off.
    sender_name: str = Field("Community Space", alias="SENDER_NAME")


@lru_cache(maxsize=1)
def get_email_settings() -> EmailSettings:
    return EmailSettings.model_validate(dict(os.environ))
