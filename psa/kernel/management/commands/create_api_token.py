from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from psa.kernel import errors
from psa.kernel.models import User
from psa.kernel.services import API_SCOPES, api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the user's e-mail address")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scope", action="append", required=True, choices=API_SCOPES, dest="scopes"
        )
        parser.add_argument("--expires", help="ISO date-time, e.g. 2027-01-01T00:00:00Z")

    def handle(self, *args, user, name, scopes, expires=None, **options):
        owner = User.objects.filter(email=user.lower()).first()
        if owner is None:
            raise CommandError(f"No user with the e-mail address {user}.")
        expires_at = parse_datetime(expires) if expires else None
        if expires and expires_at is None:
            raise CommandError("--expires must be an ISO date-time.")
        try:
            _, plaintext = api_token_create(
                user=owner, name=name, scopes=scopes, expires_at=expires_at
            )
        except errors.ValidationFailed as exc:
            raise CommandError(f"{exc.message} {exc.fields}") from exc
        self.stdout.write(plaintext)
