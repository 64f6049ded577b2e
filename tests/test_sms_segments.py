"""The SMS segment counter against strings whose billing is known (3GPP TS 23.038 GSM-7 with its
extension table, UCS-2/UTF-16 otherwise), and the opt-out keyword matcher."""

from __future__ import annotations

import pytest

from channels_sms.keywords import OPT_IN, OPT_OUT, keyword_action
from channels_sms.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments, utf16_length


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),  # 2 x 153
        ("a" * 307, "GSM-7", 307, 3),
        ("a" * 459, "GSM-7", 459, 3),
        ("a" * 460, "GSM-7", 460, 4),
        # Extension table: two septets each.
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        ("[x]{y}~|^\\", "GSM-7", 18, 1),
        # An escape pair is never split: 152 'a' + '€' would end a part between its two septets.
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),
        ("a" * 152 + "€" * 77, "GSM-7", 306, 3),
        # Italian: à è é ì ò ù are GSM-7 ...
        ("Perché è già così? Più tardi, però.", "GSM-7", 35, 1),
        ("àèéìòù ÀÉÇ", "UCS-2", 10, 1),  # ... but À is not (É and Ç are)
        ("È arrivato", "UCS-2", 10, 1),
        ("L\u2019ordine è partito", "UCS-2", 18, 1),  # the curly apostrophe
        ("x" * 70, "GSM-7", 70, 1),
        ("È" + "x" * 69, "UCS-2", 70, 1),
        ("È" + "x" * 70, "UCS-2", 71, 2),
        ("È" + "x" * 133, "UCS-2", 134, 2),  # 2 x 67
        ("È" + "x" * 134, "UCS-2", 135, 3),
        # Emoji outside the BMP take two UTF-16 units and are never split across parts.
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),  # 33 emoji (66 units) in part one: the 34th does not fit
        ("😀" * 66, "UCS-2", 132, 2),
        ("😀" * 67, "UCS-2", 134, 3),
        ("Grazie! 🙏", "UCS-2", 10, 1),
        ("Ciao\nA presto", "GSM-7", 13, 1),
    ],
)
def test_segments(text, encoding, units, segments):
    result = count_segments(text)
    assert (result.encoding, result.units, result.count) == (encoding, units, segments)


def test_characters_forcing_ucs2_are_reported_once_in_order():
    result = count_segments("È l\u2019ora: È tardi 😀")
    assert result.non_gsm == ("È", "\u2019", "😀")
    assert count_segments("Perché").non_gsm == ()


def test_the_alphabets_are_complete():
    # 128 GSM-7 code points minus the escape; 10 extension characters.
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10
    assert "€" in GSM7_EXTENSION and "€" not in GSM7_BASIC


def test_utf16_length():
    assert utf16_length("abc") == 3 and utf16_length("😀") == 2 and utf16_length("È") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", (OPT_OUT, "STOP")),
        ("stop", (OPT_OUT, "STOP")),
        ("  Stop. ", (OPT_OUT, "STOP")),
        ("Stop all", (OPT_OUT, "STOP ALL")),
        ("STOPALL", (OPT_OUT, "STOPALL")),
        ("unsubscribe", (OPT_OUT, "UNSUBSCRIBE")),
        ("Cancel", (OPT_OUT, "CANCEL")),
        ("END", (OPT_OUT, "END")),
        ("quit!", (OPT_OUT, "QUIT")),
        ("REVOKE", (OPT_OUT, "REVOKE")),
        ("optout", (OPT_OUT, "OPTOUT")),
        ("Arresta", (OPT_OUT, "ARRESTA")),
        ("basta!", (OPT_OUT, "BASTA")),
        ("Cancella", (OPT_OUT, "CANCELLA")),
        ("cancellami", (OPT_OUT, "CANCELLAMI")),
        ("Disiscrivi", (OPT_OUT, "DISISCRIVI")),
        ("START", (OPT_IN, "START")),
        ("yes", (OPT_IN, "YES")),
        ("Unstop", (OPT_IN, "UNSTOP")),
        ("iscrivi", (OPT_IN, "ISCRIVI")),
        ("Riprendi", (OPT_IN, "RIPRENDI")),
        ("stop the delivery please", None),
        ("Basta così, grazie", None),
        ("STOPPED", None),
        ("HELP", None),
        ("", None),
    ],
)
def test_keywords(text, expected):
    assert keyword_action(text) == expected
