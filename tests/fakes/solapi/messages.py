"""Registration of messages by the fake SOLAPI: ``POST /messages/v4/send-many/detail`` and
``POST /messages/v4/send``, checked as docs/vendors/solapi.md describes.

- Checks per message, first failure wins: 1010 (to missing; type missing unless
  ``autoTypeDetect`` is true; text missing for SMS/LMS/MMS/CTA/CTI; from missing for
  SMS/LMS/MMS, and for an ATA whose SMS replacement is on — ``disableSms`` false or absent
  with a ``text``: SOLAPI-ATA-FROM says the replacement needs a sender, the code is the
  fake's choice; kakaoOptions missing for ATA/CTA/CTI) → 1025 (type other than SMS, LMS, MMS,
  ATA, CTA, CTI — the real NSA/VOICE/FAX/RCS types are not faked) → 1011 (to/from/country
  format, non-string text/subject) → 1032 (customFields not an object of strings, a key over
  30 or a value over 100 characters: SOLAPI-CF-LEN) → 1013/1014
  (subject) → 1031 (length) → 1033 (kakaoOptions on SMS/LMS/MMS) → 1034/1023 (image) →
  1041/1042/1043 (Kakao) → 1062 (sender) → 1060 (blocked) → 1026 (duplicate) → 1030 (balance).
- Phone numbers: '-' is removed, then only digits are allowed. ``to`` must be 9–11 digits
  starting with 0 when country is "82" (5–15 digits otherwise); ``from`` must be 8–11 digits.
  Stored/echoed numbers are the normalised ones. ``country`` defaults to "82".
- Byte counts use CP949; a character outside CP949 (e.g. an emoji) counts 2 bytes. Limits:
  SMS 90 bytes, LMS/MMS 2000 bytes, ATA failover text 2000 bytes, CTA 1000 characters, CTI 400
  characters, subject 40 bytes. SMS is never auto-upgraded.
- ATA ``text`` is optional (it is the failover text); ``subject`` is allowed on ATA (failover
  title). Variables: an object whose keys are ``#{name}`` and values strings, covering every
  ``#{…}`` of the registered template; extra keys are ignored. Buttons are not validated.
- Image: MMS needs top-level ``imageId`` of an uploaded file of type MMS; CTI needs
  ``imageId`` or ``kakaoOptions.imageId`` of a KAKAO file. A wrong-type file counts as 1023.
- With ``autoTypeDetect: true`` and no type: kakaoOptions+templateId → ATA, kakaoOptions →
  CTI/CTA (with/without image), imageId → MMS, subject or text > 90 bytes → LMS, else SMS.
- Price is taken from ``balance`` only (``point`` is informational); rejected messages cost
  nothing.
- Rejected messages are stored too (status "FAILED", their 1xxx statusCode, never progress)
  and appear in the list API, but not in ``accepted_messages()``.
- Top-level problems reject the whole request with 400 ``ValidationError``: body not a JSON
  object, ``messages`` not a non-empty list of objects (max 10,000), ``scheduledDate`` that is
  unparseable, naive or not in the future.
- ``POST /messages/v4/send`` rejects with HTTP 400 ``{"errorCode": "FailedToAddMessage",
  "errorMessage", "statusCode": "<1xxx>", "statusMessage", "messageId", "groupId", "to",
  "from", "type", "country"}``; ``scheduledDate`` inside the message is ignored (as on the real
  v5 path).
- ``test_mode`` (off by default): accepted messages keep ``statusCode`` "TEST1000" with
  status "PENDING" for good, as SOLAPI's sample stored messages show (SOLAPI-STATUS-TEST; what
  the code means is not documented: here a test send that never moves on).
- Outcomes are fixed at registration: ``final_codes[to]`` if present, else for ATA/CTA/CTI to
  a ``kakao_non_users`` recipient 3104 — unless ``kakaoOptions.disableSms`` is false *or
  absent* (SOLAPI's default) and ``text`` is non-empty: then 4000 with ``replacement: true``
  and type SMS (LMS when the text is over 90 bytes or a subject is set).
- Ids: ``M4V``/``G4V`` + yyyymmddHHMMSS (KST, from the fake clock) + 18 of [A-Z0-9]. A
  failure's statusMessage is the Korean text followed by an English detail in parentheses.
"""

