"""campaigns.lifecycle is the only code that writes a message's status: no other module of the
project updates or inserts campaigns_message rows or assigns Message.status (STYLE: one owner per
state machine). Tests and migrations are not the product and are left out."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWNER = ROOT / "campaigns" / "lifecycle.py"
SKIPPED_DIRS = {".venv", "tests", "migrations", "node_modules", ".git"}

# Raw SQL writing message rows, ORM writes on a Message queryset, and a status set on an instance.
STATUS_WRITES = [
    re.compile(r"UPDATE\s+campaigns_message\b", re.I),
    re.compile(r"INSERT\s+INTO\s+campaigns_message\b", re.I),
    re.compile(r"Message\.objects\b[^\n]*\.(update|bulk_update|bulk_create|create|update_or_create)\(", re.S),
    re.compile(r"\.update\([^)]*status\s*=\s*Message\.Status", re.S),
    re.compile(r"\bmessage\.status\s*=[^=]"),
    re.compile(r"Message\([^)]*status\s*=", re.S),
]


# Modules that write other columns of message rows, never their status: only the patterns that name a
# status apply to them. campaigns.privacy empties the values and replaces the number (retention, erase).
PERSONAL_DATA_WRITERS = {"campaigns/privacy.py"}
NAMING_A_STATUS = STATUS_WRITES[3:]


def status_writes(source, patterns=STATUS_WRITES):
    return [pattern.pattern for pattern in patterns if pattern.search(source)]


def writes_of(path):
    relative = str(path.relative_to(ROOT))
    source = path.read_text()
    if relative in PERSONAL_DATA_WRITERS:
        # Its message writes must not touch the status column at all.
        updates = re.findall(r"Message\.objects\b[^\n]*\.update\(([^)]*)\)", source)
        return status_writes(source, NAMING_A_STATUS) + [u for u in updates if "status" in u]
    return status_writes(source)


def product_sources():
    for path in ROOT.rglob("*.py"):
        if SKIPPED_DIRS & set(path.relative_to(ROOT).parts) or path == OWNER:
            continue
        if path.parent.name == "commands" and path.name.startswith("bench_"):
            continue  # benchmarks write the rows they measure against directly, as fixtures
        yield path


def test_no_module_but_the_lifecycle_writes_a_message_status():
    offenders = {str(path.relative_to(ROOT)): found for path in product_sources() if (found := writes_of(path))}
    assert offenders == {}


def test_the_check_finds_each_kind_of_status_write():
    assert status_writes('cursor.execute("UPDATE campaigns_message SET status = %s")')
    assert status_writes('"INSERT INTO campaigns_message (campaign_id) SELECT 1"')
    assert status_writes("Message.objects.filter(pk=1).update(status='sent')")
    assert status_writes("queryset.update(status=Message.Status.FAILED)")
    assert status_writes("message.status = Message.Status.DELIVERED")
    assert status_writes("Message(campaign=c, status='queued')")
    assert not status_writes("Message.objects.filter(status=Message.Status.QUEUED).exists()")


def test_the_owner_itself_is_seen_by_the_check():
    # Guards the check against a path change that would make it look at nothing.
    assert status_writes(OWNER.read_text())
    assert any(path.name == "gateway.py" for path in product_sources())
