"""A fake Slack: the Web API (``/api/<method>``) and ``response_url`` endpoints (``/respond/<key>``) on 127.0.0.1.

Why a real server: the bot reaches Slack through slack_sdk's ``WebClient`` and slack_bolt's ``respond()``. Pointing
them at this fake (``WebClient(base_url=fake.api_url)``, ``fake.response_url()``) runs their real serialisation and
HTTP code, while the fake answers the way Slack does: the same response shapes, the same error codes, HTTP 429 with
``Retry-After`` when rate limited, and refusals for Block Kit that Slack would refuse. Every such refusal is also
written to :attr:`SlackFake.violations`, so a test that only checks the happy path still sees a malformed message.

State lives in memory: users (:meth:`SlackFake.add_user`), messages and threads (chat.postMessage,
:meth:`SlackFake.add_thread`), views. Channels exist once named; :attr:`SlackFake.not_in_channel` says where the bot
is not a member. Scopes are checked against :attr:`SlackFake.granted_scopes` (by default the bot's own
``REQUIRED_BOT_SCOPES``, i.e. what the manifest grants).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import itertools
import json
import math
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.render.ids import REQUIRED_BOT_SCOPES
from tests.fakes.server import FakeServer, Recorded, Reply

Params = dict[str, Any]

# Slack's documented limits (Block Kit reference, chat.postMessage).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELD_TEXT = 2000
MAX_SECTION_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ID = 255  # action_id, block_id
MAX_TEXT = 40_000
MAX_BLOCKS_JSON = 12_000  # Slack's "msg_blocks_too_long" kicks in at roughly this many characters of blocks
MAX_VIEW_TITLE = 24
MAX_INPUT_LENGTH = 3000  # plain_text_input: min_length 0–3,000 and max_length 1–3,000, inclusive

# Form fields whose value is JSON: slack clients send them encoded when they use form bodies.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "user_auth_blocks")

_TS_EPOCH = 1_700_000_000


@dataclass
class ChannelLimit:
    """Slack's per-channel posting limit: about one ``chat.postMessage`` a second per channel, short bursts allowed.

    A token bucket per channel: ``per_second`` tokens a second, at most ``burst`` saved up; a post without a token is
    answered 429 with ``Retry-After`` (whole seconds, as Slack sends it) and changes nothing.
    """

    per_second: float = 1.0
    burst: int = 3
    methods: tuple[str, ...] = ("chat.postMessage",)


@dataclass
class ApiCall:
    """One Web API call and what the fake answered: for debugging a failing test, not for asserting."""

    method: str
    params: Params
    status: int
    response: dict[str, Any]


def _ts_key(ts: str) -> tuple[int, int]:
    """Order Slack timestamps numerically (a test may seed any "seconds.micros" string)."""
    sec, _, frac = str(ts).partition(".")
    try:
        return int(sec), int(frac.ljust(6, "0")[:6] or 0)
    except ValueError:
        return 0, 0


def _text_of(obj: Any) -> str | None:
    """The string in a text object (``{"type": "plain_text", "text": ...}``) or a bare string."""
    if isinstance(obj, dict):
        text = obj.get("text")
        return text if isinstance(text, str) else None
    return obj if isinstance(obj, str) else None


def _limit_reasons(node: Any, where: str) -> list[str]:
    """Check the limits Slack enforces on Block Kit JSON, wherever the component is nested."""
    reasons: list[str] = []

    def too_long(value: str | None, limit: int, what: str, at: str) -> None:
        if value is not None and len(value) > limit:
            reasons.append(f"{at}: {what} is {len(value)} characters, Slack allows {limit}")

    def visit(obj: Any, at: str) -> None:
        if isinstance(obj, list):
            for i, item in enumerate(obj):
                visit(item, f"{at}[{i}]")
            return
        if not isinstance(obj, dict):
            return
        kind = obj.get("type")
        if kind == "section":
            too_long(_text_of(obj.get("text")), MAX_SECTION_TEXT, "section text", at)
            fields = obj.get("fields")
            if isinstance(fields, list):
                if len(fields) > MAX_SECTION_FIELDS:
                    reasons.append(f"{at}: section has {len(fields)} fields, Slack allows {MAX_SECTION_FIELDS}")
                for i, f in enumerate(fields):
                    too_long(_text_of(f), MAX_SECTION_FIELD_TEXT, "section field text", f"{at}.fields[{i}]")
        elif kind == "header":
            too_long(_text_of(obj.get("text")), MAX_HEADER_TEXT, "header text", at)
        elif kind == "plain_text_input":
            for key, low in (("min_length", 0), ("max_length", 1)):
                bound = obj.get(key)
                if bound is not None and not (isinstance(bound, int) and low <= bound <= MAX_INPUT_LENGTH):
                    reasons.append(f"{at}: plain_text_input {key} is {bound}, Slack allows {low} to {MAX_INPUT_LENGTH}")
        elif kind == "button":
            too_long(_text_of(obj.get("text")), MAX_BUTTON_TEXT, "button text", at)
            too_long(obj.get("value") if isinstance(obj.get("value"), str) else None, MAX_BUTTON_VALUE, "value", at)
            too_long(obj.get("url") if isinstance(obj.get("url"), str) else None, MAX_URL, "url", at)
        for key in ("action_id", "block_id"):
            value = obj.get(key)
            too_long(value if isinstance(value, str) else None, MAX_ID, key, at)
        for key, value in obj.items():
            if isinstance(value, dict | list):
                visit(value, f"{at}.{key}")

    visit(node, where)
    return reasons


def _block_reasons(blocks: Any, where: str, max_blocks: int) -> list[str]:
    """Why Slack would refuse this ``blocks`` array (empty when it is fine).

    Explicit limits first (readable messages); then each block must survive slack_sdk's own model: ``Block.parse``
    (unknown types come back as None) and ``to_dict()``, which runs the validators of every nested element.
    """
    if not isinstance(blocks, list):
        return [f"{where}: blocks must be a JSON array, got {type(blocks).__name__}"]
    reasons: list[str] = []
    if len(blocks) > max_blocks:
        reasons.append(f"{where}: {len(blocks)} blocks, Slack allows {max_blocks}")
    for i, raw in enumerate(blocks):
        at = f"{where}.blocks[{i}]"
        if not isinstance(raw, dict):
            reasons.append(f"{at}: a block must be a JSON object")
            continue
        explicit = _limit_reasons(raw, at)
        if explicit:
            reasons.extend(explicit)
            continue
        try:
            parsed = Block.parse(raw)
            if parsed is None:
                reasons.append(f"{at}: unknown block type {raw.get('type')!r}")
            else:
                parsed.to_dict()
        except Exception as exc:  # slack_sdk raises SlackObjectFormationError, TypeError, ... for bad blocks
            reasons.append(f"{at}: {type(exc).__name__}: {exc}")
    return reasons


def _view_reasons(view: Any, where: str) -> list[str]:
    """Why Slack would refuse this view (modal or home tab)."""
    if not isinstance(view, dict):
        return [f"{where}: view must be a JSON object"]
    reasons: list[str] = []
    if view.get("type") not in ("modal", "home"):
        reasons.append(f"{where}: view type must be 'modal' or 'home', got {view.get('type')!r}")
    title = _text_of(view.get("title"))
    if view.get("type") == "modal" and not title:
        reasons.append(f"{where}: a modal needs a title")
    if title is not None and len(title) > MAX_VIEW_TITLE:
        reasons.append(f"{where}: title is {len(title)} characters, Slack allows {MAX_VIEW_TITLE}")
    blocks = view.get("blocks")
    if blocks is None:
        reasons.append(f"{where}: a view needs blocks")
    else:
        reasons.extend(_block_reasons(blocks, where, MAX_VIEW_BLOCKS))
        if (
            view.get("type") == "modal"
            and isinstance(blocks, list)
            and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
            and not view.get("submit")
        ):
            reasons.append(f"{where}: a modal with input blocks needs a submit button")
    if not reasons:
        try:
            model = View(**view)
            model.validate_json()
            model.to_dict()
        except Exception as exc:
            reasons.append(f"{where}: {type(exc).__name__}: {exc}")
    return reasons


def _err(error: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": error, **extra}


class SlackFake(FakeServer):
    """Slack's Web API and response URLs, with the state and limits a bot test needs.

    Use as a context manager (``with SlackFake() as slack:``) or ``start()``/``stop()``.
    """

    team_id = "T111"
    team_name = "Example"
    workspace_url = "https://example.slack.com/"
    bot_user_id = "U0BOT"
    bot_id = "B0BOT"
    app_id = "A0APP"

    def __init__(self, bot_token: str = "xoxb-test-token") -> None:
        super().__init__()
        self.bot_token = bot_token
        self.granted_scopes: list[str] = list(REQUIRED_BOT_SCOPES)
        self.not_in_channel: set[str] = set()
        self.violations: list[str] = []
        self.api_log: list[ApiCall] = []
        self.views: dict[str, dict[str, Any]] = {}
        self._state = threading.RLock()
        self._calls: list[tuple[str, Params]] = []
        self._responses: list[tuple[str, dict[str, Any]]] = []
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # channel → ts → message
        self._home_views: dict[str, str] = {}  # user → view id
        self._faults: dict[str, deque[tuple[str, Any]]] = defaultdict(deque)
        self.channel_limit: ChannelLimit | None = None  # off unless a test or benchmark models it
        self.rate_limited: Counter[str] = Counter()  # 429s answered by the channel limit, per channel
        self._buckets: dict[str, tuple[float, float]] = {}  # channel → (tokens, at)
        self._ts_counter = itertools.count(1)
        self._view_counter = itertools.count(1)
        self._hash_counter = itertools.count(1)
        self._methods: dict[str, Callable[[Params], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "reactions.add": self._reactions_add,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
        }
        self._usergroups: dict[str, dict[str, Any]] = {}  # id → usergroup (users kept apart, as Slack does)
        self._users[self.bot_user_id] = {
            "id": self.bot_user_id,
            "team_id": self.team_id,
            "name": "rootly",
            "real_name": "Rootly",
            "deleted": False,
            "is_bot": True,
            "tz": "UTC",
            "tz_offset": 0,
            "profile": {"real_name": "Rootly", "display_name": "rootly", "bot_id": self.bot_id},
        }

    # lifecycle ---------------------------------------------------------------------------------------------
    # addresses ---------------------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)`` / ``SLACK_API_URL`` (ends with a slash, like Slack's)."""
        return f"{self.url}/api/"

    def response_url(self, key: str = "r1") -> str:
        """A response URL to put in a slash command or interaction payload; ``key`` tells them apart."""
        return f"{self.url}/respond/{key}"

    # seeding -----------------------------------------------------------------------------------------------
    def add_user(
        self, user_id: str, email: str, real_name: str, tz: str = "Europe/Berlin", display_name: str | None = None
    ) -> dict[str, Any]:
        """Register a workspace member for users.info / users.lookupByEmail; returns Slack's user object."""
        offset = ZoneInfo(tz).utcoffset(datetime.now(UTC).replace(tzinfo=None))
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": email.split("@", 1)[0],
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "tz": tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": {
                "email": email,
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": display_name or "",
                "display_name_normalized": display_name or "",
            },
        }
        with self._state:
            self._users[user_id] = user
        return copy.deepcopy(user)

    def add_usergroup(self, group_id: str, handle: str, users: Iterable[str], name: str | None = None) -> None:
        """A user group (``S…``), for usergroups.list / usergroups.users.list; replaces one with the same id."""
        with self._state:
            self._usergroups[group_id] = {
                "id": group_id,
                "team_id": self.team_id,
                "is_usergroup": True,
                "name": name or handle.title(),
                "description": "",
                "handle": handle,
                "is_external": False,
                "date_create": _TS_EPOCH,
                "date_update": _TS_EPOCH,
                "date_delete": 0,
                "auto_type": None,
                "created_by": "U0ADMIN",
                "updated_by": "U0ADMIN",
                "deleted_by": None,
                "prefs": {"channels": [], "groups": []},
                "users": list(users),
            }

    def add_channel(self, channel_id: str, name: str, is_private: bool = False) -> None:
        """Name a channel (any id works without this; this sets the name and privacy conversations.info shows)."""
        with self._state:
            self._channels[channel_id] = {"name": name, "is_private": is_private}

    def add_message(self, channel: str, text: str, user: str = "U0PARENT", thread_ts: str | None = None) -> str:
        """Seed a message as if a person had posted it; returns its ts."""
        with self._state:
            ts = self._next_ts()
            msg: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts, "team": self.team_id}
            self._store(channel, msg, thread_ts)
            return ts

    def add_thread(
        self, channel: str, parent_text: str, replies: Iterable[tuple[str, str]], parent_user: str = "U0PARENT"
    ) -> str:
        """Seed a thread: a parent and ``(user, text)`` replies, oldest first. Returns the thread's ts."""
        with self._state:
            thread_ts = self.add_message(channel, parent_text, user=parent_user)
            for user, text in replies:
                self.add_message(channel, text, user=user, thread_ts=thread_ts)
            return thread_ts

    # fault injection ---------------------------------------------------------------------------------------
    def fail(self, method: str, error: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        with self._state:
            self._faults[method].extend([("error", error)] * times)

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` answer HTTP 429 with ``Retry-After: retry_after``."""
        with self._state:
            self._faults[method].extend([("ratelimited", retry_after)] * times)

    def limit_channels(self, per_second: float = 1.0, burst: int = 3) -> None:
        """Model Slack's per-channel posting limit from now on (see :class:`ChannelLimit`); 429s are counted in
        :attr:`rate_limited`, per channel."""
        with self._state:
            self.channel_limit = ChannelLimit(per_second, burst)
            self._buckets.clear()

    def _channel_wait(self, method: str, params: Params) -> float | None:
        """Seconds until ``channel`` may take this call, or None when it may now (a token is taken)."""
        limit = self.channel_limit
        if limit is None or method not in limit.methods or not params.get("channel"):
            return None
        channel = self._channel_for(str(params["channel"]))
        now = time.monotonic()
        tokens, at = self._buckets.get(channel, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - at) * limit.per_second)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return None
        self._buckets[channel] = (tokens, now)
        self.rate_limited[channel] += 1
        return (1.0 - tokens) / limit.per_second

    # what arrived ------------------------------------------------------------------------------------------
    def calls(self, method: str) -> list[Params]:
        """Decoded params of every call to ``method``, in order, whatever the fake answered."""
        with self._state:
            return [copy.deepcopy(p) for m, p in self._calls if m == method]

    def responses(self, key: str | None = None) -> list[dict[str, Any]]:
        """JSON bodies POSTed to response URLs (all of them, or those for ``key``), in order."""
        with self._state:
            return [copy.deepcopy(b) for k, b in self._responses if key is None or k == key]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in ``channel`` (posted, updated, not deleted), oldest first."""
        with self._state:
            return [copy.deepcopy(m) for m in sorted(self._messages[channel].values(), key=lambda m: _ts_key(m["ts"]))]

    def wait_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[Params]:
        """Wait until ``method`` was called at least ``n`` times (the bot works after acking) and return the calls."""
        if not self.wait_for(lambda: len(self.calls(method)) >= n, timeout):
            with self._state:
                seen = sorted({m for m, _ in self._calls})
            raise AssertionError(
                f"expected {n} call(s) to {method} within {timeout}s, got {self.calls(method)!r}; "
                f"methods called: {seen}"
            )
        return self.calls(method)

    def wait_responses(self, n: int = 1, key: str | None = None, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until at least ``n`` bodies reached the response URL(s) and return them."""
        if not self.wait_for(lambda: len(self.responses(key)) >= n, timeout):
            raise AssertionError(
                f"expected {n} response_url POST(s) (key={key!r}) within {timeout}s, got {self.responses()!r}"
            )
        return self.responses(key)

    # HTTP --------------------------------------------------------------------------------------------------
    def handle(self, req: Recorded) -> Reply:
        if req.path.startswith("/api/"):
            return self._handle_api(req, req.path[len("/api/") :])
        if req.path.startswith("/respond/"):
            return self._handle_response_url(req, req.path[len("/respond/") :])
        return Reply(404, "not found", content_type="text/plain")

    def on_error(self, req: Recorded, exc: Exception) -> None:
        with self._state:
            self.violations.append(f"fake crashed on {req.method} {req.path}: {exc!r}")

    def _handle_api(self, req: Recorded, method: str) -> Reply:
        headers = {"x-oauth-scopes": ",".join(self.granted_scopes)}
        try:
            params = self._decode_params(req)
        except ValueError as exc:
            with self._state:
                self._calls.append((method, {}))
                self.api_log.append(ApiCall(method, {}, 200, _err("invalid_json")))
            return Reply(200, _err("invalid_json", detail=str(exc)), headers)
        with self._state:
            self._calls.append((method, copy.deepcopy(params)))
            status, body = self._dispatch(req, method, params)
            if status == 429:
                headers["Retry-After"] = str(body.pop("_retry_after"))
            self.api_log.append(ApiCall(method, copy.deepcopy(params), status, copy.deepcopy(body)))
        return Reply(status, body, headers)

    def _dispatch(self, req: Recorded, method: str, params: Params) -> tuple[int, dict[str, Any]]:
        handler = self._methods.get(method)
        if handler is None:
            return 200, _err("unknown_method", req_method=method)
        supplied = self._supplied_token(req, params)
        if supplied is None:
            return 200, _err("not_authed")
        if supplied != self.bot_token:
            return 200, _err("invalid_auth")
        faults = self._faults.get(method)
        if faults:
            kind, value = faults.popleft()
            if kind == "ratelimited":
                return 429, _err("ratelimited", _retry_after=value)
            return 200, _err(value)
        needed = self._scope_needed(method, params)
        if needed and needed not in self.granted_scopes:
            return 200, _err("missing_scope", needed=needed, provided=",".join(self.granted_scopes))
        wait = self._channel_wait(method, params)
        if wait is not None:
            return 429, _err("ratelimited", _retry_after=max(1, math.ceil(wait)))
        return 200, handler(params)

    @staticmethod
    def _supplied_token(req: Recorded, params: Params) -> str | None:
        auth = req.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :].strip()
        token = params.get("token")
        return token if isinstance(token, str) else None

    @staticmethod
    def _decode_params(req: Recorded) -> Params:
        """Query string, then the body: JSON or form; JSON-valued form fields (blocks, view, ...) decoded."""
        params: Params = {k: v[-1] for k, v in req.query.items()}
        ctype = req.headers.get("content-type", "")
        if req.body:
            if "application/json" in ctype:
                body = json.loads(req.body)
                if not isinstance(body, dict):
                    raise ValueError("a JSON body must be an object")
                params.update(body)
            elif "multipart/form-data" not in ctype:
                params.update(req.form)
        for name in _JSON_FIELDS:
            value = params.get(name)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):  # left as a string if it is not JSON; validation reports it
                    params[name] = json.loads(value)
        return params

    def _scope_needed(self, method: str, params: Params) -> str | None:
        """The bot scope Slack would demand for this call (one representative scope per method)."""
        channel = str(params.get("channel") or "")
        kind = "im" if channel.startswith("D") else "groups" if self._is_private(channel) else "channels"
        return {
            "chat.postMessage": "chat:write",
            "chat.postEphemeral": "chat:write",
            "chat.update": "chat:write",
            "chat.delete": "chat:write",
            "reactions.add": "reactions:write",
            "users.info": "users:read",
            "users.lookupByEmail": "users:read.email",
            "conversations.replies": f"{kind}:history",
            "conversations.history": f"{kind}:history",
            "conversations.info": f"{kind}:read",
            "conversations.join": "channels:join",
            "usergroups.list": "usergroups:read",
            "usergroups.users.list": "usergroups:read",
        }.get(method)

    def _handle_response_url(self, req: Recorded, key: str) -> Reply:
        """Slack answers response URLs in plain text: 200 ``ok``, or 400 with the error name."""
        if req.method != "POST":
            return Reply(405, "method_not_allowed", content_type="text/plain")
        try:
            body = json.loads(req.body) if req.body else None
        except ValueError:
            body = None
        with self._state:
            if not isinstance(body, dict):
                self.violations.append(f"response_url {key}: body is not a JSON object: {req.body[:200]!r}")
                return Reply(400, "invalid_payload", content_type="text/plain")
            self._responses.append((key, copy.deepcopy(body)))
            where = f"response_url {key}"
            if body.get("response_type") not in (None, "in_channel", "ephemeral"):
                self.violations.append(f"{where}: response_type {body.get('response_type')!r} is not Slack's")
                return Reply(400, "invalid_payload", content_type="text/plain")
            if not body.get("delete_original"):
                found = self._message_error(body, where, require_content=True)
                if found:
                    return Reply(400, found[0], content_type="text/plain")
        return Reply(200, "ok", content_type="text/plain")

    # state helpers (called with self._state held) ---------------------------------------------------------
    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{_TS_EPOCH + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_hash(self) -> str:
        return f"{_TS_EPOCH}.{next(self._hash_counter):08x}"

    def _is_private(self, channel: str) -> bool:
        info = self._channels.get(channel)
        return bool(info["is_private"]) if info else channel.startswith("G")

    def _store(self, channel: str, msg: dict[str, Any], thread_ts: str | None) -> None:
        """Keep a message; a reply also updates its parent's thread summary, as Slack shows it."""
        if thread_ts and thread_ts != msg["ts"]:
            msg["thread_ts"] = thread_ts
            parent = self._messages[channel].get(thread_ts)
            if parent is not None:
                msg["parent_user_id"] = parent.get("user")
        self._messages[channel][msg["ts"]] = msg
        if thread_ts and thread_ts != msg["ts"]:
            self._refresh_thread(channel, thread_ts)

    def _refresh_thread(self, channel: str, thread_ts: str) -> None:
        parent = self._messages[channel].get(thread_ts)
        if parent is None:
            return
        replies = self._thread_replies(channel, thread_ts)
        if replies:
            parent.update(
                thread_ts=thread_ts,
                reply_count=len(replies),
                reply_users=sorted({r.get("user") for r in replies if r.get("user")}),
                latest_reply=replies[-1]["ts"],
            )
        else:
            for key in ("reply_count", "reply_users", "latest_reply", "thread_ts"):
                parent.pop(key, None)

    def _thread_replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        replies = [
            m for m in self._messages[channel].values() if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]
        return sorted(replies, key=lambda m: _ts_key(m["ts"]))

    def _channel_for(self, channel: str) -> str:
        """Posting to a user id lands in the DM with them, and Slack answers with the DM's id."""
        return f"D{channel[1:]}" if channel[:1] in ("U", "W") else channel

    def _message_error(self, params: Params, where: str, require_content: bool) -> tuple[str, list[str]] | None:
        """Slack's error and the reasons for a message body it would refuse (reasons go to violations)."""
        blocks = params.get("blocks")
        text = params.get("text")
        found: tuple[str, list[str]] | None = None
        if blocks is not None:
            reasons = _block_reasons(blocks, where, MAX_MESSAGE_BLOCKS)
            size = len(json.dumps(blocks, ensure_ascii=False, separators=(",", ":")))
            if reasons:
                found = "invalid_blocks", reasons
            elif size > MAX_BLOCKS_JSON:
                found = (
                    "msg_blocks_too_long",
                    [f"{where}: blocks are {size} characters of JSON, Slack allows ~{MAX_BLOCKS_JSON}"],
                )
        if found is None and isinstance(text, str) and len(text) > MAX_TEXT:
            found = "msg_too_long", [f"{where}: text is {len(text)} characters, Slack allows {MAX_TEXT}"]
        if found is None and require_content and not text and not blocks and not params.get("attachments"):
            found = "no_text", [f"{where}: message has neither text nor blocks"]
        if found is not None:
            self.violations.extend(found[1])
        return found

    def _refuse_message(self, params: Params, where: str, require_content: bool = True) -> dict[str, Any] | None:
        """The error reply for a message Slack would refuse, with its reasons as Slack's response_metadata."""
        found = self._message_error(params, where, require_content)
        if found is None:
            return None
        error, reasons = found
        return _err(error, response_metadata={"messages": [f"[ERROR] {r}" for r in reasons]})

    def _build_view(self, view: dict[str, Any], view_id: str, **fields: Any) -> dict[str, Any]:
        """The view as Slack returns it: what was sent plus the ids and state Slack adds."""
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": self._next_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
            **fields,
        }

    def _new_view(self, view: dict[str, Any]) -> dict[str, Any]:
        view_id = f"V{next(self._view_counter):04d}"
        self.views[view_id] = self._build_view(view, view_id)
        return self.views[view_id]

    def _replace_view(self, current: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        """views.update/publish replace the whole view; its id and place in the stack stay, the hash changes."""
        keep = {k: current[k] for k in ("root_view_id", "previous_view_id")}
        self.views[current["id"]] = self._build_view(view, current["id"], **keep)
        return self.views[current["id"]]

    def _check_view(self, params: Params, method: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(view, None) when the view param is acceptable, else (None, error reply)."""
        view = params.get("view")
        if view is None:
            return None, _err(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        reasons = _view_reasons(view, method)
        if reasons:
            self.violations.extend(reasons)
            return None, _err("invalid_blocks", response_metadata={"messages": [f"[ERROR] {r}" for r in reasons]})
        external_id = view.get("external_id")
        if (
            method != "views.update"
            and external_id
            and any(v.get("external_id") == external_id for v in self.views.values())
        ):
            return None, _err("duplicate_external_id")
        return view, None

    # methods -----------------------------------------------------------------------------------------------
    def _auth_test(self, params: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.workspace_url,
            "team": self.team_name,
            "user": "rootly",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: Params) -> dict[str, Any]:
        user = self._users.get(str(params.get("user", "")))
        return {"ok": True, "user": copy.deepcopy(user)} if user else _err("user_not_found")

    def _users_lookup_by_email(self, params: Params) -> dict[str, Any]:
        email = str(params.get("email", "")).lower()
        for user in self._users.values():
            if str(user["profile"].get("email", "")).lower() == email and email:
                return {"ok": True, "user": copy.deepcopy(user)}
        return _err("users_not_found")

    def _chat_post_message(self, params: Params) -> dict[str, Any]:
        raw_channel = str(params.get("channel") or "")
        if not raw_channel:
            return _err("channel_not_found")
        channel = self._channel_for(raw_channel)
        if channel in self.not_in_channel and (
            self._is_private(channel) or "chat:write.public" not in self.granted_scopes
        ):
            return _err("not_in_channel")
        refused = self._refuse_message(params, f"chat.postMessage to {channel}")
        if refused:
            return refused
        ts = self._next_ts()
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": params.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if params.get(key):
                msg[key] = params[key]
        if params.get("thread_ts") and str(params.get("reply_broadcast")).lower() in ("true", "1"):
            msg["subtype"] = "thread_broadcast"  # a reply also shown in the channel
        self._store(channel, msg, params.get("thread_ts") or None)
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(msg)}

    def _chat_post_ephemeral(self, params: Params) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        if not channel:
            return _err("channel_not_found")
        if not params.get("user"):
            return _err("user_not_found")
        refused = self._refuse_message(params, f"chat.postEphemeral to {channel}")
        return refused or {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, params: Params) -> dict[str, Any]:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        msg = self._messages[channel].get(ts) if channel else None
        if msg is None:
            return _err("message_not_found")
        if msg.get("user") != self.bot_user_id:
            return _err("cant_update_message")
        refused = self._refuse_message(params, f"chat.update of {channel}/{ts}", require_content=False)
        if refused:
            return refused
        if "text" in params:
            msg["text"] = params["text"] or ""
        for key in ("blocks", "attachments"):  # absent keeps the old ones; [] removes them, as Slack documents
            if key in params:
                if params[key]:
                    msg[key] = params[key]
                else:
                    msg.pop(key, None)
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"ok": True, "channel": channel, "ts": ts, "text": msg["text"], "message": copy.deepcopy(msg)}

    def _chat_delete(self, params: Params) -> dict[str, Any]:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        msg = self._messages[channel].get(ts) if channel else None
        if msg is None:
            return _err("message_not_found")
        if msg.get("user") != self.bot_user_id:
            return _err("cant_delete_message")
        del self._messages[channel][ts]
        if msg.get("thread_ts") and msg["thread_ts"] != ts:
            self._refresh_thread(channel, msg["thread_ts"])
        return {"ok": True, "channel": channel, "ts": ts}

    def _reactions_add(self, params: Params) -> dict[str, Any]:
        """An emoji reaction by the bot on a message; the same one twice is ``already_reacted``, as in Slack."""
        channel, ts, name = (str(params.get(k) or "") for k in ("channel", "timestamp", "name"))
        if not name:
            return _err("invalid_name")
        msg = self._messages[channel].get(ts) if channel and ts else None
        if msg is None:
            return _err("message_not_found")
        reactions = msg.setdefault("reactions", [])
        found = next((r for r in reactions if r["name"] == name), None)
        if found and self.bot_user_id in found["users"]:
            return _err("already_reacted")
        if found is None:
            reactions.append(found := {"name": name, "users": [], "count": 0})
        found["users"].append(self.bot_user_id)
        found["count"] += 1
        return {"ok": True}

    def _chat_get_permalink(self, params: Params) -> dict[str, Any]:
        """Permalinks do not need the message to be known here: the bot may ask for one from an event's ts."""
        channel, ts = str(params.get("channel") or ""), str(params.get("message_ts") or "")
        if not channel:
            return _err("channel_not_found")
        if not ts:
            return _err("message_not_found")
        link = f"{self.workspace_url}archives/{channel}/p{ts.replace('.', '')}"
        msg = self._messages[channel].get(ts)
        if msg and msg.get("thread_ts") and msg["thread_ts"] != ts:
            link += f"?thread_ts={msg['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _views_open(self, params: Params) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return _err("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required: trigger_id"]})
        view, error = self._check_view(params, "views.open")
        if error:
            return error
        assert view is not None
        return {"ok": True, "view": copy.deepcopy(self._new_view(view))}

    def _views_push(self, params: Params) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return _err("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required: trigger_id"]})
        view, error = self._check_view(params, "views.push")
        if error:
            return error
        assert view is not None
        return {"ok": True, "view": copy.deepcopy(self._new_view(view))}

    def _views_update(self, params: Params) -> dict[str, Any]:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            return _err("invalid_arguments", response_metadata={"messages": ["[ERROR] view_id or external_id"]})
        current = self.views.get(str(view_id)) if view_id else None
        if current is None and external_id:
            current = next((v for v in self.views.values() if v.get("external_id") == external_id), None)
        if current is None:
            return _err("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            return _err("hash_conflict")
        view, error = self._check_view(params, "views.update")
        if error:
            return error
        assert view is not None
        return {"ok": True, "view": copy.deepcopy(self._replace_view(current, view))}

    def _views_publish(self, params: Params) -> dict[str, Any]:
        user_id = str(params.get("user_id") or "")
        if not user_id:
            return _err("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required: user_id"]})
        view, error = self._check_view(params, "views.publish")
        if error:
            return error
        assert view is not None
        if view.get("type") != "home":
            self.violations.append(f"views.publish for {user_id}: view type must be 'home'")
            return _err("invalid_arguments")
        current = self.views.get(self._home_views.get(user_id, ""))
        if current is not None:
            if params.get("hash") and params["hash"] != current["hash"]:
                return _err("hash_conflict")
            stored = self._replace_view(current, view)
        else:
            stored = self._new_view(view)
            self._home_views[user_id] = stored["id"]
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _conversations_replies(self, params: Params) -> dict[str, Any]:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not channel:
            return _err("channel_not_found")
        if channel in self.not_in_channel:
            return _err("not_in_channel")
        msg = self._messages[channel].get(ts)
        if msg is None:
            return _err("thread_not_found")
        thread_ts = msg.get("thread_ts", ts)
        parent = self._messages[channel].get(thread_ts)
        thread = ([parent] if parent else []) + self._thread_replies(channel, thread_ts)
        try:
            limit = max(1, min(int(params.get("limit") or 1000), 1000))
            cursor = str(params.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return _err("invalid_cursor")
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {
            "ok": True,
            "messages": copy.deepcopy(page),
            "has_more": more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_history(self, params: Params) -> dict[str, Any]:
        """Top-level messages newest first, within ``oldest``/``latest``; metadata only with include_all_metadata."""
        channel = str(params.get("channel") or "")
        if not channel:
            return _err("channel_not_found")
        if channel in self.not_in_channel:
            return _err("not_in_channel")
        try:
            oldest = _ts_key(str(params.get("oldest") or "0"))
            latest = _ts_key(str(params["latest"])) if params.get("latest") else None
            limit = max(1, min(int(params.get("limit") or 100), 999))
            cursor = str(params.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return _err("invalid_arguments")
        found = [
            m
            for m in self._messages[channel].values()
            if m.get("thread_ts") in (None, m["ts"])
            and _ts_key(m["ts"]) > oldest
            and (latest is None or _ts_key(m["ts"]) < latest)
        ]
        found.sort(key=lambda m: _ts_key(m["ts"]), reverse=True)
        with_meta = str(params.get("include_all_metadata")).lower() in ("1", "true")
        page = [
            {k: v for k, v in copy.deepcopy(m).items() if with_meta or k != "metadata"}
            for m in found[start : start + limit]
        ]
        more = start + limit < len(found)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "messages": page, "has_more": more, "response_metadata": {"next_cursor": next_cursor}}

    def _channel_info(self, channel: str) -> dict[str, Any]:
        known = self._channels.get(channel, {})
        is_im = channel.startswith("D")
        return {
            "id": channel,
            "name": known.get("name", f"channel-{channel.lower()}") if not is_im else None,
            "is_channel": not is_im and not self._is_private(channel),
            "is_group": False,
            "is_im": is_im,
            "is_private": self._is_private(channel) or is_im,
            "is_archived": False,
            "is_member": channel not in self.not_in_channel,
            "created": _TS_EPOCH,
            "context_team_id": self.team_id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def _conversations_info(self, params: Params) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        if not channel:
            return _err("channel_not_found")
        return {"ok": True, "channel": self._channel_info(channel)}

    def _usergroups_list(self, params: Params) -> dict[str, Any]:
        with_users = str(params.get("include_users")).lower() in ("1", "true")
        groups = []
        for group in self._usergroups.values():
            shown = {k: v for k, v in copy.deepcopy(group).items() if k != "users" or with_users}
            shown["user_count"] = len(group["users"])
            groups.append(shown)
        return {"ok": True, "usergroups": groups}

    def _usergroups_users_list(self, params: Params) -> dict[str, Any]:
        group = self._usergroups.get(str(params.get("usergroup") or ""))
        if group is None:
            return _err("no_such_subteam")
        return {"ok": True, "users": list(group["users"])}

    def _conversations_join(self, params: Params) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        if not channel:
            return _err("channel_not_found")
        if channel.startswith("D") or self._is_private(channel):
            return _err("method_not_supported_for_channel_type")
        already = channel not in self.not_in_channel
        self.not_in_channel = {c for c in self.not_in_channel if c != channel}  # tolerate a list assigned by a test
        reply: dict[str, Any] = {"ok": True, "channel": self._channel_info(channel)}
        if already:
            reply["warning"] = "already_in_channel"
            reply["response_metadata"] = {"warnings": ["already_in_channel"]}
        return reply
