"""The rejection-reason catalogue reviewers choose from (cloud-sms-spec.md 2.5), plus free text.

Service activation (开通, accounts.models.ServiceApplication) and the activation of a signature after
arrears (激活, templates_app.models.Signature) have no catalogue in the reference; their reasons are
the checks a reviewer makes of who applies and for what."""

from django.utils.translation import gettext_lazy as _

QUALIFICATION = "qualification"
SIGNATURE = "signature"
TEMPLATE = "template"
SERVICE = "service"
ACTIVATION = "activation"
OTHER = "other"

CATALOGUE = {
    QUALIFICATION: [
        ("qual_document_unreadable", _("Materials: a document is unreadable or incomplete")),
        ("qual_company_mismatch", _("Materials: the company differs from the account's real-name company")),
        (
            "qual_authorisation_letter",
            _("Materials: third-party use without a valid authorisation letter (≥ 6 months, stamped, signed)"),
        ),
        ("qual_id_mismatch", _("Materials: the ID documents do not match the named people")),
    ],
    SIGNATURE: [
        (
            "sig_owner_mismatch",
            _("Materials or source: the materials' owner differs from the app or mini-program owner"),
        ),
        (
            "sig_source_not_found",
            _("Materials or source: the mini program, official account, shop or trademark cannot be found"),
        ),
        (
            "sig_not_company_name",
            _("Materials or source: not the company's full or short name (give the product page for a product)"),
        ),
        (
            "sig_website_not_registered",
            _("Materials or source: the website is not ICP-registered or the domain is wrong"),
        ),
        ("sig_wrong_licence", _("Materials or source: third-party case with the wrong licence uploaded")),
        ("sig_format", _("Format: length, characters or all digits; English-only names need proof")),
        ("sig_neutral", _("Neutral signature: the owner cannot be identified")),
    ],
    TEMPLATE: [
        ("tpl_wrong_signature", _("Application: wrong test or universal signature chosen")),
        ("tpl_subject_mismatch", _("Application: the template's subject differs from the signature's")),
        ("tpl_wrong_type", _("Application: wrong type (a notice filed as verification, a promotion as a notice)")),
        ("tpl_variables", _("Format: adjacent or too many variables, malformed ${}, or a wrong variable attribute")),
        ("tpl_signature_in_text", _("Format: the signature is repeated in the text")),
        ("tpl_symbols", _("Format: banned symbols or 【】")),
        ("tpl_banned_industry", _("Content: banned industry")),
        ("tpl_expired_promotion", _("Content: expired holiday promotion")),
        ("tpl_invites", _("Content: QQ, WeChat or group invitations")),
        ("tpl_link_variable", _("Content: links in variables")),
        ("tpl_no_opt_out", _("Content: a promotion without an opt-out")),
        ("tpl_verification_content", _("Content: a verification template without its keyword or with marketing")),
    ],
    SERVICE: [
        ("svc_company_unverified", _("Company: the company name cannot be verified or is not a registered company")),
        ("svc_use_unclear", _("Use: what the account will send, and to whom, is missing or unclear")),
        (
            "svc_prohibited_business",
            _("Use: the business is one the carriers do not allow (gambling, loans, adult content and the like)"),
        ),
        ("svc_duplicate", _("Account: the company already has an activated account")),
    ],
    ACTIVATION: [
        ("act_unpaid", _("Account: the arrears are not settled")),
        ("act_owner_changed", _("Signature: its owner or materials changed since it was filed; apply for it again")),
        ("act_violation", _("Account: sending is suspended for a violation of the sending rules")),
    ],
}


def choices(kind):
    return [*CATALOGUE[kind], (OTHER, _("Other (describe below)"))]


def codes(kind):
    return {code for code, _label in choices(kind)}


def label(code):
    for entries in CATALOGUE.values():
        for entry_code, entry_label in entries:
            if entry_code == code:
                return entry_label
    return _("Other") if code == OTHER else code
