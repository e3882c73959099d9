"""The Simplified Chinese catalogue is complete and compiled, and every console page speaks both languages."""

import ast
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Invitation
from api.models import create_access_key
from campaigns.models import (
    Campaign,
    Contact,
    ContactList,
    Message,
    OptOut,
    ProviderConnection,
    RecipientImport,
    RejectedRow,
)

LOCALE_DIR = Path(settings.BASE_DIR) / "smsconsole" / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
LANGUAGES = ["en", "zh-hans"]


# --- The catalogue ---------------------------------------------------------------------------------


def parse_po(path):
    """Entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags, obsolete."""
    entries, entry, key = [], None, None

    def start():
        nonlocal entry
        if entry and "msgid" in entry:
            entries.append(entry)
        entry = {"flags": set(), "obsolete": False}

    start()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            start()
            continue
        if line.startswith("#~"):
            entry["obsolete"] = True
            continue
        if line.startswith("#,"):
            if "msgid" in entry:
                start()
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            if "msgid" in entry:
                start()
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line)
        if match:
            key = match.group(1)
            entry[key] = ast.literal_eval(match.group(2))
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            raise AssertionError(f"unexpected line in {path.name}: {line!r}")
    start()
    return entries


def translatable(entries):
    """The entries that are messages: not the header, not obsolete."""
    return [e for e in entries if e["msgid"] and not e["obsolete"]]


def translations(entry):
    return [value for key, value in entry.items() if key == "msgstr" or key.startswith("msgstr[")]


def test_every_message_has_a_chinese_translation():
    entries = translatable(parse_po(PO_FILE))
    assert len(entries) > 300
    untranslated = [e["msgid"] for e in entries if not all(s.strip() for s in translations(e))]
    assert untranslated == []


def test_no_translation_is_left_fuzzy():
    entries = parse_po(PO_FILE)
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []


def test_the_header_declares_chinese_with_a_single_plural_form():
    header = parse_po(PO_FILE)[0]
    assert header["msgid"] == ""
    assert "Language: zh_Hans" in header["msgstr"]
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"]
    assert "charset=UTF-8" in header["msgstr"]


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%|(?<!\$)\{\w*\}")


def test_translations_keep_every_placeholder():
    problems = []
    for entry in translatable(parse_po(PO_FILE)):
        sources = [entry["msgid"], entry.get("msgid_plural", entry["msgid"])]
        expected = set().union(*(PLACEHOLDER.findall(s) for s in sources))
        for msgstr in translations(entry):
            if set(PLACEHOLDER.findall(msgstr)) != expected:
                problems.append((entry["msgid"], msgstr))
    assert problems == []


def test_the_compiled_catalogue_matches_the_po_file():
    # Compares content, not bytes or mtimes: a fresh clone has new mtimes, and another gettext
    # version may lay the .mo out differently while meaning the same.
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for entry in translatable(parse_po(PO_FILE)):
        msgid = entry["msgid"] if "msgctxt" not in entry else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            for key, value in entry.items():
                if key.startswith("msgstr["):
                    expected[(msgid, int(key[7:-1]))] = value
        else:
            expected[msgid] = entry["msgstr"]
    compiled.pop("", None)
    assert compiled == expected, "django.mo is stale: run manage.py compilemessages --ignore=.venv"


# --- Pages in both languages -----------------------------------------------------------------------


@pytest.fixture
def objects(factories, acme, alice, shop):
    """One object of alice's account for every kind of page that takes an id."""
    qualification = factories.create_qualification(acme, name="Acme filing")
    signature = factories.create_signature(shop, name="AcmeShop", qualification=qualification)
    template = factories.create_template(
        shop, signature=signature, name="order_shipped", content="您的订单${1}已发货。", variables=[("CHARDIGIT", 20)]
    )
    contact = factories.create_contact(acme, name="Ops team")
    contact_list = ContactList.objects.create(account=acme, name="Customers", field_names=["city"])
    list_contact = Contact.objects.create(
        contact_list=contact_list, phone="+8613800138000", name="Wang", fields={"city": "杭州"}
    )
    opt_out = OptOut.objects.create(account=acme, phone="+8613900139000")
    recipient_import = RecipientImport(
        account=acme,
        application=shop,
        template=template,
        original_name="orders.csv",
        size=24,
        status=RecipientImport.Status.COMPLETED,
        rows_read=2,
        accepted=1,
        rejected=1,
        segments=1,
        reason_counts={"invalid_number": 1},
    )
    recipient_import.file.save("orders.csv", ContentFile(b"13800138000,A1\n12345,A2\n"), save=False)
    recipient_import.save()
    RejectedRow.objects.create(
        recipient_import=recipient_import, row_number=2, cells=["12345", "A2"], reason="invalid_number"
    )
    connection = ProviderConnection.objects.create(name="simulator", host="127.0.0.1", port=2775, system_id="smsc")
    campaign = Campaign.objects.create(
        account=acme,
        application=shop,
        signature=signature,
        template=template,
        connection=connection,
        name="double_eleven",
        recipient_import=recipient_import,
        created_by=alice,
    )
    invitation = Invitation.objects.create(account=acme, email="dora@example.com", invited_by=alice)
    message = Message.objects.create(
        campaign=campaign,
        connection=connection,
        phone="+8613800138000",
        variables=["A1"],
        status="failed",
        error_code="11",
    )
    access_key, _secret = create_access_key(acme, "CI template sync", alice)
    return {
        "access_key": access_key,
        "application": shop,
        "qualification": qualification,
        "signature": signature,
        "template": template,
        "notification_contact": contact,
        "contact_list": contact_list,
        "list_contact": list_contact,
        "opt_out": opt_out,
        "import": recipient_import,
        "campaign": campaign,
        "invitation": invitation,
        "membership": alice.membership,
        "message": message,
    }


