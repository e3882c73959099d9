"""`manage.py campaign_status ID [--json]`: a campaign's status and counters."""

import json

from django.core.management.base import BaseCommand, CommandError

from campaigns import connection_state
from campaigns.broker import require_services
from campaigns.models import Campaign

FIELDS = ("id", "name", "status", "total", *Campaign.COUNTERS, "segments", "failure_reason")
TIMES = ("created_at", "scheduled_at", "started_at", "planned_at", "finished_at")


class Command(BaseCommand):
    help = "Prints a campaign's status and every counter, and what it waits for."

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("--json", action="store_true", help="One JSON object.")

    def handle(self, *args, campaign_id, **options):
        campaign = Campaign.objects.with_counters().select_related("connection").filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"No campaign {campaign_id}.")
        data = {field: getattr(campaign, field) for field in FIELDS}
        data.update({field: value.isoformat() if (value := getattr(campaign, field)) else None for field in TIMES})
        data["connection"] = {"name": campaign.connection.name}
        data["waiting_for"] = None
        if campaign.status == Campaign.Status.RUNNING:
            # Whether its connection is bound is known only to the gateways, through Redis.
            require_services(broker=False)
            state = connection_state.read(campaign.connection)
            data["connection"].update(connected=state.connected, reason=state.reason)
            if not state.connected:
                data["waiting_for"] = str(state.waiting)
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        else:
            for field, value in data.items():
                self.stdout.write(f"{field:>15}: {value}")
