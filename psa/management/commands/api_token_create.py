"""``manage.py api_token_create``: the same command as ``create_api_token``, under the name of
the service it calls (``psa.services.api_token_create``)."""

from psa.management.commands.create_api_token import Command as CreateApiToken


class Command(CreateApiToken):
    pass
