"""The sandbox's OAuth 2.0 client credentials (M2M): assertions checked, tokens issued.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162686838198.html

An integration (client id) of an account has certificates (certificate id
-> public key). POST /services/rest/auth/oauth2/v1/token takes
grant_type=client_credentials and a client_assertion signed by one of them
(PS256, RS256 or ES256); the header's kid names the certificate, iss the
client, aud the token endpoint, exp at most an hour after iat. A token
reaches its account only and lives TOKEN_TTL_S.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

TOKEN_TTL_S = 3600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


@dataclass
class Certificate:
    account_id: str
    client_id: str
    public_key: Any


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(key: Any, alg: str, data: bytes, signature: bytes) -> None:
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
        if len(signature) != 64:
            raise InvalidSignature
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    elif alg == "PS256" and isinstance(key, rsa.RSAPublicKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        key.verify(signature, data, pss, hashes.SHA256())
    elif alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise InvalidSignature


class Auth:
    def __init__(self) -> None:
        self.certificates: dict[str, Certificate] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (account, expires at)
        self.issued = 0

    def register(self, account_id: str, client_id: str, certificate_id: str, pem: str) -> None:
        self.certificates[certificate_id] = Certificate(
            account_id, client_id, load_pem_public_key(pem.encode())
        )

    def token(self, account_id: str, form: dict[str, str], audience: str, now: float) -> dict:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", "client_assertion_type must be jwt-bearer")
        try:
            head, body, signature = str(form.get("client_assertion") or "").split(".")
            header, claims = json.loads(unb64(head)), json.loads(unb64(body))
        except ValueError:
            raise OAuthError("invalid_request", "the client assertion is not a JWT") from None
        certificate = self.certificates.get(str(header.get("kid") or ""))
        if certificate is None or certificate.account_id != account_id:
            raise OAuthError("invalid_client", "no such certificate for this account")
        try:
            verify(
                certificate.public_key,
                str(header.get("alg")),
                f"{head}.{body}".encode(),
                unb64(signature),
            )
        except (InvalidSignature, ValueError):
            raise OAuthError("invalid_client", "the assertion's signature is wrong") from None
        if claims.get("iss") != certificate.client_id:
            raise OAuthError("invalid_client", "iss is not the certificate's client")
        if claims.get("aud") != audience:
            raise OAuthError("invalid_client", "aud is not this token endpoint")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp <= now or exp - iat > 3600:
            raise OAuthError("invalid_grant", "the assertion has expired or lives too long")
        if "rest_webservices" not in (claims.get("scope") or []):
            raise OAuthError("invalid_scope", "the scope must include rest_webservices")
        access = secrets.token_urlsafe(24)
        self.tokens[access] = (account_id, now + TOKEN_TTL_S)
        self.issued += 1
        return {"access_token": access, "token_type": "bearer", "expires_in": TOKEN_TTL_S}

    def account_of(self, authorization: str, now: float) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        found = self.tokens.get(token.strip())
        if found is None or found[1] <= now:
            return None
        return found[0]

    def expire(self) -> int:
        expired = len(self.tokens)
        self.tokens = {t: (a, 0.0) for t, (a, _) in self.tokens.items()}
        return expired


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
