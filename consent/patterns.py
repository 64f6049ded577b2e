"""The phrase tables of ``consent.intent``, matched against ``consent.normalise.normalise`` text
(lower case, no accents, abbreviations expanded). One regular expression a line, named: the name is
the rule a decision reports. Long lines are kept whole so each rule reads at once."""
# ruff: noqa: E501

import re

# Objects of consent: what a person receives from us on this channel.
EN_MSG = (
    r"(?:(?:promo(?:tional)?|marketing|advertising|whatsapp|sms|text|order|delivery|your|these|"
    r"those|the|all|any|of|more|such|this|other)\s+)*"
    r"(?:texts?|texting|sms(?:es)?|messages?|messaging|msgs?|notifications?|notifs?|alerts?|"
    r"promos?|promotions?|offers?|deals|marketing|updates?|whatsapps?|broadcasts?|"
    r"communications?|spam|ads|adverts?|advertising|reminders?)"
)
IT_MSG = (
    r"(?:(?:i|gli|le|questi|queste|vostri|vostre|tutti|tutte|altri|altre|dei|delle|degli|"
    r"ulteriori|nessun|nessuna|alcun|alcuna|sms|whatsapp|promo|vostra)\s+)*"
    r"(?:sms|messaggi|messaggio|notifiche|notifica|avvisi|avviso|promo|promozioni|"
    r"promozionali|offerte|pubblicita|comunicazioni|aggiornamenti|whatsapp|spam|msg|"
    r"mess(?:aggini)?)"
)
EN_ME = r"(?:me|this number|my number|us|my phone|this phone)"
EN_SEND = r"(?:send(?:ing)?|text(?:ing)?|messag(?:e|ing)|msg(?:ing)?|contact(?:ing)?|spam(?:ming)?|writ(?:e|ing) to)"
EN_STOP = r"(?:stop|quit|cease|cut out|knock it off with)"
EN_LIST = (
    r"(?:(?:your|the|all|of|all your|any|whatsapp|sms|text|texting|marketing|promo|promotional|"
    r"contact|message|messaging)\s+)*(?:lists?|database|contacts?|broadcast(?: list)?|"
    r"system|records?|mailing|communications?|numbers)"
)
IT_SEND = (
    r"(?:mandar(?:mi|e|ci)|inviar(?:mi|e|ci)|scriver(?:mi|e|ci)|contattar(?:mi|e|ci)|"
    r"messaggiar(?:mi|e)|spammar(?:mi|e)|mandate(?:mi)?|inviate(?:mi)?|scrivete(?:mi)?|"
    r"mandi|invii|scrivi|contattate(?:mi)?|disturbate(?:mi)?|cercate(?:mi)?)"
)
IT_REMOVE = (
    r"(?:toglie(?:te)?(?:mi)?|togli(?:mi)?|toglier(?:e|mi)|rimuove(?:te)?(?:mi)?|rimuov(?:i|imi)|"
    r"rimuover(?:e|mi)|cancella(?:te)?(?:mi)?|cancellar(?:e|mi)|elimina(?:te)?(?:mi)?|"
    r"eliminar(?:e|mi)|leva(?:te)?(?:mi)?|levar(?:e|mi)|depenna(?:te)?(?:mi)?)"
)
IT_LIST = (
    r"(?:(?:dai|dalla|dalle|dal|dalla vostra|dai vostri|dalle vostre|dal vostro|vostri|vostra|"
    r"vostro|vostre|la|il|i|le|lista)\s+)*"
    r"(?:contatti|lista|liste|rubrica|elenco|database|broadcast|archivio|sistema|mailing list|"
    r"invii|destinatari)"
)

