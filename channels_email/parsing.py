"""Raw MIME (RFC 822 / 5322 bytes, or an already parsed ``email.message.EmailMessage`` such as
Anymail's inbound message) to the facts the email channel needs. No database access here.

Real mail is messy: unknown or wrong charsets, broken transfer encodings, headers that make the
stdlib's strict header parser raise. Every step falls back instead of failing, and what could not
be read is recorded in ``defects``; :class:`UnreadableEmail` is raised only when there is no way
to tell who wrote the message.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from functools import lru_cache

from channels_email.quotes import html_to_text
from hub import sniffing
from hub.message_ids import MAX_LENGTH as MAX_MESSAGE_ID_LENGTH
from hub.text import clean_text

_MSGID = re.compile(rf"<([^<>\s]{{1,{MAX_MESSAGE_ID_LENGTH}}})>")
_SUBJECT_REF = re.compile(r"\[#(\d{1,12})\]")
# Charsets mail clients declare that Python does not know under that name.
_CHARSET_ALIASES = {
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
    "unknown": "utf-8",
    "x-user-defined": "windows-1252",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "ansi_x3.4-1968": "ascii",
    "unicode-1-1-utf-7": "utf-7",
    "cp-850": "cp850",
    "macintosh": "mac_roman",
    "x-mac-roman": "mac_roman",
}
# Declared as one of these but valid multi-byte UTF-8: it is UTF-8 (a common mislabel).
_LATIN_LABELS = {"ascii", "us-ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}
# The WHATWG Encoding Standard decodes every one of these labels as windows-1252, as mail
# clients and browsers do: text declared ISO-8859-1 that carries bytes 0x80-0x9F means "€",
# curly quotes, "…" there, never the C1 control characters ISO-8859-1 would give.
_WINDOWS_1252_LABELS = {
    "ascii",
    "us-ascii",
    "iso-8859-1",
    "latin-1",
    "latin1",
    "l1",
    "cp819",
    "iso8859-1",
    "iso_8859-1",
    "ibm819",
    "windows-1252",
    "cp1252",
    "x-cp1252",
}
# C1 control characters (what ISO-8859-1 makes of 0x80-0x9F) as windows-1252 reads those bytes;
# the five bytes windows-1252 leaves undefined stay themselves (as in the WHATWG decoder).
_C1_AS_1252 = {
    code: bytes([code]).decode("windows-1252", errors="ignore") or chr(code)
    for code in range(0x80, 0xA0)
}
_C1 = re.compile("[\x80-\x9f]")

AUTO_REPLY_PRECEDENCE = {"bulk", "junk", "auto_reply", "auto-reply"}
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|out of (?:the )?office|risposta automatica|"
    r"fuori (?:sede|ufficio)|abwesenheitsnotiz|r\u00e9ponse automatique|respuesta autom\u00e1tica)"
    r"\s*:",
    re.I,
)
_BOUNCE_SENDERS = re.compile(r"^(?:mailer-daemon|postmaster)@", re.I)
_LINE_BREAKS = re.compile(r"[\r\n]")  # as EmailPolicy.header_fetch_parse unfolds


@lru_cache(maxsize=128)
def _parsed_header(name: str, value: str):
    return policy.default.header_factory(name, _LINE_BREAKS.sub("", value))


class _CachedHeaderPolicy(EmailPolicy):
    """``policy.default`` whose parsed header objects are reused.

    With ``policy.default`` every ``message.get(name)`` parses the header again with the full
    RFC 5322 parser, and reading one part's type, charset, disposition and file name reads its
    Content-Type and Content-Disposition a dozen times; most of those values also recur from one
    email to the next. Header objects are immutable, so a bounded cache keyed by (name, raw value)
    returns the same result without the parse. 128 entries get nearly every hit; a header
    object with its parse tree holds ~30 KB, so the cache stays under ~4 MB (1,024 entries held
    ~30 MB) whatever the number of emails.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        return _parsed_header(name, value)


PARSE_POLICY = _CachedHeaderPolicy()


