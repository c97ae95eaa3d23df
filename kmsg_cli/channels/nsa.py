"""Naver smart alerts (NSA): a template registered with Naver, sent to the recipient's Naver
app (docs/channels.md, "Naver smart alert").

Options: `talkId` (else the provider's `naver_talk_id`), `disableSms` (the vendor's own SMS
replacement; kmsg asks for none unless it is false) and `buttons` (`buttonName`,
`buttonType`, `linkMo`, `linkPc`, `linkAnd`, `linkIos`). Variables come from `--var`.
"""

from __future__ import annotations

from kmsg_cli.channels._text import Given, Result, how_many, set_options
from kmsg_cli.models import Message

OPTIONS = ("talkId", "disableSms", "buttons")
BUTTON_FIELDS = ("buttonName", "buttonType", "linkMo", "linkPc", "linkAnd", "linkIos")


def check(given: Given) -> Result:
    options = given.options_only(OPTIONS)
    given.no_subject()
    given.no_image()
    given.no_files()
    given.need_template()
    if options.has("talkId"):
        options.text("talkId", required=True)
    disable_sms = options.flag("disableSms")
    for button in options.children("buttons"):
        button.only(BUTTON_FIELDS)
        button.text("buttonName", required=True)
        button.text("buttonType", required=True)
        button.text("linkMo", url=True)
        button.text("linkPc", url=True)
        button.text("linkAnd")
        button.text("linkIos")
    checked = dict(options.data)
    checked["disableSms"] = disable_sms is not False
    return checked, [], []


def describe(message: Message) -> list[str]:
    options = message.options
    words = [f"template {message.template_id}"]
    words.append(f"talk {options['talkId']}" if options.get("talkId") else "talk from provider")
    words += set_options(options, {"buttons": how_many("button")})
    if options.get("disableSms") is False:
        words.append("vendor SMS replacement")
    return words