OUT_SURE = [
    ("en_stop_sending", rf"\b{EN_STOP}\s+(?:\w+\s+)?{EN_SEND}\s+(?:{EN_ME}|{EN_MSG})\b"),
    ("en_stop_sending_me", rf"\b{EN_STOP}\s+(?:all\s+)?(?:the\s+)?{EN_SEND}\s*(?:$|[.!,])"),
    ("en_stop_object", rf"\b{EN_STOP}\s+(?:with\s+)?(?:all\s+)?{EN_MSG}\b"),
    ("en_do_not_send", rf"\b(?:do not|never|please do not|can not|will you not)\s+(?:ever\s+)?"
                       rf"(?:{EN_SEND}|send)\s+(?:{EN_ME}|any more|anything|{EN_MSG})"),
    ("en_do_not_send_more", r"\bdo not send\s+(?:me\s+)?(?:any\s+)?more\b"),
    ("en_could_you_not", rf"\b(?:could|can|would) you\s+(?:please\s+)?(?:not|stop)\s+"
                         rf"{EN_SEND}\s+(?:me\s+)?{EN_MSG}"),
    ("en_stop_receiving", rf"\b(?:want|would like|wish|need|like) to stop\s+(?:receiving|getting)\s+{EN_MSG}"),
    ("en_no_more", rf"\b(?:no more|no further|none of (?:your|these|the))\s+{EN_MSG}\b"),
    ("en_enough", rf"\benough\s+(?:with\s+)?(?:the\s+|your\s+|these\s+|of\s+)*{EN_MSG}\b"),
    ("en_enough_2", rf"\b(?:that is|thats|it is) enough\s+{EN_MSG}\b"),
    ("en_remove_me", rf"\b(?:remove|delete|erase|take|drop|scratch|strike)\s+{EN_ME}\s+"
                     rf"(?:off|from|out of)\s+{EN_LIST}"),
    ("en_remove_number", r"\b(?:remove|delete|erase|drop)\s+(?:this|my)\s+(?:number|phone|contact)\b"),
    ("en_take_off", r"\btake\s+(?:me|my number|this number)\s+off\b"),
    ("en_unsubscribe", r"\b(?:unsubscribe|opt out|opt me out|unsub|unenrol|unenroll)\b"),
    ("en_do_not_want", rf"\b(?:do not|no longer)\s+(?:want|wish|need)\s+(?:to\s+(?:get|receive)\s+)?"
                       rf"(?:any\s+more\s+)?{EN_MSG}"),
    ("en_do_not_want_2", r"\b(?:do not|no longer)\s+(?:want|wish)\s+to\s+(?:be\s+)?"
                         r"(?:contacted|texted|messaged|receive|get)\b"),
    ("en_rather_not", rf"\b(?:rather not|prefer not to|would prefer not to)\s+(?:get|receive|be sent)\s+{EN_MSG}"),
    ("en_done_with", rf"\b(?:i am|im) done with\s+{EN_MSG}"),
    ("en_said_stop", r"\b(?:i said|i told you|told you to|i asked you to|for the last time|again i say|ho detto|ripeto|vi ho detto)\s+(?:to\s+)?stop\b"),
    ("en_no_consent", r"\b(?:no longer consent|withdraw (?:my )?consent|revoke (?:my )?consent|"
                      r"do not consent)\b"),
    ("it_basta", rf"\bbasta\s+(?:cosi\s+)?(?:con\s+)?{IT_MSG}\b"),
    ("it_basta_mandare", rf"\bbasta\s+(?:di\s+)?{IT_SEND}\b"),
    ("it_non_voglio_piu", rf"\bnon\s+(?:voglio|desidero|vogliamo)\s+piu\s+{IT_MSG}\b"),
    ("it_disattivate", rf"\b(?:disattivate|disattiva|disattivatemi|disattivare|spegnete)\s+"
                       rf"(?:mi\s+)?{IT_MSG}"),
    ("en_cancel_texts", rf"\bcancel\s+(?:my\s+)?(?:subscription\s+to\s+)?{EN_MSG}"),
    ("it_smettete", rf"\b(?:smett\w*|finitela|piantatela|cessate)\s+(?:\w+\s+)?di\s+{IT_SEND}"),
    ("it_non_voglio", rf"\b(?:non\s+(?:voglio|vorrei|desidero|gradisco|intendo)|vorrei non|desidero non|"
                      rf"preferisco non)\s+(?:piu\s+)?(?:ricevere|avere)\s+(?:piu\s+)?"
                      rf"(?:{IT_MSG}|niente|nulla|alcun\w*|vostre|vostri|questi|queste)"),
    ("it_non_mandate", rf"\b(?:non|di non|potete non|puoi non)\s+(?:mi\s+)?{IT_SEND}\s+"
                       rf"(?:piu\s+)?(?:{IT_MSG}|niente|nulla|alcun\w*|a questo numero)"),
    ("it_non_mandate_piu", rf"\bnon\s+(?:mi\s+)?{IT_SEND}\s+piu\s*(?:$|[.!,]|per favore|grazie|"
                           rf"su whatsapp|via sms|per sms|via whatsapp|qui\b|su questo numero|a questo numero)"),
    ("it_niente_piu", rf"\b(?:niente piu|basta|stop|no|nessun\w* altr\w*|zero)\s+{IT_MSG}\b"),
    ("it_remove_me", rf"\b{IT_REMOVE}\s+(?:il\s+)?(?:mio\s+)?(?:numero|contatto|recapito)?\s*"
                     rf"(?:di telefono\s+)?(?:da|dai|dalla|dalle|dal)\s+(?:{IT_LIST}|{IT_MSG})"),
    ("it_remove_number", rf"\b{IT_REMOVE}\s+(?:il\s+)?(?:mio\s+|questo\s+)?(?:numero|contatto)\b"),
    ("it_remove_mi", r"\b(?:toglietemi|rimuovetemi|cancellatemi|eliminatemi|levatemi|"
                     r"depennatemi|toglimi|rimuovimi|cancellami)\s*(?:$|[.!,]|per favore|grazie|"
                     r"da\b|dai\b|dalla\b|dalle\b|dal\b)"),
    ("it_disiscrivi", r"\b(?:disiscriv\w*|desiscriv\w*|disinscriv\w*|"
                      r"annulla(?:re|te)?\s+(?:la\s+)?(?:mia\s+)?l?'?\s*iscrizione)"),
    ("it_revoco", r"\b(?:revoco|ritiro|nego)\s+(?:il\s+)?(?:mio\s+)?consenso\b"),
    ("it_non_voglio_contattato", r"\bnon\s+(?:voglio|desidero|vorrei)\s+(?:piu\s+)?essere\s+(?:piu\s+)?(?:contattat\w|disturbat\w|ricontattat\w)"),
    ("it_non_contattare", r"\bnon\s+(?:essere|venire)\s+(?:piu\s+)?(?:contattat\w|disturbat\w)"),
    ("it_essere_rimosso", r"\bessere\s+(?:rimoss\w|cancellat\w|tolt\w|eliminat\w)\s+(?:da|dai|dalla|"
                          r"dalle|dal)\b"),
    ("it_smettere_ricevere", rf"\bsmettere di ricevere\s+{IT_MSG}"),
]  # fmt: skip

