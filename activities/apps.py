from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = "Activities"

    def ready(self) -> None:
        # Wiring: stored files follow their rows, and the Celery tasks are registered by name
        # whenever Django is loaded (services queue them by name, see activities.exports.services).
        from activities import files, tasks  # noqa: F401
        from activities.exports import monitoring

        monitoring.install()
