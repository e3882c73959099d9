"""`manage.py export_failed_numbers CAMPAIGN_ID [--format csv|xlsx] [--output PATH]`: a campaign's failed
numbers, one E.164 number per row under a `phone` header, read through a server-side cursor."""

import csv
import sys

from django.core.management.base import BaseCommand, CommandError

from campaigns import results
from campaigns.exports import safe_cell, xlsx_chunks
from campaigns.models import Campaign
from smsconsole.privacy import audit_export


class Command(BaseCommand):
    help = "Writes a campaign's failed (and expired) numbers as CSV or XLSX, one E.164 number per row."

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--output", help="File to write; standard output when left out.")

    def handle(self, *args, campaign_id, **options):
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"No campaign {campaign_id}.")
        fmt, path = options["format"], options["output"]
        audit_export(
            None,
            campaign,
            what="failed_numbers",
            rows=results.failed_messages(campaign.pk).count(),
            file_format=fmt,
            masked=False,
            account=campaign.account,
        )
        rows = ([phone] for phone in results.failed_numbers(campaign.pk))
        if fmt == "xlsx":
            handle = open(path, "wb") if path else sys.stdout.buffer
            try:
                for chunk in xlsx_chunks(["phone"], rows):
                    handle.write(chunk)
            finally:
                if path:
                    handle.close()
            return
        handle = open(path, "w", newline="", encoding="utf-8") if path else self.stdout
        try:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["phone"])
            for row in rows:
                writer.writerow([safe_cell(cell) for cell in row])
        finally:
            if path:
                handle.close()
