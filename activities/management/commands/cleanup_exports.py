from django.core.management.base import BaseCommand

from activities.exports.services import export_jobs_cleanup
from activities.files import stored_file_deletions_sweep
from activities.management.commands.sweep_stored_files import sweep_summary


class Command(BaseCommand):
    help = (
        "Delete export jobs past their expiry (7 days) and their stored files, then sweep the stored "
        "objects whose deletion failed earlier (as sweep_stored_files). The daily scheduled task. "
        "Safe to run any time."
    )

    def handle(self, *args, **options):
        jobs, files = export_jobs_cleanup()
        self.stdout.write(f"Deleted {jobs} expired export jobs and {files} stored files.")
        self.stdout.write(sweep_summary(stored_file_deletions_sweep()))
