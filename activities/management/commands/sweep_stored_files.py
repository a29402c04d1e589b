from django.core.management.base import BaseCommand

from activities.files import stored_file_deletions_sweep


def sweep_summary(result: dict) -> str:
    return (
        f"Stored files pending deletion: {result['deleted']} deleted, {result['failed']} failed, "
        f"{result['left']} left."
    )


class Command(BaseCommand):
    help = (
        "Delete the stored objects whose deletion failed when their rows went (S3 unreachable). "
        "Stops at the first failure showing the storage is still down. Safe to run any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--max-seconds", type=float, default=None, help="Stop after this long.")

    def handle(self, *args, max_seconds=None, **options):
        self.stdout.write(sweep_summary(stored_file_deletions_sweep(max_seconds=max_seconds)))
