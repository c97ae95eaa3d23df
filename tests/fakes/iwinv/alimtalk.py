"""The AlimTalk host of the fake IWINV: send, history, balance and templates
(docs/vendors/iwinv.md).

Codes (IWINV-AT-CODES; which check answers which code is chosen here): 200 "전송 성공"; 201
missing/wrong ``AUTH`` header (kmsg's assumed auth code, IWINV-AT-CODE201: unverified); 206 IP
not registered (IWINV-AT-CODE206); 501 templateCode missing or unknown, or a template that
is not approved (status ≠ "Y"); 502 a body that is not a JSON object, ``list`` missing, empty
or not a list of objects, bad history filters/paging, template add without name/content;
503 ``reSend`` not Y/N; 504 ``resendType`` not Y/N (or "N" without ``resendContent``); 505
``resendCallback`` missing or not a registered sender; 506 ``reserve: "Y"`` without
``sendDate``, a ``sendDate`` that is not exactly "yyyy-MM-dd HH:mm:ss", or ``reserve`` not
Y/N; 507 a ``sendDate`` less than 15 minutes or more than 2 days after the fake clock, Korea
time (IWINV-AT-WINDOW); 508 templateParam missing, not a list of strings, or with fewer values
than the template has distinct ``#{…}`` names; 509 more values than names (the content cannot
match the template); 510 ``resendTitle`` over 40 bytes; 511 ``resendTitle`` with a character
other than Korean, English letters, digits, space and ``[ ] ( ) < >`` (space: assumption, as on
the SMS host); 512 a recipient without ``phone``; 513 a phone that is not 9–11 ASCII digits
starting with 0; 514 more than 10,000 recipients; 515 ``resendContent`` over 1,000 characters;
516 ``resendType: "Y"`` and the rendered AlimTalk text over 1,000 characters; 517 the rendered
text over 1,000 characters; 519 balance too low for the accepted recipients; 540 the rendered
text contains one of ``blocked_keywords``. The fake never answers 518. A ``sendDate`` with
``reserve`` absent/"N" is ignored (immediate send).

- Per-recipient checks (508, 509, 512, 513, 516, 517, 540): if every recipient fails, the
  request is answered with the first recipient's error and nothing is stored. If only some
  fail, the answer is ``{code:200, message, success:n, fail:m}``; the failed recipients are
  stored (in the history with ``statusCode`` = the error code as a string and
  ``statusCodeName`` = "발송 실패: " + its message — an assumption, IWINV-AT-STATUS) but are
  not in ``accepted_messages()``.
- The send answer is IWINV's documented ``{code, message, success, fail}`` (IWINV-AT-REPLY):
  no ``seqNo``. Each accepted request still gets one ``seqNo`` (int, increasing from 1000001),
  shared by its recipients and shown in the history (IWINV-AT-HIST-REPLY).
- Delivery progress (computed at read time from the clock; outcome fixed at registration):
  start = request time, or the reserved time; final at start + ``progress_after`` seconds.
  The history statuses are not documented (IWINV-AT-STATUS); the fake assumes: until final
  statusCode "WAIT", statusCodeName "발송 대기" ("예약 대기" for a reserved send before its
  time), sendDate/receiveDate "". Final: delivered ("OK", "성공", sendDate = receiveDate =
  final time); a ``kakao_non_users`` phone ("3018", "카카오톡 미사용자", receiveDate "");
  ``final_outcomes[phone]`` = "delivered" | "failed" ("FAIL", "발송 실패") | "pending" (never
  final) | an explicit (code, name) tuple; ``final_outcomes`` wins over ``kakao_non_users``; a
  tuple counts as delivered when its code is "OK" or its name contains 성공.
- Any failed AlimTalk sent with ``reSend: "Y"`` is re-sent by SMS (LMS when the text is over
  90 bytes or a resendTitle is set) from ``resendCallback``, always delivered: the item then
  has resendStatus "OK" / resendStatusName "SMS 대체발송 성공" (or "LMS …"); otherwise both
  are "". The AlimTalk statusCode itself stays failed. Re-send text: ``resendContent`` when
  ``resendType`` is "N", or absent with a ``resendContent``; else the AlimTalk text. Re-sends
  are free and appear in ``resend_messages()`` once due (not on the SMS host's history).
- History filters (all optional): ``seqNo`` (int or digit string), ``phone``,
  ``startDate``/``endDate`` ("yyyy-MM-dd HH:mm:ss" or "yyyy-MM-dd", inclusive, KST, compared
  with requestDate), ``reserve`` "Y"/"N"; ``pageNum``/``pageSize`` (int or digit string,
  defaults 1/15, pageSize ≤ 1000). Newest first; ``totalCount`` counts every match. No match
  is ``{code:200, totalCount:0, list:[]}``. ``buttons`` is ``{link1..link5: ""}``.
- Balance ``/api/charge/`` → ``{code:200, message, charge}``. Which HTTP method IWINV takes is
  not documented (IWINV-AT-CHARGE): the fake answers the methods in
  ``alimtalk_charge_methods`` (default GET and POST, any body) and 405 to the others.
- Templates: ``templates`` (code → content) are sendable when ``template_info[code]["status"]``
  is "Y" (the default for codes without info). ``/api/template/`` lists ``{templateCode,
  templateName, templateContent, status, templateStatusMsg, templateStatusComments,
  createDate, buttons}`` filtered by templateCode/templateStatus with string or int paging;
  ``add`` creates status "I" and answers ``templateCode`` ("TPL" + 6 digits); ``modify`` sets
  status "I" again; ``delete`` removes it (unknown code → 501). ``approve_template()`` sets "Y".
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tests.fakes._common import cp949_len, kst_text
from tests.fakes.iwinv.state import (
    ALIMTALK_DELIVERED,
    ALIMTALK_FAILED,
    ALIMTALK_MESSAGES,
    ALIMTALK_NON_USER,
    ALIMTALK_RESERVE_MAX,
    MAX_ALIMTALK_RECIPIENTS,
    PRICES,
    RESERVE_LEAD,
    AlimTalkRecord,
    Fail,
    delivered_alimtalk,
    history_bounds,
    history_page,
    int_param,
    paging,
    parse_kst,
    placeholders,
    render,
    resolve_outcome,
    title_code,
    valid_phone,
    within,
)


class AlimTalkApi:
    """The AlimTalk endpoints (mixed into ``FakeIwinv``)."""

    balance: float
    blocked_keywords: set[str]
    clock: Callable[[], float]
    final_outcomes: dict[str, str | tuple[str, str]]
    kakao_non_users: set[str]
    progress_after: float
    senders: set[str]
    template_info: dict[str, dict[str, Any]]
    templates: dict[str, str]
    _alimtalk: list[AlimTalkRecord]
    _arrival: int
    _next_seq_no: int
    _next_template: int

    def _alimtalk_send(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        code = body.get("templateCode")
        recipients = body.get("list")
        if not isinstance(code, str) or not code:
            raise Fail(501, "templateCode is required")
        content = self.templates.get(code)
        if content is None or self._info(code)["status"] != "Y":
            raise Fail(501, f"templateCode {code!r}")
        if not isinstance(recipients, list) or not recipients:
            raise Fail(502, "list must be a non-empty array")
        if not all(isinstance(r, dict) for r in recipients):
            raise Fail(502, "list items must be objects")
        if len(recipients) > MAX_ALIMTALK_RECIPIENTS:
            raise Fail(514, f"{len(recipients)} recipients")

        reserve = body.get("reserve", "N")
        if reserve not in ("Y", "N"):
            raise Fail(506, "reserve must be Y or N")
        start = now
        if reserve == "Y":
            send_date = body.get("sendDate")
            if send_date is None or send_date == "":
                raise Fail(506, "sendDate is required when reserve is Y")
            at = parse_kst(send_date)
            if at is None:
                raise Fail(506, "sendDate must be yyyy-MM-dd HH:mm:ss")
            if not now + RESERVE_LEAD <= at <= now + ALIMTALK_RESERVE_MAX:
                raise Fail(507, f"sendDate {send_date} is not 15 minutes to 2 days ahead (KST)")
            start = at

        resend = self._resend_fields(body)

        names = placeholders(content)
        outcomes: list[tuple[dict[str, Any], list[str], str] | Fail] = []
        for item in recipients:
            try:
                outcomes.append(self._recipient(item, content, names, resend))
            except Fail as failure:
                outcomes.append(failure)
        good = [o for o in outcomes if not isinstance(o, Fail)]
        if not good:
            first = outcomes[0]
            assert isinstance(first, Fail)
            raise first
        cost = PRICES["ALIMTALK"] * len(good)
        if self.balance < cost:
            raise Fail(519, f"balance {self.balance:g} < {cost}")
        self.balance -= cost

        seq_no = self._next_seq_no
        self._next_seq_no += 1
        final_at = start + self.progress_after
        for raw_item, outcome in zip(recipients, outcomes, strict=True):
            self._arrival += 1
            if isinstance(outcome, Fail):
                raw_phone = raw_item.get("phone")
                name = f"발송 실패: {ALIMTALK_MESSAGES[outcome.code]}"
                self._alimtalk.append(
                    AlimTalkRecord(
                        seq_no=seq_no,
                        phone=raw_phone if isinstance(raw_phone, str) else str(raw_phone),
                        template_code=code,
                        template_param=[],
                        text="",
                        reserve=reserve == "Y",
                        requested=now,
                        start=now,
                        final_at=now,
                        outcome=(str(outcome.code), name),
                        accepted=False,
                        resend=copy.deepcopy(resend),
                        arrival=self._arrival,
                    )
                )
                continue
            _, params, text = outcome
            phone = raw_item["phone"]
            final = self._alimtalk_outcome(phone)
            message = AlimTalkRecord(
                seq_no=seq_no,
                phone=phone,
                template_code=code,
                template_param=list(params),
                text=text,
                reserve=reserve == "Y",
                requested=now,
                start=start,
                final_at=final_at,
                outcome=final,
                accepted=True,
                resend=copy.deepcopy(resend),
                arrival=self._arrival,
            )
            if resend["reSend"] == "Y" and final is not None and not delivered_alimtalk(final):
                message.resend_plan = self._plan_resend(message, resend)
            self._alimtalk.append(message)
        return {
            "code": 200,
            "message": ALIMTALK_MESSAGES[200],
            "success": len(good),
            "fail": len(outcomes) - len(good),
        }

    def _recipient(
        self, item: dict[str, Any], content: str, names: list[str], resend: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str], str]:
        """One recipient's (item, templateParam, rendered text); raises its Fail."""
        phone = item.get("phone")
        if phone is None or phone == "":
            raise Fail(512, "phone is required")
        if not valid_phone(phone):
            raise Fail(513, f"phone {phone!r}")
        params = item.get("templateParam")
        if params is None:
            params = []
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise Fail(508, "templateParam must be a list of strings")
        if len(params) < len(names):
            raise Fail(508, f"{len(params)} values for {len(names)} placeholders")
        if len(params) > len(names):
            raise Fail(509, f"{len(params)} values for {len(names)} placeholders")
        text = render(content, params)
        if len(text) > 1000:
            raise Fail(517, f"the AlimTalk text is {len(text)} characters")
        if resend["reSend"] == "Y" and resend["resendType"] == "Y" and len(text) > 1000:
            raise Fail(516, f"the replacement text is {len(text)} characters")
        for word in self.blocked_keywords:
            if word and word in text:
                raise Fail(540, word)
        return item, params, text

    def _resend_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        re_send = body.get("reSend", "N")
        if re_send not in ("Y", "N"):
            raise Fail(503, "reSend must be Y or N")
        callback = body.get("resendCallback")
        resend_type = body.get("resendType")
        title = body.get("resendTitle")
        content = body.get("resendContent")
        if resend_type not in (None, "", "Y", "N"):
            raise Fail(504, "resendType must be Y or N")
        for name, value, code in (
            ("resendCallback", callback, 505),
            ("resendTitle", title, 511),
            ("resendContent", content, 515),
        ):
            if value is not None and not isinstance(value, str):
                raise Fail(code, f"{name} must be a string")
        if re_send == "Y":
            if not callback or callback not in self.senders:
                raise Fail(505, f"resendCallback {callback!r}")
            if resend_type == "N" and not content:
                raise Fail(504, "resendContent is required when resendType is N")
            if content and len(content) > 1000:
                raise Fail(515, f"resendContent is {len(content)} characters")
            if title:
                title_error = title_code(title, chars=511, size=510)
                if title_error is not None:
                    raise Fail(title_error, f"resendTitle {title!r}")
        return {
            "reSend": re_send,
            "resendCallback": callback,
            "resendType": resend_type,
            "resendTitle": title,
            "resendContent": content,
        }

    def _alimtalk_outcome(self, phone: str) -> tuple[str, str] | None:
        chosen = self.final_outcomes.get(phone)
        if chosen is not None:
            return resolve_outcome(chosen, ALIMTALK_DELIVERED, ALIMTALK_FAILED)
        if phone in self.kakao_non_users:
            return ALIMTALK_NON_USER
        return ALIMTALK_DELIVERED

    def _plan_resend(self, message: AlimTalkRecord, resend: dict[str, Any]) -> dict[str, Any]:
        custom = resend["resendType"] == "N" or (
            resend["resendType"] in (None, "") and bool(resend["resendContent"])
        )
        text = resend["resendContent"] if custom else message.text
        title = resend["resendTitle"] or None
        msg_type = "LMS" if title or cp949_len(text) > 90 else "SMS"
        return {
            "channel": "sms",
            "kind": "resend",
            "seqNo": message.seq_no,
            "phone": message.phone,
            "from": resend["resendCallback"],
            "msgType": msg_type,
            "title": title,
            "text": text,
            "at": message.final_at,
        }

    def _alimtalk_history(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        seq_raw = body.get("seqNo")
        seq_no: int | None = None
        if seq_raw is not None and seq_raw != "":
            seq_no = int_param(seq_raw, 0)
            if seq_no is None:
                raise Fail(502, "seqNo must be a number")
        phone = body.get("phone")
        if phone is not None and not isinstance(phone, str):
            raise Fail(502, "phone must be a string")
        reserve = body.get("reserve")
        if reserve not in (None, "", "Y", "N"):
            raise Fail(502, "reserve must be Y or N")
        bounds = history_bounds(body, 502)
        paged = paging(body, 502)
        matched: list[AlimTalkRecord] = []
        for message in reversed(self._alimtalk):
            if seq_no is not None and message.seq_no != seq_no:
                continue
            if phone and message.phone != phone:
                continue
            if reserve and (message.reserve != (reserve == "Y")):
                continue
            if not within(message.requested, bounds):
                continue
            matched.append(message)
        page = history_page(matched, paged, lambda m: self._alimtalk_view(m, now))
        return {"code": 200, **page}

    def _alimtalk_view(self, message: AlimTalkRecord, now: float) -> dict[str, Any]:
        status_code, status_name = "WAIT", "발송 대기"
        if message.reserve and now < message.start:
            status_name = "예약 대기"
        send_date = receive_date = ""
        resend_status = resend_name = ""
        if message.outcome is not None and now >= message.final_at:
            status_code, status_name = message.outcome
            send_date = kst_text(message.final_at)
            if message.accepted and delivered_alimtalk(message.outcome):
                receive_date = send_date
            if message.resend_plan is not None:
                resend_status = "OK"
                resend_name = f"{message.resend_plan['msgType']} 대체발송 성공"
        return {
            "seqNo": message.seq_no,
            "phone": message.phone,
            "callback": message.resend["resendCallback"] or "",
            "templateCode": message.template_code,
            "sendMessage": message.text,
            "reserve": "Y" if message.reserve else "N",
            "requestDate": kst_text(message.requested),
            "sendDate": send_date,
            "receiveDate": receive_date,
            "statusCode": status_code,
            "statusCodeName": status_name,
            "resendStatus": resend_status,
            "resendStatusName": resend_name,
            "buttons": {f"link{i}": "" for i in range(1, 6)},
        }

    def _info(self, code: str) -> dict[str, Any]:
        info = self.template_info.get(code)
        if info is None:
            info = {"name": code, "status": "Y", "created": self.clock(), "buttons": []}
            self.template_info[code] = info
        return info

    def _template_call(self, endpoint: str, body: dict[str, Any], now: float) -> dict[str, Any]:
        if endpoint == "/api/template/":
            paged = paging(body, 502)
            wanted_code = body.get("templateCode")
            wanted_status = body.get("templateStatus")
            rows = []
            for listed_code, listed_content in self.templates.items():
                info = self._info(listed_code)
                if wanted_code and listed_code != wanted_code:
                    continue
                if wanted_status and info["status"] != wanted_status:
                    continue
                rows.append(
                    {
                        "templateCode": listed_code,
                        "templateName": info["name"],
                        "templateContent": listed_content,
                        "status": info["status"],
                        "templateStatusMsg": {"Y": "승인", "I": "검수 중", "R": "반려"}.get(
                            info["status"], ""
                        ),
                        "templateStatusComments": "",
                        "createDate": kst_text(info["created"]),
                        "buttons": copy.deepcopy(info["buttons"]),
                    }
                )
            return {"code": 200, **history_page(rows, paged, lambda row: row)}
        name, content = body.get("templateName"), body.get("templateContent")
        buttons = body.get("buttons")
        buttons = buttons if isinstance(buttons, list) else []
        if endpoint == "/api/template/add/":
            if not isinstance(name, str) or not name or not isinstance(content, str) or not content:
                raise Fail(502, "templateName and templateContent are required")
            new_code = f"TPL{self._next_template:06d}"
            self._next_template += 1
            self.templates[new_code] = content
            self.template_info[new_code] = {
                "name": name,
                "status": "I",
                "created": now,
                "buttons": copy.deepcopy(buttons),
            }
            return {"code": 200, "message": "등록 성공", "templateCode": new_code}
        code = body.get("templateCode")
        if not isinstance(code, str) or code not in self.templates:
            raise Fail(501, f"templateCode {code!r}")
        if endpoint == "/api/template/delete/":
            del self.templates[code]
            self.template_info.pop(code, None)
            return {"code": 200, "message": "삭제 성공"}
        info = self._info(code)
        if isinstance(name, str) and name:
            info["name"] = name
        if isinstance(content, str) and content:
            self.templates[code] = content
        if isinstance(body.get("buttons"), list):
            info["buttons"] = copy.deepcopy(buttons)
        info["status"] = "I"
        return {"code": 200, "message": "수정 성공"}