class UnreadableEmail(Exception):
    """The bytes are not an email we can attribute to anyone; ``code`` says why."""

    def __init__(self, reason: str, code: str = "unreadable"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass
class EmailPart:
    filename: str
    content_type: str  # sniffed, see hub.sniffing
    declared_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False


@dataclass
class DeliveryReport:
    """What a DSN (multipart/report; report-type=delivery-status) says about one recipient."""

    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. 5.1.1
    diagnostic: str
    original_message_id: str

    @property
    def is_hard_bounce(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")


@dataclass
class ParsedEmail:
    message_id: str = ""
    subject: str = ""
    from_name: str = ""
    from_address: str = ""
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    reply_to: list[tuple[str, str]] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    date: datetime | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    text_from_html: bool = False
    parts: list[EmailPart] = field(default_factory=list)
    auto_reply_reason: str = ""
    reports: list[DeliveryReport] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    # Text parts decoded with another codec than they declared: {"type", "declared", "used"}.
    charsets: list[dict[str, str]] = field(default_factory=list)
    # Parts of a delivery report (the status part, the returned message or its headers): what
    # the report is about, not files the person sent.
    report_parts: list[EmailPart] = field(default_factory=list)

    @property
    def is_auto_reply(self) -> bool:
        return bool(self.auto_reply_reason) and not self.is_bounce

    @property
    def is_bounce(self) -> bool:
        """A delivery failure report (a DSN, or a mail server's plain-text bounce)."""
        return bool(self.reports)

    @property
    def thread_references(self) -> list[str]:
        """Message ids this one answers, nearest first (In-Reply-To, then References reversed)."""
        seen: dict[str, None] = {}
        for ref in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(ref, None)
        for report in self.reports:
            if report.original_message_id:
                seen.setdefault(report.original_message_id, None)
        return list(seen)

    @property
    def subject_ref(self) -> int | None:
        match = _SUBJECT_REF.search(self.subject or "")
        return int(match.group(1)) if match else None


def parse_bytes(raw: bytes) -> tuple[EmailMessage, ParsedEmail]:
    if not raw or not raw.strip():
        raise UnreadableEmail("Empty message.", code="empty")
    message = BytesParser(policy=PARSE_POLICY).parsebytes(raw)
    return message, parse_message(message)


def parse_message(message: Message) -> ParsedEmail:
    parsed = ParsedEmail()
    parsed.defects = sorted({type(d).__name__ for d in _all_defects(message)})
    parsed.message_id = _first_msgid(_header(message, "Message-ID"))
    parsed.subject = _decoded_header(message, "Subject")[:500]
    parsed.from_name, parsed.from_address = _sender(message)
    parsed.to = _addresses(message, "To")
    parsed.cc = _addresses(message, "Cc")
    parsed.reply_to = _addresses(message, "Reply-To")
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"):
        parsed.delivered_to += [address for _, address in _addresses(message, name)]
    parsed.date = _date(message)
    parsed.in_reply_to = _msgids(_header(message, "In-Reply-To"))
    parsed.references = _msgids(_header(message, "References"))[-100:]
    _walk_body(message, parsed)
    if not parsed.reports:
        parsed.reports = _plain_text_bounce(parsed)
    parsed.auto_reply_reason = _auto_reply_reason(message, parsed)
    if not parsed.from_address:
        raise UnreadableEmail(
            "No sender address (From, Sender, Reply-To, Return-Path).", "no_sender"
        )
    return parsed


# --- headers ------------------------------------------------------------------------------------


def _all_defects(message: Message):
    for part in message.walk():
        yield from getattr(part, "defects", [])


def _raw_header_values(message: Message, name: str) -> list[str]:
    """Header values without the strict parser (it can raise on malformed addresses)."""
    lname = name.lower()
    return [str(value) for key, value in getattr(message, "_headers", []) if key.lower() == lname]


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
        return str(value) if value is not None else ""
    except Exception:
        values = _raw_header_values(message, name)
        return _decode_words(values[0]) if values else ""


def _decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _decoded_header(message: Message, name: str) -> str:
    value = _header(message, name)
    value = _decode_words(value) if "=?" in value else value
    return re.sub(r"\s+", " ", fix_c1(value.replace("\x00", ""))).strip()


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    values: list[str] = []
    try:
        values = [str(v) for v in (message.get_all(name) or [])]
    except Exception:
        values = [_decode_words(v) for v in _raw_header_values(message, name)]
    result = []
    for display, address in getaddresses(values):
        # No control characters (a NUL in a name would make the database refuse the email).
        display, address = fix_c1(clean_text(display)), clean_text(address).strip("<>").strip()
        if "@" in address:
            result.append((display, address))
    return result


def _sender(message: Message) -> tuple[str, str]:
    for name in ("From", "Sender", "Reply-To"):
        found = _addresses(message, name)
        if found:
            return found[0]
    return_path = parseaddr(_header(message, "Return-Path"))[1]
    if "@" in return_path:
        return "", return_path
    return "", ""


def _first_msgid(value: str) -> str:
    found = _msgids(value)
    if found:
        return found[0]
    value = value.strip().strip("<>").strip()
    return value[:MAX_MESSAGE_ID_LENGTH] if value and " " not in value else ""


def _msgids(value: str) -> list[str]:
    return _MSGID.findall(value or "")


def _date(message: Message) -> datetime | None:
    value = _header(message, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None or parsed.year < 1990 or parsed.year > 2100:
        return None
    return parsed


# --- body -----------------------------------------------------------------------------------


def decode_payload(part: Message) -> str:
    """The text of a text part, whatever its charset claims."""
    return _decoded_part(part)[0]


def _decoded_part(part: Message) -> tuple[str, str]:
    """``(text, codec used)`` of a text part; the codec is "" when nothing was decoded."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            return payload, ""
        return "", ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_text(payload, charset)


def decode_bytes(payload: bytes, charset: str | None) -> str:
    return decode_text(payload, charset)[0]


def decode_text(payload: bytes, charset: str | None) -> tuple[str, str]:
    """``(text, codec used)``: the declared charset (ISO-8859-1 and ASCII read as windows-1252,
    the WHATWG way), UTF-8 when the bytes are UTF-8 whatever the label, then windows-1252, and
    as a last resort windows-1252 with the undecodable bytes replaced (``"...+replace"``)."""
    label = (charset or "").strip().strip('"').lower()
    label = _CHARSET_ALIASES.get(label, label)
    candidates = []
    if label in _WINDOWS_1252_LABELS:
        candidates.append("windows-1252")
    elif label:
        try:
            codecs.lookup(label)
            candidates.append(label)
        except LookupError:
            pass
    if label in _LATIN_LABELS or not candidates:
        # Bytes that are valid UTF-8 with multi-byte sequences are UTF-8 whatever the label says.
        try:
            text = payload.decode("utf-8")
            if not text.isascii() or not candidates:
                return text, "utf-8"
        except UnicodeDecodeError:
            pass
    for candidate in [*candidates, "utf-8"]:
        if candidate == "windows-1252":
            return _windows_1252(payload), candidate
        try:
            return payload.decode(candidate), candidate
        except (UnicodeDecodeError, LookupError):
            continue
    if candidates:
        # A multi-byte charset with a few bad bytes: keep the rest readable in that charset.
        return payload.decode(candidates[0], errors="replace"), f"{candidates[0]}+replace"
    return _windows_1252(payload), "windows-1252"


def _windows_1252(payload: bytes) -> str:
    """windows-1252 as the WHATWG decoder reads it: its five undefined bytes stay themselves."""
    return payload.decode("latin-1").translate(_C1_AS_1252)


def fix_c1(text: str) -> str:
    """Text that was decoded as ISO-8859-1 (an RFC 2047 header word, say) with bytes 0x80-0x9F
    in it, read as windows-1252 instead ("\x80" is "€")."""
    return text.translate(_C1_AS_1252) if _C1.search(text) else text


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        try:
            name = part.get_param("name")
            if isinstance(name, tuple):
                name = decode_bytes(name[2].encode("latin-1", "replace"), name[0])
        except Exception:
            name = None
    return _decode_words(str(name)).strip() if name else ""


_REPORT_PART_TYPES = {"message/delivery-status", "message/rfc822", "text/rfc822-headers"}


def _walk_body(message: Message, parsed: ParsedEmail) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    report = _is_delivery_report(message)
    for part in _leaf_parts(message):
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        # Like the stdlib's get_body(): a text part not marked as an attachment is body text,
        # even with a file name.
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            content, used = _decoded_part(part)
            declared = (part.get_param("charset") or "") if used else ""
            if used and str(declared).strip('"').lower() not in ("", used):
                parsed.charsets.append({"type": ctype, "declared": str(declared), "used": used})
            (texts if ctype == "text/plain" else htmls).append(content)
            continue
        if ctype == "message/delivery-status":
            parsed.reports += _delivery_reports(part, message)
        if not filename and (ctype == "text/rfc822-headers" or ctype.startswith("message/")):
            filename = "original-message.eml" if ctype == "message/rfc822" else "details.txt"
        content = _part_bytes(part)
        if content is None:
            parsed.defects.append(f"undecodable part {ctype}")
            continue
        content_id = _first_msgid(_header(part, "Content-ID"))
        is_report = report and ctype in _REPORT_PART_TYPES
        (parsed.report_parts if is_report else parsed.parts).append(
            EmailPart(
                filename=filename or _default_name(ctype),
                content_type=sniffing.sniff(content, ctype, filename),
                declared_type=ctype,
                content=content,
                content_id=content_id,
                inline=disposition == "inline"
                or (bool(content_id) and disposition != "attachment"),
            )
        )
    parsed.text = "\n\n".join(t for t in texts if t.strip()).replace("\x00", "")
    parsed.html = "\n".join(h for h in htmls if h.strip()).replace("\x00", "")
    if not parsed.text.strip() and parsed.html:
        parsed.text = html_to_text(parsed.html)
        parsed.text_from_html = True


def _leaf_parts(message: Message):
    """Leaf parts in order; an attached message/rfc822 is one part (not walked into)."""
    stack = [message]
    while stack:
        part = stack.pop(0)
        ctype = part.get_content_type()
        if part.is_multipart() and not ctype.startswith("message/"):
            try:
                children = list(part.iter_parts())
            except Exception:
                children = [p for p in part.get_payload() if isinstance(p, Message)]
            stack = children + stack
        elif ctype.startswith("multipart/"):
            # Declared multipart but its boundary is missing or wrong: the parser left the body
            # as one string. Find the boundary the body really uses, or read it as text.
            stack = [_recovered_multipart(part), *stack]
        else:
            yield part


_BOUNDARY_LINE = re.compile(r"^--(\S{1,70}?)(?:--)?[ \t]*\r?$", re.M)


def _recovered_multipart(part: Message) -> Message:
    """A multipart part whose body the parser could not split (no ``boundary`` parameter, or
    one the body never uses), parsed again with the boundary its first delimiter line names;
    without one, its body as a text/plain part (its own part headers, if it starts with some)."""
    try:
        raw = part.get_payload(decode=True) or b""
    except Exception:
        raw = b""
    body = raw.decode("ascii", "surrogateescape")
    match = _BOUNDARY_LINE.search(body)
    if match:
        boundary = match.group(1).replace('"', "")
        head = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'
        recovered = BytesParser(policy=PARSE_POLICY).parsebytes(head.encode() + raw)
        if recovered.is_multipart():
            return recovered
    as_part = BytesParser(policy=PARSE_POLICY).parsebytes(raw)
    if as_part.get_content_type().startswith("multipart/") or not len(as_part.keys()):
        plain = BytesParser(policy=PARSE_POLICY).parsebytes(
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + raw
        )
        return plain
    return as_part


def _part_bytes(part: Message) -> bytes | None:
    ctype = part.get_content_type()
    if ctype.startswith("message/") or ctype == "text/rfc822-headers":
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            try:
                return payload[0].as_bytes(policy=policy.default.clone(linesep="\r\n"))
            except Exception:
                return str(payload[0]).encode("utf-8", "replace")
        if isinstance(payload, str):
            return payload.encode("utf-8", "surrogateescape")
    try:
        content = part.get_payload(decode=True)
    except Exception:
        content = None
    if content is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            return payload.encode("utf-8", "surrogateescape")
        return None
    return content


def _default_name(ctype: str) -> str:
    extension = sniffing.extension_for(ctype)
    return f"attachment{extension}"


def _delivery_reports(part: Message, message: Message) -> list[DeliveryReport]:
    """Per-recipient fields of a message/delivery-status part (RFC 3464)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [{k.lower(): str(v) for k, v in block.items()} for block in payload]
    else:
        text = decode_payload(part) if not isinstance(payload, str) else payload
        blocks = [
            {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in chunk.splitlines())
                if v
            }
            for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
        ]
    original = _original_message_id(message)
    reports = []
    for block in blocks:
        recipient = block.get("final-recipient") or block.get("original-recipient") or ""
        if not recipient:
            continue
        reports.append(
            DeliveryReport(
                recipient=recipient.partition(";")[2].strip().strip("<>") or recipient.strip(),
                action=block.get("action", "").strip().lower(),
                status=block.get("status", "").strip().split(" ")[0],
                diagnostic=re.sub(r"\s+", " ", block.get("diagnostic-code", "")).strip()[:400],
                original_message_id=original,
            )
        )
    return reports


def _original_message_id(message: Message) -> str:
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                return _first_msgid(_header(inner[0], "Message-ID"))
        if ctype == "text/rfc822-headers":
            text = decode_payload(part)
            match = re.search(r"^Message-ID:\s*(<[^>]+>)", text, re.I | re.M)
            if match:
                return _first_msgid(match.group(1))
    return ""


def _is_delivery_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and (message.get_param("report-type") or "").lower() == "delivery-status"
    )


_BOUNCE_PHRASES = re.compile(
    r"failed permanently|permanent(?:ly)? (?:error|failure)|could not be delivered|"
    r"couldn't be delivered|undeliverable|delivery (?:has )?failed|delivery to the following|"
    r"user unknown|no such user|does not exist|mailbox (?:is )?(?:full|unavailable)|"
    r"recipient address rejected|non (?:è|e') stato possibile recapitare|impossibile recapitare|"
    r"messaggio non recapitato|mancato recapito",
    re.I,
)
_TEMPORARY = re.compile(
    r"temporar|will (?:retry|keep trying|try again)|still trying|warning only|delayed|"
    r"not yet been delivered|\b4\.\d{1,3}\.\d{1,3}\b|ritenter|riprover|temporane",
    re.I,
)
# Where the returned original starts: a marker line or the first header of the original.
_RETURNED_ORIGINAL = re.compile(
    r"^\s*[-_=*]*\s*(?:original message|messaggio originale|[\w ]*message follows|"
    r"[\w ]*copy of the (?:original )?message)|^(?:Received|Return-Path|From|Message-ID|"
    r"DKIM-Signature|MIME-Version|Date|Subject|To|X-[\w-]+):\s",
    re.I,
)
_ADDRESS_IN_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_MESSAGE_ID_LINE = re.compile(r"^Message-ID:\s*<([^<>\s]+)>", re.I | re.M)


def _plain_text_bounce(parsed: ParsedEmail) -> list[DeliveryReport]:
    """A mail server's bounce written as plain text (no DSN part): sent by MAILER-DAEMON or
    postmaster and saying delivery failed. The failed recipients are the addresses named
    before the returned original starts; it is soft (delayed) when its words or its status
    code say the failure is temporary, hard otherwise."""
    if not _BOUNCE_SENDERS.match(parsed.from_address or ""):
        return []
    intro: list[str] = []
    for line in parsed.text.splitlines()[:60]:
        if _RETURNED_ORIGINAL.match(line):
            break
        intro.append(line)
    head = "\n".join(intro)
    if not _BOUNCE_PHRASES.search(head):
        return []
    status = re.search(r"\b([245]\.\d{1,3}\.\d{1,3})\b", head)
    soft = bool(_TEMPORARY.search(head)) and not (status and status.group(1).startswith("5"))
    returned = _MESSAGE_ID_LINE.search(parsed.text)
    original = returned.group(1) if returned else (parsed.in_reply_to or [""])[0]
    recipients: dict[str, None] = {}
    for address in _ADDRESS_IN_TEXT.findall(head):
        recipients.setdefault(address.strip(".'"), None)
    return [
        DeliveryReport(
            recipient=address,
            action="delayed" if soft else "failed",
            status=status.group(1) if status else ("4.0.0" if soft else "5.0.0"),
            diagnostic=re.sub(r"\s+", " ", head).strip()[:400],
            original_message_id=original,
        )
        for address in list(recipients)[:5]
    ]


def _auto_reply_reason(message: Message, parsed: ParsedEmail) -> str:
    """Why this message was written by a machine (RFC 3834 and the headers in the wild)."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-AutoReply-From"):
        if _header(message, name):
            return f"{name} header"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in AUTO_REPLY_PRECEDENCE:
        return f"Precedence: {precedence}"
    if message.get_content_type() == "multipart/report":
        report_type = (message.get_param("report-type") or "").lower()
        return f"multipart/report ({report_type or 'unknown'})"
    if parsed.reports:
        return "delivery status notification"
    if _BOUNCE_SENDERS.match(parsed.from_address or ""):
        return f"sent by {parsed.from_address.split('@')[0]}"
    if _AUTO_SUBJECT.match(parsed.subject or ""):
        return "automatic-reply subject"
    return ""
