"""NetSuite OAuth 2.0 machine-to-machine: a JWT assertion signed by the certificate's key.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162686838198.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162730264820.html

An integration record (client id) and a certificate uploaded to NetSuite's
OAuth 2.0 Client Credentials setup (its certificate id) let arbridge ask for
an access token with no person present: POST
/services/rest/auth/oauth2/v1/token with grant_type=client_credentials and a
client_assertion, a JWT whose header names the certificate (kid) and whose
claims name the client (iss), the token endpoint (aud) and the scopes, signed
by the certificate's private key (PS256 for an RSA key, ES256 for an EC key).
Access tokens live 60 minutes; there is no refresh token: a new assertion is
signed for each. A token is fetched before the first call, again within a
minute of its expiry, and again once after a 401.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Generator
from typing import Any, ClassVar

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, SecretStr, field_validator

from arbridge.connectors import base
from arbridge.connectors.base import AuthError, RetryableError
from arbridge.connectors.http import vendor_message

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a path, not a secret
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPES = ["rest_webservices"]
ASSERTION_TTL_S = 300
MARGIN_S = 60.0


def account_host(account_id: str) -> str:
    """Return an account's REST domain: 1234567_SB1 -> https://1234567-sb1.suitetalk.api.netsuite.com."""
    return f"https://{account_id.strip().lower().replace('_', '-')}.suitetalk.api.netsuite.com"


class Credentials(base.Credentials):
    """What a NetSuite administrator sets up for arbridge: an integration and a certificate."""

    account_field: ClassVar[str] = "account_id"

    account_id: str = Field(
        title="Account ID",
        description="Setup > Company > Company Information, e.g. 1234567 or 1234567_SB1.",
        min_length=1,
    )
    client_id: str = Field(
        title="Client ID", description="The integration record's consumer key.", min_length=1
    )
    certificate_id: str = Field(
        title="Certificate ID",
        description="Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup.",
        min_length=1,
    )
    private_key: SecretStr = Field(
        title="Private key (PEM)", description="The key of the certificate uploaded there."
    )
    base_url: str = Field(
        "", title="REST address", description="Leave blank: derived from the account ID."
    )

    @field_validator("private_key")
    @classmethod
    def _a_key(cls, value: SecretStr) -> SecretStr:
        try:
            load_pem_private_key(value.get_secret_value().encode(), password=None)
        except (ValueError, TypeError):
            raise base.FieldError("private_key", "This is not a PEM private key.") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return base.https_url(value) if value else ""


def assertion(
    client_id: str, certificate_id: str, private_key: str, token_url: str, now: float
) -> str:
    """Return the signed client assertion for one token request."""
    key = load_pem_private_key(private_key.encode(), password=None)
    algorithm = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "PS256"
    claims = {
        "iss": client_id,
        "scope": SCOPES,
        "aud": token_url,
        "iat": int(now),
        "exp": int(now) + ASSERTION_TTL_S,
        "jti": uuid.uuid4().hex,
    }
    header = {"alg": algorithm, "kid": certificate_id, "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(key, signing_input.encode()))}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(key: Any, data: bytes) -> bytes:
    """Return a JWS signature (RFC 7518): PS256 for an RSA key, ES256 (r || s) for P-256."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return key.sign(data, pss, hashes.SHA256())
    raise AuthError("the certificate's key is neither RSA nor EC P-256")


class ClientCredentialsAuth(httpx.Auth):
    """httpx auth that holds one access token, fetched by a signed assertion when due."""

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        certificate_id: str,
        private_key: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.certificate_id = certificate_id
        self.private_key = private_key
        self.clock = clock
        self.token: str = ""
        self.expires_at = 0.0
        self.fetched = 0
        self.lock = threading.Lock()

    def token_request(self) -> httpx.Request:
        signed = assertion(
            self.client_id, self.certificate_id, self.private_key, self.token_url, self.clock()
        )
        return httpx.Request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": signed,
            },
        )

    def take(self, response: httpx.Response) -> None:
        if response.status_code in (400, 401, 403):
            raise AuthError(f"NetSuite refused the client assertion: {vendor_message(response)}")
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(
                f"NetSuite's token endpoint answered {response.status_code}",
                status=response.status_code,
            )
        body: dict[str, Any] = response.json()
        if not body.get("access_token"):
            raise AuthError("NetSuite's token endpoint answered no access token")
        self.token = str(body["access_token"])
        self.expires_at = self.clock() + float(body.get("expires_in") or 3600)
        self.fetched += 1

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self.lock:
            if not self.token or self.clock() >= self.expires_at - MARGIN_S:
                self.take((yield self.token_request()))
            token = self.token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            with self.lock:
                if self.token == token:
                    self.take((yield self.token_request()))
                token = self.token
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