IN_SURE = [
    ("en_back_on", rf"\b(?:turn|switch|put)\s+(?:my\s+|the\s+)?{EN_MSG}\s+back\s+on\b"),
    ("en_back_on_2", rf"\b(?:turn|switch)\s+(?:back\s+)?on\s+(?:my\s+|the\s+)?{EN_MSG}"),
    ("en_send_again", rf"(?<!not )(?<!never )\b(?:send|text|message)\s+(?:me\s+)?(?:the\s+)?(?:{EN_MSG}\s+)?again\b"),
    ("en_start_again", rf"\bstart\s+(?:receiving|getting|sending)\s+(?:me\s+)?(?:{EN_MSG}\s+)?again"),
    ("en_receive_again", rf"\b(?:receive|get)\s+(?:{EN_MSG})\s+again\b"),
    ("en_back_on_list", r"\b(?:put|add)\s+me\s+back\b"),
    ("en_resubscribe", r"\b(?:resubscribe|re-subscribe|opt me back in|opt back in|"
                       r"subscribe me again|sign me back up|sign me up again)\b"),
    ("en_reactivate", rf"\b(?:reactivate|re-enable|reenable|restart|resume|unblock)\s+(?:the\s+)?"
                      rf"{EN_MSG}"),
    ("en_by_mistake", r"\b(?:stop|unsubscribe)\b.*\b(?:by mistake|by accident|accidentally|"
                      r"in error|did not mean)"),
    ("en_consent", r"\bi (?:consent|agree|opt in) to (?:receive|receiving|get|getting)\b"),
    ("en_send_on_channel", rf"\bsend\s+me\s+(?:the\s+|your\s+)?{EN_MSG}\s+(?:on|by|via|over)\s+(?:whatsapp|sms|text)\b"),
    ("en_sign_up_for", rf"\b(?:sign me up|subscribe me|add me)\s+(?:for|to)\s+(?:the\s+|your\s+)?{EN_MSG}"),
    ("en_want_receive", rf"\b(?:want|would like|wish)\s+to\s+(?:receive|get)\s+{EN_MSG}\s+"
                        rf"(?:by|via|on|over)\s+(?:sms|text|whatsapp)"),
    ("en_send_here", rf"\bsend\s+(?:me\s+)?{EN_MSG}\s+here\b"),
    ("it_rimettetemi", rf"\b(?:rimett\w*(?:mi|ci)|rimetti(?:mi)?)\s+(?:{IT_MSG}|nella\s+\w+|in\s+lista)"),
    ("it_riattivate", rf"\b(?:riattiv\w*|riaccend\w*|ripristin\w*|sblocca\w*)\s+(?:mi\s+)?{IT_MSG}"),
    ("it_iscrivetemi", rf"\b(?:iscrivetemi|iscrivimi|iscrivermi|aggiungetemi|inseritemi)\s+(?:a|agli|alle|ai|al|alla)\s+{IT_MSG}"),
    ("it_reiscrivi", r"\b(?:reiscriv\w*|riiscriv\w*|riaggiung\w*|reinserit\w*|reinseri\w*mi|"
                     r"iscrivetemi di nuovo)"),
    ("it_di_nuovo", rf"\b(?:ricevere|avere|mandarmi|inviarmi|mandatemi|inviatemi|rimandatemi)\s+(?:di nuovo|nuovamente|ancora)\s+"
                    rf"{IT_MSG}"),
    ("it_di_nuovo_2", rf"\b(?:ricevere|avere)\s+{IT_MSG}\s+(?:\w+\s+)?(?:di nuovo|nuovamente)"),
    ("it_tornare", rf"\btornare a\s+(?:ricevere|mandarmi|inviarmi|avere)\s+(?:\w+\s+)?{IT_MSG}"),
    ("it_per_sbaglio", r"\b(?:stop|arresta|basta|cancellami)\b.*\b(?:per sbaglio|per errore|"
                       r"senza volere|non volevo)"),
    ("it_mandatemi_qui", rf"\b(?:mandatemi|inviatemi|scrivetemi)\s+(?:pure\s+)?(?:{IT_MSG})"
                         rf".*\b(?:qui|su whatsapp|via sms|per sms|su questo numero)\b"),
    ("it_acconsento", r"\b(?:acconsento|do il (?:mio )?consenso|autorizzo)\b.*\bricev"),
]  # fmt: skip