def url_arguments(namespace, name, arguments, objects):
    """Fills a console URL's arguments with alice's objects; None when the URL is not known here."""
    by_noun = {
        "application": "application",
        "qualification": "qualification",
        "signature": "signature",
        "template": "template",
        "import": "import",
        "opt_out": "opt_out",
        "campaign": "campaign",
    }
    noun = next((key for key in by_noun if name.startswith(key + "_")), None)
    if namespace == "templates_app" and name.startswith("contact_"):
        noun = "notification_contact"
    elif namespace == "campaigns" and name.startswith("contact_list_"):
        noun = "contact_list"
    elif namespace == "campaigns" and name.startswith("contact_"):
        noun = "contact_list"
    elif namespace == "accounts" and name.startswith("invitation_"):
        noun = "invitation"
    elif namespace == "accounts" and name.startswith("member_"):
        noun = "membership"
    elif namespace == "api" and name.startswith("access_key_"):
        noun = "access_key"
    elif namespace == "reports" and name == "record":
        noun = "message"
    elif namespace == "reports" and name in {"failed_numbers", "resend_failed", "diagnostics"}:
        noun = "campaign"
    values = {}
    for argument in arguments:
        if argument == "pk" and noun:
            values[argument] = objects[by_noun.get(noun, noun)].pk
        elif argument == "contact_pk":
            values[argument] = objects["list_contact"].pk
        elif argument == "template_pk":
            values[argument] = objects["template"].pk
        elif argument == "fmt":
            values[argument] = "csv"
        elif argument == "field":
            values[argument] = "business_licence"
        elif argument in {"token", "uidb64"}:
            # A link that cannot be used: its page explains why, in the reader's language.
            values[argument] = "not-a-valid-link"
        else:
            return None
    return values


def console_urls(objects):
    """(url name, path) for every page of the console's own URL maps, filled with alice's objects."""
    found, unknown = [], []
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLPattern) and entry.name:
            patterns = [(None, entry)]
        elif isinstance(entry, URLResolver) and entry.namespace in {
            "templates_app",
            "campaigns",
            "accounts",
            "reports",
            "api",
        }:
            patterns = [(entry.namespace, p) for p in entry.url_patterns if isinstance(p, URLPattern)]
        else:
            continue  # the admin and Django's set_language view
        for namespace, pattern in patterns:
            full_name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            if full_name in {"login", "logout"}:
                continue
            arguments = url_arguments(namespace, pattern.name, pattern.pattern.converters, objects)
            if arguments is None:
                unknown.append(full_name)
            else:
                found.append((full_name, reverse(full_name, kwargs=arguments)))
    assert unknown == [], "teach url_arguments how to fill these URLs"
    return found


class TextNodes(HTMLParser):
    """Collects the visible text of a page, one stripped string per text node."""

    def __init__(self):
        super().__init__()
        self.texts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def visible_texts(html):
    parser = TextNodes()
    parser.feed(html)
    return parser.texts


def english_msgids():
    """Messages whose Chinese differs from the English: seeing them on a zh-hans page means a miss."""
    return {
        e["msgid"]
        for e in translatable(parse_po(PO_FILE))
        if "msgid_plural" not in e and e["msgstr"] != e["msgid"] and "%(" not in e["msgid"]
    }


def switch_language(client, code):
    response = client.post(reverse("set_language"), {"language": code, "next": reverse("dashboard")})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == code


LEFTOVER = re.compile(r"%\(\w+\)[sd]|\{\{|\{%|(?<!\$)\{[a-z_]+\}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_console_page_answers_in_both_languages_without_placeholders(alice_client, objects, language, settings):
    settings.SMS_SIGNUP_ENABLED = True
    switch_language(alice_client, language)
    english = english_msgids() if language == "zh-hans" else set()
    checked = 0
    for name, path in console_urls(objects):
        response = alice_client.get(path)
        if response.status_code == 405:
            # Actions such as submit or urge only answer POST.
            assert "POST" in response["Allow"], name
            continue
        assert response.status_code in {200, 302}, (name, path, response.status_code)
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("login")), name
            continue
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        assert not LEFTOVER.findall(html), (name, LEFTOVER.findall(html))
        if "<html" in html:
            assert f'<html lang="{language}">' in html, name
        # Labels end in a colon; "Application:" is as untranslated as "Application".
        assert [text for text in visible_texts(html) if text.rstrip(":：") in english] == [], name
        checked += 1
    assert checked > 20


