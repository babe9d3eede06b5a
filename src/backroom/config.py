"""Typed settings from the environment (``BACKROOM_`` prefix, nested with ``__``); built once by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 1025
    sender: str = "Backroom Store <orders@example.com>"
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    timeout_s: float = 10.0
    templates_dir: Path | None = None  # your own email templates: a file there replaces the shipped one by name


class WarehouseSettings(BaseModel):
    """Where fulfillment requests go: a signed HTTP POST, or a CSV file per request in a folder."""

    mode: Literal["csv", "http"] = "csv"
    url: str | None = None
    secret: SecretStr | None = None
    csv_dir: Path | None = None
    timeout_s: float = 10.0


class WorkerSettings(BaseModel):
    concurrency: int = 4
    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0
    poll_s: float = 5.0


class EffectSettings(BaseModel):
    max_attempts: int = 5
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 900.0


class SlackSettings(BaseModel):
    """Incoming webhooks: a default one, and optionally one per channel name (``{"#ops": "https://hooks…"}``)."""

    webhook_url: SecretStr | None = None
    channels: dict[str, SecretStr] = Field(default_factory=dict)
    timeout_s: float = 10.0


class ShopifySettings(BaseModel):
    """Webhooks from Shopify stores: the app's client secret, and which backroom store each shop domain feeds
    (``{"acme.myshopify.com": "acme"}``; a shop not listed feeds the store named after its subdomain); and calls
    back to the Admin API: a token per shop domain, the API version, and per-shop base URLs (the emulator)."""

    webhook_secret: SecretStr | None = None
    shops: dict[str, str] = Field(default_factory=dict)
    access_tokens: dict[str, SecretStr] = Field(default_factory=dict)  # shop domain → Admin API access token
    api_version: str = "2026-10"  # the GraphQL Admin API version called (client.API_VERSION)
    api_urls: dict[str, str] = Field(default_factory=dict)  # shop domain → base URL instead of https://{shop}


class WooCommerceSettings(BaseModel):
    """Webhooks from WooCommerce sites: the secret set on the webhooks, and which backroom store each site feeds
    (``{"shop.example.com": "acme"}`` by host; a site not listed feeds the store named after its host). REST API
    keys (WooCommerce → Settings → Advanced → REST API, Read/Write) by site host: ``{"shop.example.com": "ck_…"}``
    and ``{"shop.example.com": "cs_…"}``."""

    webhook_secret: SecretStr | None = None
    sites: dict[str, str] = Field(default_factory=dict)
    consumer_keys: dict[str, SecretStr] = Field(default_factory=dict)
    consumer_secrets: dict[str, SecretStr] = Field(default_factory=dict)


class RulesSettings(BaseModel):
    webhook_secret: SecretStr | None = None
    webhook_timeout_s: float = 10.0
    webhook_allow_private: bool = False  # let call_webhook reach loopback/private addresses (a receiver on your LAN)


class AlertSettings(BaseModel):
    """When the owner is told that something needs them (see docs/operations.md, "Alerts"). A threshold or window
    of 0 turns its check off."""

    email_to: str | None = None  # alerts by email to this address (unset: no email)
    slack_channel: str = ""  # Slack channel for alerts, when a Slack webhook is configured ("": the default one)
    review_queue_max: int = 50  # more open review items than this
    review_age_max_h: float = 24.0  # an open review item this old
    quiet_period_min: float = 120.0  # a store silent this long, counted in business hours
    business_hours: str = "Mon-Fri 09:00-18:00"  # in each store's timezone; "; " joins spans
    error_rate_window_min: float = 60.0  # the recent window of an automation's error rate
    error_rate_baseline_h: float = 24.0  # the baseline before that window
    error_rate_min_events: int = 20  # runs needed in the window (and in the baseline, to compare with it)
    error_rate_floor: float = 0.05  # the recent share of troubled runs must reach this …
    error_rate_jump: float = 3.0  # … and this many times the baseline's share
    repeat_after_h: float = 24.0  # remind about an alert still open after this long
    check_every_s: float = 60.0  # how often a worker runs the checks


class ConnectorSettings(BaseModel):
    """Reconciliation polls of connected stores (docs/connectors.md): how often, and how far back the first one
    reads."""

    reconcile_every_s: float = 300.0  # 0: never (webhooks only)
    first_look_back_h: float = 72.0


class ReplenishmentConfig(BaseModel):
    """The replenishment plan (docs/replenishment.md): the service level it plans for, how much history it reads,
    when it runs each night (in each store's timezone) and when stock counts as dead or slow."""

    # the bootstrap's setting that served ≥ 98 % of demand from stock in every backtest (docs/replenishment.md)
    service_level: float = Field(0.995, gt=0, lt=1)
    uncertainty: Literal["empirical", "normal"] = "empirical"  # how safety stock is set (docs/replenishment.md)
    history_days: int = Field(365, ge=28)
    plan_at: str = Field("02:00", pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$")  # local HH:MM; "": never
    check_every_s: float = 300.0  # how often a worker looks whether a store's nightly plan is due
    dead_after_days: int = 90
    slow_cover_days: float = 120.0
    default_lead_time_days: float = 14.0


class MarketingConfig(BaseModel):
    """Marketing flows (docs/flows.md): off until the owner opts in by naming the flows to run. Marketing mail
    carries a signed one-click unsubscribe link, so enabling a flow needs ``unsubscribe_secret`` and the address
    customers reach backroom at (``public_url``)."""

    enabled_flows: list[str] = Field(default_factory=list)  # e.g. ["abandoned_checkout"]; [] = no flow runs
    flows_file: Path | None = None  # your own flows YAML instead of the shipped ones
    unsubscribe_secret: SecretStr | None = None  # signs the unsubscribe links (HMAC-SHA256)
    public_url: str = "http://127.0.0.1:8000"  # where /unsubscribe/… is served, as customers reach it
    tick_every_s: float = 60.0  # how often a worker advances the enrollments that are due; 0: never
    batch: int = Field(200, ge=1)  # due enrollments taken per transaction
    frequency_cap_h: float = Field(16.0, ge=0)  # at most one marketing email per customer per this many hours
    quiet_hours: str = Field("21:00-08:00", pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])?$")
    # links the post-purchase emails show, per product ({sku}, URL-encoded) and per order ({order_number}); "": none
    product_url: str = ""  # e.g. https://shop.example.com/search?q={sku}
    review_url: str = ""  # e.g. https://shop.example.com/products/{sku}#reviews


@dataclass(frozen=True)
class LlmSettings:
    """An optional OpenAI-compatible endpoint for the support agent (docs/support.md); no URL, no model."""

    url: str | None
    model: str
    api_key: SecretStr | None
    timeout_s: float
    max_tokens: int = 300


class ImapSettings(BaseModel):
    """Customer email fetched from a mailbox (docs/support.md, "Email by IMAP"): where, as whom, and how often. The
    password comes from the environment only (``BACKROOM_SUPPORT__IMAP__PASSWORD``)."""

    enabled: bool = False  # a worker fetches every poll_every_s; `backroom support fetch-mail` works either way
    host: str | None = None
    port: int | None = None  # unset: 993 with ssl, else 143
    username: str | None = None
    password: SecretStr | None = None
    ssl: bool = True  # IMAP over TLS (IMAPS); false: plain IMAP, upgraded with starttls
    starttls: bool = False  # with ssl false: STARTTLS before logging in (false: only for a server on your own host)
    ca_file: Path | None = None  # a private CA's certificate (PEM) to trust instead of the system's
    mailbox: str = "INBOX"
    rejected_folder: str | None = None  # a malformed email is moved here; unset: it stays, marked seen
    store: str | None = None  # the store this mailbox writes to; unset: BACKROOM_STORE
    poll_every_s: float = Field(60.0, ge=0)  # 0: never (fetch-mail only)
    batch: int = Field(50, ge=1)  # the most messages one poll handles (the rest wait for the next)
    timeout_s: float = 30.0


class SupportConfig(BaseModel):
    """The support agent (docs/support.md): the store's policy documents, when a person takes over, and how much
    time an automated conversation is counted as saving."""

    policies_dir: Path | None = None  # markdown files; unset: the sample policies bundled with backroom
    confidence_floor: float = Field(0.45, ge=0, le=1)  # below this the agent hands over instead of guessing
    high_value: Decimal = Decimal("1000")  # orders this large are acted on by a person
    vip_spend: Decimal = Decimal("2500")  # customers who spent this much get a person for anything consequential
    return_window_days: int = Field(30, ge=0)  # days after delivery the agent may start a return (match returns.md)
    minutes_per_conversation: float = 6.0  # a person's time an automated conversation saves (for hours saved)
    widget_secret: SecretStr | None = None  # signs logged-in customers' identity tokens for the chat widget
    widget_origins: list[str] = Field(default_factory=list)  # the store sites allowed to call /widget/messages
    imap: ImapSettings = ImapSettings()  # fetch customer email from a mailbox, beside or instead of /inbound/email


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKROOM_", env_nested_delimiter="__", extra="ignore")

    database_url: str | None = Field(default=None, description="PostgreSQL ≥ 14; unset = embedded server")
    home: Path = Path(".backroom")
    store: str = "default"
    api_token: SecretStr | None = None
    inbound_secret: SecretStr | None = None
    high_value_threshold: Decimal = Decimal("1000")
    handling_days: int = 1
    low_stock_threshold: int = 5
    smtp: SmtpSettings = SmtpSettings()
    slack: SlackSettings = SlackSettings()
    shopify: ShopifySettings = ShopifySettings()
    woocommerce: WooCommerceSettings = WooCommerceSettings()
    connectors: ConnectorSettings = ConnectorSettings()
    rules: RulesSettings = RulesSettings()
    alerts: AlertSettings = AlertSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    worker: WorkerSettings = WorkerSettings()
    effects: EffectSettings = EffectSettings()
    replenishment: ReplenishmentConfig = ReplenishmentConfig()
    support: SupportConfig = SupportConfig()
    marketing: MarketingConfig = MarketingConfig()
    llm_url: str | None = None  # an OpenAI-compatible endpoint (…/v1/chat/completions is appended); unset: none
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 3.0

    @property
    def llm(self) -> LlmSettings:
        return LlmSettings(self.llm_url, self.llm_model, self.llm_api_key, self.llm_timeout_s)

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.csv_dir or self.home / "warehouse" / "outbox"