# Rule 3: wording that makes an otherwise matching message unsure.
OTHER_CHANNEL = re.compile(
    r"\b(?:e-?mail|email|mail|newsletter|mailing|posta|calls?|calling|call me|phone calls?|"
    r"telefonat\w*|chiamat\w*|chiamarmi|chiamate|app notifications?|notifiche dell'?app)\b"
)
QUESTION_HOW = re.compile(
    r"^(?:\w+\s+){0,3}(?:how (?:do|can|could) (?:i|we|you)|is there a way|what do i|"
    r"come (?:faccio|si fa|posso|fare)|c'?e un modo|cosa devo)\b"
)
PARTIAL = re.compile(
    r"\b(?:but keep|except|only the|keep the|fewer|less|too many|so many|ma (?:gli|le|i)?\s*\w*\s*"
    r"\w*\s*(?:lasciat|tenet|continuat|mandat)|tranne|solo (?:gli|le|i)|meno|troppi|troppe)\b"
)
RETRACT = re.compile(r"\b(?:no wait|actually no|never mind|nevermind|anzi no|scherzavo|lasciate stare)\b")
NEGATED_OUT = re.compile(
    r"\b(?:do not|please do not|never)\s+stop\s+(?:sending|texting|messaging)|"
    r"\bnon\s+(?:smettete|smettere|smettetela)\s+di\s+(?:mandar|inviar|scriver)"
)
OUT_UNSURE = [
    ("en_how_block", rf"\b(?:block|stop|mute|unsubscribe)\b.*\b{EN_MSG}"),
    ("en_leave_alone", r"\bleave me alone\b"),
    ("en_cancel_subscription", r"\bcancel\s+(?:my\s+)?subscription\b"),
    ("en_not_interested", r"\bnot interested\b"),
    ("en_not_my_number", r"\b(?:is not|isnt|no longer) my number|\bwrong number\b|\bchanged (?:my number|hands)\b|\bnew owner\b"),
    ("en_fewer", rf"\b(?:fewer|less|too many)\s+{EN_MSG}"),
    ("it_come_bloccare", rf"\b(?:bloccare|non ricevere|smettere di ricevere|disattivare)\b.*{IT_MSG}"),
    ("it_non_interessano", rf"\bnon mi interessa\w*\s+(?:le\s+)?(?:vostre\s+)?{IT_MSG}"),
    ("it_non_mio", r"\bnumero non e piu (?:il )?mio\b|\bnon e piu il mio numero\b|\bnumero sbagliato\b|"
                   r"\bnumero e cambiato\b|\bho cambiato (?:numero|cellulare)(?:\s+di telefono)?\s*(?:$|[.,!]|e\b|il nuovo)|\bcambiato (?:di )?proprietario\b"),
    ("it_non_interessa", r"^(?:(?:ok|no|grazie|ma|ciao)\s+){0,2}(?:non mi interessa\w*|non sono interessat\w)\s*(?:[.!,]|grazie|$)"),
    ("it_troppi", rf"\b(?:troppi|troppe|meno)\s+{IT_MSG}"),
]  # fmt: skip
IN_UNSURE = [
    ("en_not_getting", rf"\b(?:why|how come)\b.*\b(?:not getting|stopped getting|no longer get|do not get|"
                       rf"not receiving|do not receive|no longer receive)\b.*{EN_MSG}"),
    ("it_non_arrivano", r"\bperche\b.*\bnon mi arriva\w*\s+piu\b"),
]  # fmt: skip

