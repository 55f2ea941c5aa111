"""What the links gate's refusals mean (``sealbox.links``), and a managed
link's use count: a link whose signature is right may still be revoked,
used up, or used from an address or in a way its terms exclude."""

from __future__ import annotations

from sealbox.doctor.model import Cause
from sealbox.links import model
from sealbox.links.model import LinkRecord

_CODES = {
    model.REVOKED: ("Revoked", "The link (its signature) has been revoked; ask for a new one."),
    model.USED_UP: ("UsedUp", "The link has been used as many times as it allows."),
    model.WRONG_ADDRESS: ("AddressNotAllowed", ("The link is bound to other addresses than "
                          "this client's.")),
    model.UNKNOWN_LINK: ("AccessDenied", ("The link id (X-Sealbox-Link) is not known to this "
                         "server: it expired and was swept, or it was made elsewhere.")),
    model.WRONG_SIGNER: ("AccessDenied", "The link was made for another access key."),
    model.WRONG_OPERATION: ("AccessDenied", ("The link allows another operation, bucket or "
                            "key.")),
    model.WRONG_VERSION: ("AccessDenied", ("The link reads one version of its key (or only "
                          "the current one) and the request names another.")),
}


def is_link_refusal(message: str) -> bool:
    """Whether ``message`` is one of the links gate's refusals."""
    return message in _CODES or message.startswith(("The link ",))


def refusal_cause(message: str, client_ip: str | None = None,
                  record: LinkRecord | None = None) -> Cause:
    """The cause of the links gate's refusal ``message`` (its AccessDenied text)."""
    code, text = _CODES.get(message, ("AccessDenied", f"The link's terms refuse it: {message}."))
    expected = got = None
    if code == "AddressNotAllowed":
        expected = ", ".join(record.bind) if record is not None else None
        got = client_ip
    if code == "UsedUp" and record is not None and record.max_uses is not None:
        plural = "" if record.max_uses == 1 else "s"
        expected, got = f"at most {record.max_uses} use{plural}", f"{record.uses} used"
    return Cause(code, text, expected=expected, got=got)


def used_up(record: LinkRecord) -> Cause | None:
    """``UsedUp`` when the link has no use left (the gate counts a use only
    when one is made, so the doctor asks the record)."""
    if record.max_uses is not None and record.uses >= record.max_uses:
        return refusal_cause(model.USED_UP, record=record)
    return None
