from django.core.management.base import BaseCommand

from activities.exports.services import export_jobs_cleanup


class Command(BaseCommand):
    help = "Delete export jobs past their expiry (7 days) and their stored files. Safe to run any time."

    def handle(self, *args, **options):
        jobs, files = export_jobs_cleanup()
        self.stdout.write(f"Deleted {jobs} expired export jobs and {files} stored files.")
