"""Provider library: typed errors, the normalized model, credentials, provider adapters and the
fallback crawler (``providers.crawler``, imported separately because it pulls in aiohttp).

No Dagster here: this package is usable from any asyncio program.
"""

from providers.credentials import Credential, CredentialSource, Outcome, StaticCredentials
from providers.errors import (
    BadInput,
    CredentialRejected,
    MalformedResponse,
    NoProviderAvailable,
    ProviderError,
    ProviderFault,
    ProviderUnavailable,
    RateLimited,
    TargetFact,
    TargetNotFound,
    TargetNotServed,
    TargetPrivate,
)
from providers.http import ProviderRequest, RawResponse, redact_headers, redact_url
from providers.model import InstagramPost, InstagramProfile, ProfileWithPosts, flatten

__all__ = [
    "BadInput",
    "Credential",
    "CredentialRejected",
    "CredentialSource",
    "InstagramPost",
    "InstagramProfile",
    "MalformedResponse",
    "NoProviderAvailable",
    "Outcome",
    "ProfileWithPosts",
    "ProviderError",
    "ProviderFault",
    "ProviderRequest",
    "ProviderUnavailable",
    "RateLimited",
    "RawResponse",
    "StaticCredentials",
    "TargetFact",
    "TargetNotFound",
    "TargetNotServed",
    "TargetPrivate",
    "flatten",
    "redact_headers",
    "redact_url",
]