CHINESE = {
    "dashboard": [
        "总览",
        "资质管理",
        "签名管理",
        "模板管理",
        "应用管理",
        "审核通过",
        "待审核",
        "审核不通过",
        "联系人管理",
    ],
    "templates_app:template_list": [
        "模板管理",
        "申请模板",
        "拆分条数",
        "审核通过-激活",
        "验证码类",
        "通知类",
        "推广类",
        "全部状态",
    ],
    # A signature that may send is 处理完毕 in the reference's words (cloud-sms-spec.md 2.3).
    "templates_app:signature_list": ["签名管理", "申请签名", "通道号", "处理完毕", "企事业单位", "通知类"],
    "templates_app:qualification_list": ["资质管理", "添加资质", "审核通过", "删除所选项"],
    "campaigns:sending_settings": [
        "发送设置",
        "推广短信开始时间",
        "日发送量预警值",
        "发送频率限制",
        "同一号码、相同内容",
    ],
    "campaigns:balance": ["余额", "每条计费单价", "验证码和通知短信", "收支明细"],
}
ENGLISH = {
    "dashboard": ["Overview", "Qualifications", "Signatures", "Templates", "Approved", "Pending review", "Rejected"],
    "templates_app:template_list": [
        "Templates",
        "Apply for a template",
        "Segments",
        "Approved (active)",
        "Notification",
    ],
    "templates_app:signature_list": [
        "Signatures",
        "New signature",
        "Channel number",
        "Approved",
        "Enterprise or institution",
    ],
    "templates_app:qualification_list": ["Qualifications", "New qualification", "Approved", "Delete selected"],
    "campaigns:sending_settings": ["Sending settings", "Promotions from", "Daily alert threshold", "Frequency caps"],
    "campaigns:balance": ["Balance", "Prices per segment", "Ledger"],
}


@pytest.mark.parametrize("name", list(CHINESE))
def test_the_language_switch_turns_the_review_pages_chinese(alice_client, objects, name):
    switch_language(alice_client, "zh-hans")
    html = alice_client.get(reverse(name)).content.decode()
    for text in CHINESE[name]:
        assert text in html, text
    assert "Approved" not in visible_texts(html)


@pytest.mark.parametrize("name", list(ENGLISH))
def test_switching_back_shows_english_again(alice_client, objects, name):
    switch_language(alice_client, "zh-hans")
    switch_language(alice_client, "en")
    html = alice_client.get(reverse(name)).content.decode()
    for text in ENGLISH[name]:
        assert text in html, text
    assert "审核通过" not in html


def test_the_qualification_and_signature_pages_name_their_fields_in_chinese(alice_client, objects):
    switch_language(alice_client, "zh-hans")
    qualification = alice_client.get(reverse("templates_app:qualification_detail", args=[objects["qualification"].pk]))
    assert "资质" in qualification.content.decode() and "企业名称" in qualification.content.decode()
    signature = alice_client.get(
        reverse("templates_app:signature_detail", args=[objects["signature"].pk])
    ).content.decode()
    assert "签名" in signature and "通道号" in signature and "处理完毕" in signature
    form = alice_client.get(reverse("templates_app:template_create")).content.decode()
    assert "申请模板" in form and "变量" in form and "提交审核" in form


def test_the_login_page_and_the_admin_use_djangos_own_chinese(client, factories, shop, rita):
    factories.create_template(shop, name="waiting", status="pending_review")
    switch_language(client, "zh-hans")
    login = client.get(reverse("login")).content.decode()
    assert "用户名" in login and "密码" in login
    client.force_login(rita)
    admin_index = client.get(reverse("admin:index")).content.decode()
    assert "站点管理员" in admin_index and "资质" in admin_index and "签名" in admin_index
    changelist = client.get(reverse("admin:templates_app_template_changelist")).content.decode()
    assert "审核通过所选项" in changelist and "驳回所选项" in changelist and "执行" in changelist
    assert "待审核" in changelist


def test_import_pages_say_not_imported_where_review_pages_say_rejected(alice_client, objects):
    # "Rejected" is a review status and an import count; the import pages use the msgctxt "import rows".
    switch_language(alice_client, "zh-hans")
    imports = visible_texts(alice_client.get(reverse("campaigns:import_list")).content.decode())
    assert "未导入" in imports and "已导入" in imports and "审核不通过" not in imports
    dashboard = alice_client.get(reverse("dashboard")).content.decode()
    assert "审核不通过" in dashboard
