from campaigns.models.audience import (  # noqa: F401
    Contact,
    ContactList,
    ListImport,
    ListImportRejectedRow,
    OptOut,
    Recipient,
    RecipientImport,
    RejectedRow,
    SuppressedNumber,
)
from campaigns.models.limits import AccountLimits, QuotaUsage  # noqa: F401
from campaigns.models.money import LedgerEntry, MonthlyVolume  # noqa: F401
from campaigns.models.notices import Notice  # noqa: F401
from campaigns.models.replies import ApiMessage, Push, PushAttempt, Reply, StatusReportDue  # noqa: F401
from campaigns.models.sending import (  # noqa: F401
    Batch,
    Campaign,
    CampaignCount,
    Message,
    MessagePart,
    PendingReceipt,
    ProviderConnection,
    RemoteTemplate,
)
from campaigns.models.stats import HourlyStat  # noqa: F401
