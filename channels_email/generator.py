"""A seeded generator of realistic inbound emails, for the benchmark and for tests.

``write_eml_files(directory, count, seed=1)`` writes ``count`` ``.eml`` files (about a third are
replies quoting an earlier message of the same thread, Gmail/Outlook/Apple style, in Italian or
English; some are multipart with HTML; some carry a small PNG or PDF attachment; a fifth have
someone else on Cc; a few are auto-replies). The same seed always gives byte-identical files.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

FIRST = ["Mario", "Giulia", "Luca", "Francesca", "Anna", "Marco", "Sofia", "John", "Emma", "Noah"]
LAST = ["Rossi", "Bianchi", "Esposito", "Ricci", "Colombo", "Smith", "Brown", "Müller", "Càrdenas"]
ITALIAN = [
    "Buongiorno, il mio ordine {n} non è ancora arrivato: potete verificare?",
    "Perché la fattura {n} riporta un importo diverso? Grazie mille.",
    "Vorrei cambiare l'indirizzo di consegna dell'ordine {n}, è possibile?",
    "Quando sarà disponibile di nuovo il prodotto? Ne avrei bisogno entro venerdì.",
]
ENGLISH = [
    "Hello, my order {n} has not arrived yet. Could you check, please?",
    "Why is invoice {n} different from the quote I received?",
    "Can I change the delivery address of order {n}?",
    "Which plan includes priority support? We are a team of 12.",
]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e5273ea40000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = f"{first}.{last}".lower().replace("ü", "u").replace("à", "a")
    return f"{first} {last}", f"{local}{rng.randint(1, 999)}@example.{rng.choice(['it', 'com'])}"


def generate_messages(
    count: int, *, seed: int = 1, mailbox: str = "support@shop.example", id_domain: str = ""
):
    """Yield ``(file name, bytes)`` for ``count`` messages. ``id_domain``: the Message-IDs'
    domain (default ``mail.example``), so that two sets with the same content are different
    mail (the benchmark imports a new set into the same database each run)."""
    rng = random.Random(seed)
    copies = random.Random(seed + 1)  # who else is on Cc: apart, so the rest stays as it was
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    threads: list[dict] = []
    for index in range(count):
        when = start + timedelta(minutes=7 * index)
        reply_to = threads[rng.randrange(len(threads))] if threads and rng.random() < 0.35 else None
        name, address = (reply_to["name"], reply_to["address"]) if reply_to else _person(rng)
        italian = reply_to["italian"] if reply_to else rng.random() < 0.6
        text = rng.choice(ITALIAN if italian else ENGLISH).format(n=10_000 + index)
        message = EmailMessage()
        message["From"] = f"{name} <{address}>"
        message["To"] = f"Supporto <{mailbox}>"
        message["Date"] = format_datetime(when)
        if copies.random() < 0.2:  # a colleague, or someone who also writes to us, on Cc
            colleague = _person(copies)
            message["Cc"] = f"{colleague[0]} <{colleague[1]}>"
        message_id = f"<gen-{seed}-{index}@{id_domain or 'mail.example'}>"
        message["Message-ID"] = message_id
        subject = reply_to["subject"] if reply_to else text.split(",")[0][:60]
        if reply_to:
            message["Subject"] = f"Re: {subject}"
            message["In-Reply-To"] = reply_to["message_id"]
            message["References"] = reply_to["message_id"]
            header = (
                f"Il giorno {format_datetime(reply_to['date'])} {name} <{address}> ha scritto:"
                if italian
                else f"On {format_datetime(reply_to['date'])}, {name} <{address}> wrote:"
            )
            quoted = "\n".join(f"> {line}" for line in reply_to["text"].splitlines())
            thanks = "Grazie" if italian else "Thanks"
            body = f"{text}\n\n{thanks},\n{name.split()[0]}\n\n{header}\n{quoted}\n"
        else:
            message["Subject"] = subject
            body = f"{text}\n\n{'Cordiali saluti' if italian else 'Best regards'},\n{name}\n"
        if rng.random() < 0.03:
            message["Auto-Submitted"] = "auto-replied"
            message.replace_header("Subject", f"Risposta automatica: {subject}")
            body = "Sono fuori sede fino a lunedì." if italian else "I am out of office."
        message.set_content(body)
        if rng.random() < 0.4:
            paragraphs = "".join(f"<p>{line}</p>" for line in body.splitlines() if line.strip())
            message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        if rng.random() < 0.15:
            if rng.random() < 0.5:
                message.add_attachment(PNG, maintype="image", subtype="png", filename="foto.png")
            else:
                message.add_attachment(PDF, maintype="application", subtype="pdf",
                                       filename="ricevuta.pdf")  # fmt: skip
        threads.append({"name": name, "address": address, "italian": italian, "date": when,
                        "message_id": message_id, "subject": subject, "text": text})  # fmt: skip
        if len(threads) > 500:
            threads.pop(0)
        yield f"{index:07d}.eml", bytes(message)


def write_eml_files(
    directory: str | Path,
    count: int,
    *,
    seed: int = 1,
    mailbox: str = "support@shop.example",
    id_domain: str = "",
) -> Path:
    """Write ``count`` messages as ``directory/NNNNNNN.eml``; returns the directory."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for name, raw in generate_messages(count, seed=seed, mailbox=mailbox, id_domain=id_domain):
        (target / name).write_bytes(raw)
    return target


def write_mbox(
    path: str | Path, count: int, *, seed: int = 1, mailbox: str = "support@shop.example"
) -> Path:
    """The same messages as one mbox file (mboxrd escaping of body "From " lines)."""
    target = Path(path)
    with target.open("wb") as fh:
        for _name, raw in generate_messages(count, seed=seed, mailbox=mailbox):
            fh.write(b"From generator@example Mon Jan  6 09:00:00 2025\n")
            for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
                if line.lstrip(b">").startswith(b"From "):
                    line = b">" + line
                fh.write(line + b"\n")
            fh.write(b"\n")
    return target