from __future__ import annotations

import copy
import random
import re
import string
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.fakes._common import KST, PLACEHOLDER, cp949_len
from tests.fakes.solapi.state import (
    KAKAO_TYPES,
    PRICES,
    STATUS_MESSAGES,
    ApiError,
    Group,
    Reject,
    Stored,
    bad_request,
    iso,
    normalize_number,
    parse_iso,
)

MAX_MESSAGES = 10_000
_VARIABLE_KEY = re.compile(r"#\{[^{}]+\}")
ID_ALPHABET = string.ascii_uppercase + string.digits


class Registration:
    """Sending: checks, storage and answers of the two send endpoints (mixed into
    ``FakeSolapi``)."""

    account_id: str
    balance: float
    blocked: set[str]
    events: list[dict[str, Any]]
    final_codes: dict[str, str]
    kakao_non_users: set[str]
    pf_ids: set[str]
    progress_after: tuple[float, float]
    senders: set[str]
    templates: dict[str, str]
    test_mode: bool
    _files: dict[str, dict[str, Any]]
    _groups: dict[str, Group]
    _id_rng: random.Random
    _messages: dict[str, Stored]
    _sequence: dict[str, int]
    _group_view: Callable[[Group, float], dict[str, Any]]

    def _new_id(self, prefix: str, now: float, width: int = 18) -> str:
        stamp = datetime.fromtimestamp(now, KST).strftime("%Y%m%d%H%M%S")
        tail = "".join(self._id_rng.choice(ID_ALPHABET) for _ in range(width))
        return f"{prefix}{stamp}{tail}"

    def _parse_schedule(self, value: Any, now: float) -> float | None:
        if value is None or value == "":
            return None
        at = parse_iso(value)
        if at is None:
            raise bad_request("scheduledDate must be an ISO 8601 date with a timezone offset")
        if at <= now:
            raise bad_request("scheduledDate must be in the future")
        return at

    def _send_many(self, body: Any, now: float, record: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise bad_request("messages must be a non-empty array")
        if len(messages) > MAX_MESSAGES:
            raise bad_request(f"at most {MAX_MESSAGES} messages per request")
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                raise bad_request(f"messages[{index}] must be an object")
        scheduled = self._parse_schedule(body.get("scheduledDate"), now)
        agent = body.get("agent")
        agent = agent if isinstance(agent, dict) else {}
        app_id = agent.get("appId") or body.get("appId")
        group, stored = self._register(
            messages,
            now,
            scheduled=scheduled,
            allow_duplicates=body.get("allowDuplicates") is True,
            app_id=str(app_id) if app_id else None,
            record=record,
        )
        response: dict[str, Any] = {
            "failedMessageList": [self._failed_item(s) for s in stored if not s.accepted],
            "groupInfo": self._group_view(group, now),
        }
        if body.get("showMessageList") is True:
            response["messageList"] = [self._accepted_item(s) for s in stored if s.accepted]
        return response

    def _send_one(self, body: Any, now: float, record: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
            raise bad_request("body must be an object with a 'message' object")
        agent = body.get("agent")
        agent = agent if isinstance(agent, dict) else {}
        app_id = agent.get("appId")
        group, (stored,) = self._register(
            [body["message"]],
            now,
            scheduled=None,
            allow_duplicates=False,
            app_id=str(app_id) if app_id else None,
            record=record,
        )
        base = stored.base
        answer = {
            "groupId": group.group_id,
            "messageId": base["messageId"],
            "accountId": self.account_id,
            "statusMessage": base["statusMessage"],
            "statusCode": base["statusCode"],
            "to": base["to"],
            "from": base["from"],
            "type": base["type"],
            "country": base["country"],
        }
        if not stored.accepted:
            raise ApiError(400, "FailedToAddMessage", base["statusMessage"], answer)
        return answer

    def _register(
        self,
        messages: list[dict[str, Any]],
        now: float,
        *,
        scheduled: float | None,
        allow_duplicates: bool,
        app_id: str | None,
        record: dict[str, Any],
    ) -> tuple[Group, list[Stored]]:
        group = Group(
            group_id=self._new_id("G4V", now),
            created=now,
            scheduled=scheduled,
            allow_duplicates=allow_duplicates,
            app_id=app_id,
        )
        self._groups[group.group_id] = group
        start = now if scheduled is None else scheduled
        first_step, second_step = self.progress_after
        seen_to: set[str] = set()
        final_codes = {normalize_number(k): v for k, v in self.final_codes.items()}
        non_users = {normalize_number(n) for n in self.kakao_non_users}
        stored_list: list[Stored] = []
        for raw in messages:
            message_id = self._new_id("M4V", now)
            fields = _initial_fields(raw)
            code: str | None = None
            detail = ""
            try:
                fields = self._validate(raw)
                if fields["to"] in seen_to and not allow_duplicates:
                    raise Reject("1026", f"duplicate recipient {fields['to']}")
                price = PRICES[fields["type"]]
                if self.balance < price:
                    raise Reject("1030", f"balance {self.balance:g} < price {price}")
            except Reject as rejection:
                code, detail = rejection.code, rejection.detail
            accepted = code is None
            base = self._base_record(fields, message_id, group.group_id, now, raw)
            if accepted:
                price = PRICES[fields["type"]]
                self.balance -= price
                seen_to.add(fields["to"])
                final_code, failover = self._outcome(fields, final_codes, non_users)
                base.update(status="PENDING", statusCode="TEST1000" if self.test_mode else "2000")
            else:
                price = 0
                final_code, failover = str(code), None
                message = STATUS_MESSAGES.get(str(code), "registration failed")
                base.update(
                    status="FAILED",
                    statusCode=code,
                    reason=f"{message} ({detail})" if detail else message,
                )
            base["statusMessage"] = STATUS_MESSAGES["2000"] if accepted else str(base["reason"])
            stored = Stored(
                base=base,
                accepted=accepted,
                created=now,
                start=start,
                t_processed=start + first_step,
                t_final=start + max(first_step, second_step),
                final_code=final_code,
                failover_type=failover,
                price=price,
                group_id=group.group_id,
                test=accepted and self.test_mode,
            )
            self._messages[message_id] = stored
            self._sequence[message_id] = len(self._sequence)
            group.message_ids.append(message_id)
            stored_list.append(stored)
            if failover is not None:
                event = {
                    "kind": "native_failover",
                    "messageId": message_id,
                    "groupId": group.group_id,
                    "to": fields["to"],
                    "fromType": fields["type"],
                    "toType": failover,
                    "at": iso(stored.t_final),
                }
                self.events.append(event)
                record["events"].append(event)
        return group, stored_list

    def _outcome(
        self, fields: dict[str, Any], final_codes: dict[str, str], non_users: set[str]
    ) -> tuple[str, str | None]:
        to = fields["to"]
        if to in final_codes:
            return str(final_codes[to]), None
        if fields["type"] in KAKAO_TYPES and to in non_users:
            options = fields["kakaoOptions"] or {}
            text = fields["text"]
            if options.get("disableSms") in (False, None) and isinstance(text, str) and text:
                long_text = cp949_len(text) > 90 or bool(fields["subject"])
                return "4000", "LMS" if long_text else "SMS"
            return "3104", None
        return "4000", None

    def _validate(self, raw: dict[str, Any]) -> dict[str, Any]:
        fields = _initial_fields(raw)
        to, sender, text = raw.get("to"), raw.get("from"), raw.get("text")
        subject, options = raw.get("subject"), raw.get("kakaoOptions")
        image_id = raw.get("imageId")
        if to is None or to == "":
            raise Reject("1010", "to is required")
        message_type = raw.get("type")
        if message_type is None or message_type == "":
            if raw.get("autoTypeDetect") is not True:
                raise Reject("1010", "type is required")
            message_type = _detect_type(raw)
        if not isinstance(message_type, str) or message_type not in PRICES:
            raise Reject("1025", f"unsupported type {message_type!r}")
        fields["type"] = message_type
        kakao = message_type in KAKAO_TYPES
        if message_type != "ATA" and (text is None or text == ""):
            raise Reject("1010", "text is required")
        if message_type in ("SMS", "LMS", "MMS") and (sender is None or sender == ""):
            raise Reject("1010", "from is required")
        if kakao and not isinstance(options, dict):
            raise Reject("1010", "kakaoOptions is required")
        if message_type == "ATA" and (sender is None or sender == "") and text:
            assert isinstance(options, dict)
            if options.get("disableSms") in (False, None):
                raise Reject("1010", "from is required for the SMS replacement (disableSms)")

        country = str(raw.get("country") or "82")
        if not country.isdigit() or not 1 <= len(country) <= 4:
            raise Reject("1011", f"bad country {country!r}")
        fields["country"] = country
        if not isinstance(to, str):
            raise Reject("1011", "to must be a string")
        to_digits = normalize_number(to)
        to_ok = to_digits.isascii() and to_digits.isdigit()
        if country == "82":
            to_ok = to_ok and 9 <= len(to_digits) <= 11 and to_digits.startswith("0")
        else:
            to_ok = to_ok and 5 <= len(to_digits) <= 15
        if not to_ok:
            raise Reject("1011", f"bad recipient number {to!r}")
        fields["to"] = to_digits
        if sender is not None and sender != "":
            if not isinstance(sender, str):
                raise Reject("1011", "from must be a string")
            from_digits = normalize_number(sender)
            if not (
                from_digits.isascii() and from_digits.isdigit() and 8 <= len(from_digits) <= 11
            ):
                raise Reject("1011", f"bad sender number {sender!r}")
            fields["from"] = from_digits
        else:
            fields["from"] = None
        if text is not None and not isinstance(text, str):
            raise Reject("1011", "text must be a string")
        if subject is not None and not isinstance(subject, str):
            raise Reject("1011", "subject must be a string")
        fields["text"] = text
        fields["subject"] = subject or None

        custom = raw.get("customFields")
        if custom is not None and not (
            isinstance(custom, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in custom.items())
        ):
            raise Reject("1032", "customFields must be an object of strings")
        for key, value in (custom or {}).items():
            if len(key) > 30 or len(value) > 100:
                raise Reject("1032", f"customFields {key!r}: keys ≤ 30, values ≤ 100 characters")

        if subject:
            if message_type == "SMS":
                raise Reject("1013", "subject is not allowed for SMS")
            if cp949_len(subject) > 40:
                raise Reject("1014", f"subject is {cp949_len(subject)} bytes")
        if isinstance(text, str):
            self._check_length(message_type, text)

        if not kakao and options is not None:
            raise Reject("1033", "kakaoOptions is only for ATA/CTA/CTI")
        if message_type == "MMS":
            self._check_image(image_id, "MMS")
        if message_type == "CTI":
            kakao_image = options.get("imageId") if isinstance(options, dict) else None
            self._check_image(image_id or kakao_image, "KAKAO")
        fields["imageId"] = image_id if isinstance(image_id, str) else None

        if kakao:
            assert isinstance(options, dict)
            if options.get("pfId") not in self.pf_ids:
                raise Reject("1041", f"unknown pfId {options.get('pfId')!r}")
            if message_type == "ATA":
                self._check_template(options)
            fields["kakaoOptions"] = options

        if fields["from"] is not None and fields["from"] not in self.senders:
            raise Reject("1062", f"sender {fields['from']} is not registered")
        if to_digits in {normalize_number(n) for n in self.blocked}:
            raise Reject("1060", f"recipient {to_digits} is blocked")
        return fields

    def _check_length(self, message_type: str, text: str) -> None:
        if message_type == "SMS" and cp949_len(text) > 90:
            raise Reject("1031", f"SMS text is {cp949_len(text)} bytes (max 90)")
        if message_type in ("LMS", "MMS", "ATA") and cp949_len(text) > 2000:
            raise Reject("1031", f"{message_type} text is {cp949_len(text)} bytes (max 2000)")
        if message_type == "CTA" and len(text) > 1000:
            raise Reject("1031", f"CTA text is {len(text)} characters (max 1000)")
        if message_type == "CTI" and len(text) > 400:
            raise Reject("1031", f"CTI text is {len(text)} characters (max 400)")

    def _check_image(self, image_id: Any, file_type: str) -> None:
        if not image_id:
            raise Reject("1034", "imageId is required")
        stored = self._files.get(image_id) if isinstance(image_id, str) else None
        if stored is None or stored["type"] != file_type:
            raise Reject("1023", f"no {file_type} image {image_id!r}")

    def _check_template(self, options: dict[str, Any]) -> None:
        template_id = options.get("templateId")
        content = self.templates.get(template_id) if isinstance(template_id, str) else None
        if content is None:
            raise Reject("1042", f"unknown templateId {template_id!r}")
        variables = options.get("variables")
        variables = {} if variables is None else variables
        if not isinstance(variables, dict):
            raise Reject("1043", "variables must be an object")
        for key, value in variables.items():
            if not _VARIABLE_KEY.fullmatch(key) or not isinstance(value, str):
                raise Reject("1043", f"variable {key!r} must be '#{{name}}' with a string value")
        missing = [
            f"#{{{n}}}" for n in PLACEHOLDER.findall(content) if f"#{{{n}}}" not in variables
        ]
        if missing:
            raise Reject("1043", f"variables missing: {', '.join(missing)}")

    def _base_record(
        self, fields: dict[str, Any], message_id: str, group_id: str, now: float, raw: Any
    ) -> dict[str, Any]:
        custom = raw.get("customFields") if isinstance(raw, dict) else None
        return {
            "messageId": message_id,
            "_id": message_id,
            "groupId": group_id,
            "type": fields["type"],
            "to": fields["to"],
            "from": fields["from"],
            "text": fields["text"],
            "subject": fields["subject"],
            "imageId": fields["imageId"],
            "country": fields["country"],
            "accountId": self.account_id,
            "status": "PENDING",
            "statusCode": "2000",
            "statusMessage": None,
            "reason": None,
            "networkName": None,
            "networkCode": None,
            "customFields": copy.deepcopy(custom) if isinstance(custom, dict) else {},
            "autoTypeDetect": raw.get("autoTypeDetect") is True if isinstance(raw, dict) else False,
            "replacement": False,
            "resendCount": 0,
            "dateCreated": iso(now),
            "dateUpdated": iso(now),
            "dateProcessed": None,
            "dateReceived": None,
            "dateReported": None,
            "kakaoOptions": copy.deepcopy(fields["kakaoOptions"]),
            "rcsOptions": None,
            "naverOptions": None,
            "faxOptions": None,
            "voiceOptions": None,
            "replacements": [],
            "log": [],
            "queues": [],
            "currentQueue": None,
            "clusterKey": None,
        }

    def _failed_item(self, stored: Stored) -> dict[str, Any]:
        base = stored.base
        return {
            "to": base["to"],
            "from": base["from"],
            "type": base["type"],
            "statusMessage": base["statusMessage"],
            "country": base["country"],
            "messageId": base["messageId"],
            "statusCode": base["statusCode"],
            "accountId": self.account_id,
            "customFields": copy.deepcopy(base["customFields"]),
        }

    def _accepted_item(self, stored: Stored) -> dict[str, Any]:
        base = stored.base
        return {
            "messageId": base["messageId"],
            "statusCode": "2000",
            "statusMessage": STATUS_MESSAGES["2000"],
            "to": base["to"],
            "from": base["from"],
            "type": base["type"],
            "country": base["country"],
            "customFields": copy.deepcopy(base["customFields"]),
        }


def _initial_fields(raw: Any) -> dict[str, Any]:
    """Best-effort echo of a (possibly invalid) message for failedMessageList."""
    get = raw.get if isinstance(raw, dict) else (lambda _key: None)
    to, sender = get("to"), get("from")
    return {
        "type": get("type") if isinstance(get("type"), str) else None,
        "to": normalize_number(to) if isinstance(to, str) else to,
        "from": normalize_number(sender) if isinstance(sender, str) else sender,
        "text": get("text"),
        "subject": get("subject"),
        "imageId": get("imageId"),
        "country": str(get("country") or "82"),
        "kakaoOptions": get("kakaoOptions") if isinstance(get("kakaoOptions"), dict) else None,
    }


def _detect_type(raw: dict[str, Any]) -> str:
    options = raw.get("kakaoOptions")
    if isinstance(options, dict):
        if options.get("templateId"):
            return "ATA"
        return "CTI" if raw.get("imageId") or options.get("imageId") else "CTA"
    if raw.get("imageId"):
        return "MMS"
    text = raw.get("text")
    if raw.get("subject") or (isinstance(text, str) and cp949_len(text) > 90):
        return "LMS"
    return "SMS"
