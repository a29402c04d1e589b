"""What ties a JWT to the password it was issued under, without saying anything about it.

simplejwt's own revocation claim (CHECK_REVOKE_TOKEN) is an MD5 of the password hash, readable by
anyone holding a token. Ours is an HMAC of the password hash under the JWT signing key: it changes
whenever the password does (API change, browser reset, admin, createsuperuser), so every token
issued before stops working, and without the key it tells nothing about the password.
"""

import hashlib
import hmac

from django.conf import settings

PASSWORD_CLAIM = "pwv"


def password_fingerprint(user) -> str:
    key = settings.SIMPLE_JWT["SIGNING_KEY"].encode()
    return hmac.new(key, (user.password or "").encode(), hashlib.sha256).hexdigest()[:32]


def issued_under_current_password(token, user) -> bool:
    return hmac.compare_digest(str(token.get(PASSWORD_CLAIM, "")), password_fingerprint(user))
