"""`manage.py simulate_reply NUMBER TEXT [--to CHANNEL_NUMBER]`: a handset's reply through the
simulator `make run` started, typed in a second shell.

The simulator writes its control port to VAR_DIR/smsc-control.port; this command posts the reply
there (POST /mo), and the simulator delivers it to the bound gateway as a deliver_sm, the way a
carrier would. Without --to, the reply goes to the channel number of the signature that last sent
to the number, else to the one sendable signature's.
"""

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Message
from campaigns.numbers import normalise_number
from smsconsole.management.commands.run_all import CONTROL_PORT_FILE
from templates_app.models import Signature


class Command(BaseCommand):
    help = "Sends a reply (MO) from NUMBER through the running SMSC simulator, as a handset would."

    def add_arguments(self, parser):
        parser.add_argument("number", help="the replying handset, e.g. 13800138000 or +8613800138000")
        parser.add_argument("text", help="the reply, e.g. R to opt out")
        parser.add_argument("--to", dest="channel_number", help="the channel number replied to")
        parser.add_argument(
            "--control-port", type=int, help="the simulator's control port (default: from its port file)"
        )

    def handle(self, *args, number, text, channel_number, control_port, **options):
        phone, error = normalise_number(number, "CN", mobile_only=False)
        if error:
            raise CommandError(f"{number!r} is not a phone number.")
        destination = channel_number or self.channel_number_for(phone)
        port = control_port or self.control_port()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/mo",
            data=json.dumps({"source": phone, "destination": destination, "text": text}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                answer = json.load(response)
        except (urllib.error.URLError, OSError) as exc:
            raise CommandError(f"The simulator does not answer on port {port} ({exc}); is `make run` running?")
        if not answer.get("sent"):
            raise CommandError("The simulator has no bound receiver: is the gateway running and bound?")
        self.stdout.write(f"Reply from {phone} to {destination} sent: {text}")

    def control_port(self):
        path = settings.VAR_DIR / CONTROL_PORT_FILE
        try:
            return int(path.read_text().strip())
        except FileNotFoundError:
            raise CommandError(f"No simulator is running ({path} is missing): start `make run` first.")
        except ValueError:
            raise CommandError(f"{path} holds no port number.")

    def channel_number_for(self, phone):
        last = (
            Message.objects.filter(phone=phone, submitted_at__isnull=False)
            .order_by("-submitted_at")
            .values_list("campaign__signature__channel_number", flat=True)
            .first()
        )
        if last:
            return last
        sendable = list(
            Signature.objects.sendable().exclude(channel_number=None).values_list("channel_number", flat=True)[:2]
        )
        if len(sendable) == 1:
            return sendable[0]
        raise CommandError("Nothing was sent to this number yet: say which channel number it replies to with --to.")
