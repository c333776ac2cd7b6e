"""电子证照标识 (GB/T 36904; RULES "Certificates", optional): the identifier a certificate carries beside its number.

Rules owned here:
- The identifier is `1.2.156.3005.2.<type>.<issuer USCC>.<number>.<version>.<check>`: the 电子证照 arc, the
  证照类型代码 (app config CERTIFICATE_LICENSE_TYPE; empty turns the identifier off), the issuing unit's 统一社会信用代码,
  the certificate number, the version (1 at issue) and one check character.
- The check character is ISO/IEC 7064 MOD 37,36 (alphabet 0–9 A–Z) over every character before it, the dots left
  out; a number's characters outside that alphabet are left out of its part (numbers are digits by default).
- It is given once, when the certificate is numbered, and never changes: a later change of the unit's credit code
  or of the type code does not rewrite certificates already issued.
"""

from __future__ import annotations

from flask import current_app

ARC = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MODULUS = 36
DEFAULT_TYPE = "ZCZS"  # a placeholder: each province sets the 证照类型代码 registered in its 电子证照 catalogue


def check_character(text: str) -> str:
    """ISO/IEC 7064 MOD 37,36 (hybrid system) check character of `text` (0–9 A–Z only)."""
    product = MODULUS
    for char in text:
        total = (product + ALPHABET.index(char)) % MODULUS or MODULUS
        product = total * 2 % (MODULUS + 1)
    return ALPHABET[(MODULUS + 1 - product) % MODULUS]


def is_valid(identifier: str) -> bool:
    """The identifier's last character checks the rest (the same residue rule, as a reader's system applies it)."""
    body, _, check = identifier.rpartition(".")
    compact = body.replace(".", "")
    return (len(check) == 1 and check in ALPHABET and all(c in ALPHABET for c in compact)
            and check_character(compact) == check)


def identifier(credit_code: str, number: str, version: int = 1, type_code: str | None = None) -> str | None:
    """The certificate's identifier, or None when the platform issues none (no type code configured)."""
    code = current_app.config.get("CERTIFICATE_LICENSE_TYPE", DEFAULT_TYPE) if type_code is None else type_code
    if not code:
        return None
    parts = [ARC, code.upper(), credit_code.upper(), "".join(c for c in number.upper() if c in ALPHABET),
             str(version)]
    body = ".".join(parts)
    return f"{body}.{check_character(body.replace('.', ''))}"
