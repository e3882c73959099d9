"""Measures the recipient import end to end (file on disk to rows committed) on the configured database.

Generates a realistic file (5 % invalid numbers, 3 % duplicates, two variables), then runs each
import in a fresh child process so its peak RSS is the import's own.
"""

import csv
import multiprocessing
import random
import resource
import tempfile
import time
import zipfile
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from campaigns.importer import run_import
from campaigns.management.bench_setup import bench_template
from campaigns.models import RecipientImport


def generate_rows(count, seed=7):
    rng = random.Random(seed)
    prefixes = ["138", "139", "150", "186", "177", "199"]
    issued = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.05:
            number = rng.choice(["1.38001E+10", "12345", "abc", "1380013800", ""])
        elif roll < 0.08 and issued:
            number = rng.choice(issued)
        else:
            number = rng.choice(prefixes) + f"{rng.randrange(10**8):08d}"
            if rng.random() < 0.2:
                number = "+86 " + number
            if len(issued) < 50_000:
                issued.append(number)
        yield [number, f"A{i:07d}", f"用户{i % 9973}"]


def write_csv(path, count):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "order", "name"])
        writer.writerows(generate_rows(count))


def write_xlsx(path, count):
    """Writes the sheet the way Excel saves it: text in the shared-string table, numbers as numbers.

    openpyxl's write-only mode would store inline strings instead, which Excel never writes and
    which skip the shared-string table an import must hold in memory.
    """
    from xml.sax.saxutils import escape

    shared, index = [], {}

    def ref(text):
        if text not in index:
            index[text] = len(shared)
            shared.append(text)
        return index[text]

    rows = []
    for number, (phone, order, name) in enumerate([["phone", "order", "name"], *generate_rows(count)], start=1):
        phone_cell = (
            f'<c r="A{number}"><v>{phone}</v></c>'
            if phone.isdigit()
            else f'<c r="A{number}" t="s"><v>{ref(phone)}</v></c>'
        )
        rows.append(
            f'<row r="{number}">{phone_cell}<c r="B{number}" t="s"><v>{ref(order)}</v></c>'
            f'<c r="C{number}" t="s"><v>{ref(name)}</v></c></row>'
        )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package_rel = "http://schemas.openxmlformats.org/package/2006/relationships"
    office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>'
                f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{office}.worksheet+xml"/>'
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{office}.sharedStrings+xml"/>'
                "</Types>"
            ),
        )
        archive.writestr(
            "_rels/.rels",
            (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package_rel}">'
                f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
                "</Relationships>"
            ),
        )
        archive.writestr(
            "xl/workbook.xml",
            (
                f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
                '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package_rel}">'
                f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
                "</Relationships>"
            ),
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            (
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>'
                + "".join(rows)
                + "</sheetData></worksheet>"
            ),
        )
        archive.writestr(
            "xl/sharedStrings.xml",
            (
                f'<?xml version="1.0" encoding="UTF-8"?>'
                f'<sst xmlns="{main}" count="{len(shared)}" uniqueCount="{len(shared)}">'
                + "".join(f"<si><t>{escape(text)}</t></si>" for text in shared)
                + "</sst>"
            ),
        )


def _child(import_id, queue):
    connections.close_all()
    started = time.perf_counter()
    result = run_import(import_id)
    queue.put((time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, result))


class Command(BaseCommand):
    help = "Benchmark the recipient import (CSV and XLSX) and print rows/s and peak RSS."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--formats", default="csv,xlsx")
        parser.add_argument("--keep", action="store_true", help="keep the generated rows in the database")

    def handle(self, rows, formats, keep, **options):
        if connections["default"].vendor != "postgresql":
            raise CommandError("bench_import measures the PostgreSQL path: set DATABASE_URL to a PostgreSQL database")
        application, template = bench_template(
            "bench", "您的订单${1}已发货，收货人${2}，请注意查收。", ["CHARDIGIT", "TEXT"]
        )
        account = application.account
        self.stdout.write(f"database: {connections['default'].vendor}, rows: {rows:,}")
        with tempfile.TemporaryDirectory() as tmp:
            for fmt in formats.split(","):
                path = Path(tmp) / f"bench.{fmt}"
                started = time.perf_counter()
                (write_csv if fmt == "csv" else write_xlsx)(path, rows)
                self.stdout.write(
                    f"{fmt}: generated {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f}s"
                )
                imp = RecipientImport(
                    account=account,
                    application=application,
                    template=template,
                    original_name=path.name,
                    size=path.stat().st_size,
                )
                with open(path, "rb") as handle:
                    imp.file.save(path.name, File(handle), save=False)
                imp.save()
                connections.close_all()
                queue = multiprocessing.get_context("fork").Queue()
                child = multiprocessing.get_context("fork").Process(target=_child, args=(imp.pk, queue))
                child.start()
                seconds, peak_mb, result = queue.get()
                child.join()
                self.stdout.write(
                    f"{fmt}: {rows / seconds:,.0f} rows/s end to end ({seconds:.1f}s), peak RSS {peak_mb} MB, "
                    f"accepted {result.get('accepted')}, rejected {result.get('rejected')}, "
                    f"duplicates {result.get('duplicates')}"
                )
                if not keep:
                    imp.delete()
                imp.file.storage.delete(imp.file.name)
