"""The bulk of seeding as set-based SQL: one `INSERT … SELECT` per table, run inside the database.

Building five million interaction rows in Python and binding them costs ~40 µs a row here; the
same rows computed by the database engine from a counter cost a fraction of that. Every
"random" choice is a deterministic integer hash of (seed, customer id, slot, salt), so the same
seed and `as_of` give the same rows on SQLite and PostgreSQL alike. Names, companies, email users
and phone prefixes come from Faker/phonenumbers-checked pools loaded into `seed_pool` first.

Integer arithmetic, CASE, `||` and a recursive counter are common to SQLite and PostgreSQL; the
few spellings that differ (timestamps, zero padding, JSON) go through `SeedSql._ts` and friends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

M = 2147483647  # 2^31 - 1: a hash times a 5-digit constant stays far from 64-bit overflow
PHONE_TAIL_DIGITS = 4
PHONE_STRIDE = 1_000_003  # prime, coprime with any capacity of the form n·10^4: a permutation
PHONE_SLOTS = 3  # slot 0 is the main number; slots 1 and 2 exist for some customers
MAX_INTERACTIONS = 10  # per customer, uniform on 0..10: mean 5
# Row ids are derived from the customer id (e.g. interaction k of customer i is i·16 + k), so
# parts of a parallel load never collide and merge as a plain append, and the same seed gives the
# same ids however the load was split. Ids are therefore sparse; nothing relies on them being dense.
IDS_PER_CUSTOMER = 16
ORG_EVERY = 25  # every 25th customer is an organisation (4%); the next few may be its contacts

POOL_NAME, POOL_COMPANY, POOL_USER, POOL_DOMAIN, POOL_PREFIX, POOL_NOTE, POOL_SUBJECT = range(7)

CATEGORIES = ("billing", "technical", "complaint", "sales", "account", "delivery", "general")
DISPOSITIONS = (
    ("resolved", 40),
    ("info_given", 15),
    ("callback_scheduled", 10),
    ("escalated", 8),
    ("ticket_opened", 12),
    ("transferred", 7),
    ("no_action", 8),
)
TIERS = (("platinum", 2), ("gold", 8), ("iron", 50), ("lead", 40))
# Customers the shipped training scenarios name by id, with the tier the scenario gives its
# caller (callkit/scenarios/*.toml: `customer_id`, `tier`): whatever the seed, customer 1
# is the platinum customer of `platinum_billing_dispute`. Customer 1 is always a person in no
# organisation, so their numbers are theirs alone and the pop finds exactly them.
SCENARIO_TIERS = {1: "platinum"}
LIFECYCLES = (
    ("prospect", 10),
    ("new", 15),
    ("growing", 20),
    ("mature", 35),
    ("declining", 12),
    ("churned", 8),
)
CHANNELS = (("voice", 65), ("email", 20), ("chat", 10), ("web", 5))
TAGS = ("vip", "reseller", "at-risk", "prefers-email", "do-not-call-evenings", "partner", "press")
PRIORITIES = (("low", 15), ("normal", 55), ("high", 22), ("urgent", 8))
OPEN_STATUSES = (("new", 25), ("open", 50), ("pending", 25))


@dataclass(frozen=True)
class PoolSizes:
    """How many entries each pool kind has per locale (equal across locales)."""

    names: int
    companies: int
    users: int
    domains: int
    prefixes: int
    notes: int
    subjects: int


@dataclass(frozen=True)
class SeedSql:
    """The INSERT … SELECT statements for one seeding run."""

    dialect: str  # "sqlite" or "postgresql"
    seed: int
    customers: int  # the last customer id this run generates
    locales: tuple[tuple[str, str, str], ...]  # (language, currency, region) per locale index
    start: int  # epoch of the start of the two-year history window
    end: int  # epoch of as_of (midnight UTC)
    agents: int  # agent ids are 1..agents
    queues: int  # queue ids are 1..queues
    sizes: PoolSizes
    first: int = 1  # the first customer id this run generates (a part of a parallel load)

    # ------------------------------------------------------------ dialect spellings

    def _ts(self, epoch: str) -> str:
        if self.dialect == "sqlite":
            return f"(({epoch}) * 1000000)"
        return f"to_timestamp({epoch})"

    def _pad4(self, value: str) -> str:
        if self.dialect == "sqlite":
            return f"printf('%04d', {value})"
        return f"lpad(({value})::text, 4, '0')"

    def _json(self, value: str) -> str:
        return value if self.dialect == "sqlite" else f"({value})::json"

    def _bool(self, condition: str) -> str:
        return f"({condition})"

    # ------------------------------------------------------------ building blocks

    def h(self, *terms: str, salt: int) -> str:
        """A pseudo-random integer in [0, M) from integer SQL terms and a salt."""
        mults = (2654435761, 40503, 9176)
        mix = " + ".join(f"({t}) * {k}" for t, k in zip(terms, mults, strict=False))
        base = (self.seed * 7919 + salt * 104729) % M
        return f"((({mix} + {base}) % {M}) * 48271 % {M})"

    @staticmethod
    def weighted(hash_expr: str, pairs: Sequence[tuple[str, int]]) -> str:
        total = sum(w for _, w in pairs)
        parts, acc = [], 0
        for value, weight in pairs[:-1]:
            acc += weight
            parts.append(f"WHEN {hash_expr} % {total} < {acc} THEN '{value}'")
        return f"(CASE {' '.join(parts)} ELSE '{pairs[-1][0]}' END)"

    @staticmethod
    def uniform(hash_expr: str, values: Sequence[str]) -> str:
        whens = " ".join(f"WHEN {n} THEN '{v}'" for n, v in enumerate(values))
        return f"(CASE {hash_expr} % {len(values)} {whens} END)"

    @staticmethod
    def pool(kind: int, loc: str, index: str) -> str:
        return f"(SELECT pv FROM seed_pool WHERE pk = {kind} AND pl = {loc} AND pi = {index})"

    def _loc(self, cid: str) -> str:
        return f"(({cid}) % {len(self.locales)})"

    def phone(self, cid: str, slot: str) -> str:
        """Customer `cid`'s number in `slot`: prefix pool entry + 4 digits, unique by design."""
        capacity = self.sizes.prefixes * 10**PHONE_TAIL_DIGITS
        idx = f"((({cid}) * {PHONE_SLOTS} + ({slot})) * {PHONE_STRIDE} % {capacity})"
        prefix = self.pool(POOL_PREFIX, self._loc(cid), f"({idx} / {10**PHONE_TAIL_DIGITS})")
        return f"({prefix} || {self._pad4(f'{idx} % {10**PHONE_TAIL_DIGITS}')})"

    def max_customers(self) -> int:
        """Numbers are unique while every (customer, slot) maps below the capacity."""
        capacity: int = self.sizes.prefixes * 10**PHONE_TAIL_DIGITS
        return capacity // PHONE_SLOTS - 1

    def _counter(self) -> str:
        # PostgreSQL types the counter as integer, and products like i * 3 * 1000003 pass 2^31
        # from a few hundred customers on: count in bigint there (SQLite's are 64-bit anyway).
        first = str(self.first) if self.dialect == "sqlite" else f"CAST({self.first} AS bigint)"
        return (
            f"WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n "
            f"WHERE i < {self.customers})"
        )

    def _org_of(self, cid: str) -> str:
        """The organisation a person belongs to, or NULL: half of the 4 after each org."""
        return (
            f"(CASE WHEN ({cid}) > {ORG_EVERY} AND ({cid}) % {ORG_EVERY} BETWEEN 1 AND 4 "
            f"AND {self.h(cid, salt=3)} % 2 = 0 THEN ({cid}) - ({cid}) % {ORG_EVERY} END)"
        )

    # ------------------------------------------------------------ statements

    def customers_sql(self) -> str:
        h = self.h
        loc = self._loc("i")
        is_org = f"(i % {ORG_EVERY} = 0)"
        language = (
            "(CASE "
            + " ".join(
                f"WHEN {loc} = {n} THEN '{lang}'" for n, (lang, _, _) in enumerate(self.locales)
            )
            + " END)"
        )
        currency = (
            "(CASE "
            + " ".join(
                f"WHEN {loc} = {n} THEN '{cur}'" for n, (_, cur, _) in enumerate(self.locales)
            )
            + " END)"
        )
        fixed = " ".join(f"WHEN i = {cid} THEN '{tier}'" for cid, tier in SCENARIO_TIERS.items())
        tier = f"(CASE {fixed} ELSE {self.weighted(h('i', salt=10), TIERS)} END)"
        ltv = (
            f"(CASE {tier} WHEN 'platinum' THEN 2500000 WHEN 'gold' THEN 600000 "
            f"WHEN 'iron' THEN 80000 ELSE 0 END) * (50 + {h('i', salt=11)} % 100) / 100"
        )
        tag = self.uniform(h("i", salt=13), TAGS)
        tags = self._json(
            f"(CASE WHEN {h('i', salt=12)} % 100 < 15 THEN '[\"' || {tag} || '\"]' ELSE '[]' END)"
        )
        created = self._ts(f"{self.start} - {h('i', salt=14)} % {3 * 365 * 86400}")
        owner = f"(CASE WHEN {tier} IN ('platinum', 'gold') THEN 1 + {h('i', salt=15)} % {self.agents} END)"
        company = self.pool(POOL_COMPANY, loc, f"{h('i', salt=16)} % {self.sizes.companies}")
        person = self.pool(POOL_NAME, loc, f"{h('i', salt=17)} % {self.sizes.names}")
        name = f"(CASE WHEN {is_org} THEN {company} ELSE {person} END)"
        return f"""{self._counter()}
INSERT INTO customers (id, kind, display_name, organisation_id, language, tier, lifecycle,
  rfm_recency, rfm_frequency, rfm_monetary, lifetime_value_cents, currency, account_owner_id,
  tags, notes, created_at, updated_at)
SELECT i, CASE WHEN {is_org} THEN 'organisation' ELSE 'person' END, {name}, {self._org_of("i")},
  {language}, {tier}, {self.weighted(h("i", salt=18), LIFECYCLES)},
  1 + {h("i", salt=19)} % 5, 1 + {h("i", salt=20)} % 5, 1 + {h("i", salt=21)} % 5, {ltv},
  {currency}, {owner}, {tags},
  CASE WHEN {h("i", salt=22)} % 100 < 5 THEN 'Prefers calls after 5pm.' ELSE '' END,
  {created}, {created}
FROM n"""

    def phones_sql(self) -> str:
        h = self.h
        has_slot = (
            f"(s.k = 0 OR (s.k = 1 AND {h('i', salt=30)} % 100 < 45) "
            f"OR (s.k = 2 AND {h('i', salt=31)} % 100 < 15))"
        )
        is_org = f"(i % {ORG_EVERY} = 0)"
        kind = f"(CASE WHEN {is_org} THEN 'work' WHEN s.k = 0 THEN 'mobile' WHEN s.k = 1 THEN 'landline' ELSE 'work' END)"
        label = f"(CASE WHEN {is_org} AND s.k = 0 THEN 'office' ELSE '' END)"
        org = self._org_of("i")
        return f"""{self._counter()}, s(k) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2)
INSERT INTO phone_numbers (id, customer_id, e164, kind, label, region)
SELECT i * {IDS_PER_CUSTOMER} + s.k, i, {self.phone("i", "s.k")}, {kind}, {label},
  {self._region("i")}
FROM n CROSS JOIN s WHERE {has_slot}
UNION ALL
SELECT i * {IDS_PER_CUSTOMER} + {PHONE_SLOTS}, i, {self.phone(org, "0")}, 'work', 'office line',
  {self._region(org)}
FROM n WHERE {org} IS NOT NULL"""

    def _region(self, cid: str) -> str:
        """The region of customer ``cid``'s numbers: their locale's (the prefixes are drawn
        and checked with phonenumbers for it)."""
        loc = self._loc(cid)
        cases = " ".join(
            f"WHEN {loc} = {n} THEN '{region}'" for n, (_, _, region) in enumerate(self.locales)
        )
        return f"(CASE {cases} END)"

    def emails_sql(self) -> str:
        h = self.h
        loc = self._loc("i")
        user = self.pool(POOL_USER, loc, f"{h('i', salt=40)} % {self.sizes.users}")
        domain = self.pool(POOL_DOMAIN, loc, f"{h('i', salt=41)} % {self.sizes.domains}")
        return f"""{self._counter()}
INSERT INTO email_addresses (id, customer_id, address, label)
SELECT i, i, {user} || i || '@' || {domain}, '' FROM n WHERE {h("i", salt=42)} % 100 < 60"""

    def consents_sql(self) -> str:
        """Consent records (docs/outbound.md): per customer, at most one per purpose — given
        on a web form some time in the history (marketing calls 55 %, call recording 70 %,
        surveys 40 %), a fifth of the marketing ones later withdrawn by phone (the row then
        says "withdrawn", as the customer's deciding record)."""
        h = self.h
        span = self.end - self.start
        purposes = "(SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2)"
        purpose = (
            "(CASE p.k WHEN 0 THEN 'marketing_calls' WHEN 1 THEN 'recording' ELSE 'surveys' END)"
        )
        share = "(CASE p.k WHEN 0 THEN 55 WHEN 1 THEN 70 ELSE 40 END)"
        withdrawn = f"(p.k = 0 AND {h('i', salt=51)} % 5 = 0)"
        at = self._ts(f"{self.start} + {h('i', 'p.k', salt=52)} % {span}")
        return f"""{self._counter()}
INSERT INTO consent_records (id, customer_id, purpose, granted, source, at, recorded_at, note)
SELECT i * 3 + p.k, i, {purpose}, {self._bool(f"NOT {withdrawn}")},
  CASE WHEN {withdrawn} THEN 'phone' ELSE 'web form' END, {at}, {at}, ''
FROM n CROSS JOIN {purposes} p WHERE {h("i", "p.k", salt=50)} % 100 < {share}"""

    def interactions_sql(self) -> str:
        h = self.h
        span = 730 * 86400
        # Stage 1 (materialised, so the engine computes it once per row instead of inlining
        # the hash into every expression that uses it): the row's hash and its cheap flags.
        voice = "(x / 7 % 100 < 65)"
        # The caller's number is per customer: computed once there, not once per interaction.
        stage = f"""cust AS MATERIALIZED (
  SELECT i, {self.phone("i", "0")} AS caller, {h("i", salt=51)} % {MAX_INTERACTIONS + 1} AS cnt
  FROM n),
src AS MATERIALIZED (
  SELECT i, k, caller, x, t, {voice} AS voice, ({voice} AND x / 11 % 100 < 6) AS ab,
    (x / 13 % 100 < 15) AS ob,
    CASE WHEN {voice} THEN t || '.' || (i * {MAX_INTERACTIONS + 1} + k) END AS uid
  FROM (SELECT i, k, caller, x, {self.start} + x % {span} AS t
        FROM (SELECT i, k, caller, {h("i", "k", salt=50)} AS x FROM cust CROSS JOIN m
              WHERE m.k <= cnt) AS hashed) AS raw)"""
        channel = self.weighted("(x / 7)", CHANNELS)
        wait = "(CASE WHEN voice AND NOT ob THEN x / 17 % 120 ELSE 0 END)"
        talk = "(CASE WHEN ab THEN 0 WHEN voice THEN 60 + x / 19 % 600 ELSE x / 19 % 300 END)"
        hold = "(CASE WHEN voice AND NOT ab AND x / 23 % 5 = 0 THEN x / 29 % 90 ELSE 0 END)"
        wrap = "(CASE WHEN ab THEN 0 ELSE 10 + x / 31 % 110 END)"
        answered = f"(t + {wait})"
        ended = f"({answered} + {talk} + {hold})"
        wrapped = f"({ended} + {wrap})"
        note = self.pool(POOL_NOTE, "0", f"x / 37 % {self.sizes.notes}")
        return f"""{self._counter()},
m(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM m WHERE k < {MAX_INTERACTIONS}),
{stage}
INSERT INTO interactions (id, channel, direction, status, customer_id, agent_id, queue_id, ticket_id,
  caller_raw, caller_e164, caller_name, uniqueid, linkedid, offered_at, answered_at, ended_at,
  wrapped_at, hold_started_at, wait_seconds, talk_seconds, hold_seconds, wrap_seconds,
  disposition, category, notes, csat, resolved_first_contact, transferred_to, updated_at)
SELECT i * {IDS_PER_CUSTOMER} + k, {channel},
  CASE WHEN ob AND NOT ab THEN 'outbound' ELSE 'inbound' END,
  CASE WHEN ab THEN 'abandoned' ELSE 'completed' END,
  i,
  CASE WHEN ab THEN NULL ELSE 1 + x / 41 % {self.agents} END,
  CASE WHEN voice THEN 1 + x / 43 % {self.queues} END,
  NULL,
  CASE WHEN voice THEN caller ELSE '' END,
  CASE WHEN voice THEN caller END,
  '',
  uid,
  uid,
  {self._ts("t")},
  CASE WHEN ab THEN NULL ELSE {self._ts(answered)} END,
  {self._ts(ended)},
  CASE WHEN ab THEN NULL ELSE {self._ts(wrapped)} END,
  NULL, {wait}, {talk}, {hold}, {wrap},
  CASE WHEN ab THEN 'abandoned' ELSE {self.weighted("(x / 47)", DISPOSITIONS)} END,
  {self.uniform("(x / 53)", CATEGORIES)},
  CASE WHEN ab THEN '' ELSE {note} END,
  CASE WHEN NOT ab AND x / 59 % 10 < 3 THEN 1 + x / 61 % 5 END,
  CASE WHEN ab THEN NULL ELSE (x / 67 % 10 < 7) END,
  '',
  {self._ts(wrapped)}
FROM src"""

    def tickets_sql(self, *, open_: bool) -> str:
        h = self.h
        salt = 70 if open_ else 80
        x = h("i", salt=salt)
        category_n = f"{x} / 7 % {len(CATEGORIES)}"
        category = self.uniform(f"({x} / 7)", CATEGORIES)
        subject = self.pool(POOL_SUBJECT, category_n, f"{x} / 11 % {self.sizes.subjects}")
        priority = self.weighted(f"({x} / 13)", PRIORITIES)
        sla_hours = f"(CASE {priority} WHEN 'low' THEN 120 WHEN 'normal' THEN 72 WHEN 'high' THEN 24 ELSE 4 END)"
        if open_:
            created = f"({self.end} - {x} / 17 % {30 * 86400})"
            status = self.weighted(f"({x} / 19)", OPEN_STATUSES)
            resolved = "NULL"
            share = 20
        else:
            created = f"({self.start} + {x} / 17 % {700 * 86400})"
            status = self.uniform(f"({x} / 19)", ("resolved", "closed"))
            resolved = self._ts(f"{created} + 86400 + {x} / 23 % {9 * 86400}")
            share = 25
        return f"""{self._counter()}
INSERT INTO tickets (id, customer_id, subject, category, priority, status, sla_due_at,
  assignee_agent_id, assignee_team, created_at, updated_at, resolved_at)
SELECT i * 2 + {0 if open_ else 1}, i, {subject}, {category}, {priority}, {status}, {self._ts(f"{created} + {sla_hours} * 3600")},
  1 + {x} / 29 % {self.agents}, '', {self._ts(created)}, {self._ts(created)}, {resolved}
FROM n WHERE {h("i", salt=salt + 1)} % 100 < {share}"""

    @staticmethod
    def comments_sql() -> str:
        """One comment per ticket: run after every part's tickets are in (ids are assigned)."""
        return """INSERT INTO ticket_comments (ticket_id, author_agent_id, body, created_at)
SELECT id, assignee_agent_id, 'Opened from a customer contact.', created_at FROM tickets
ORDER BY id"""

    def followups_sql(self, *, pending: bool) -> str:
        h = self.h
        salt = 90 if pending else 95
        x = h("i", salt=salt)
        category = self.uniform(f"({x} / 7)", CATEGORIES)
        common = (
            "kind, status, customer_id, summary, due_at, target_queue_id, target_skill, "
            "target_min_level, target_agent_id, agent_only, priority, claimed_by, claimed_at, "
            "lease_expires_at, attempts, escalation_level, rule, version, created_at, updated_at, "
            "completed_at"
        )
        if pending:
            due = f"({self.end} - 2 * 86400 + {x} / 11 % {5 * 86400})"
            select = f"""'callback', 'pending', i, 'Call back about ' || {category}, {self._ts(due)},
  1 + {x} / 13 % {self.queues}, '', 0,
  CASE WHEN {x} / 17 % 10 < 3 THEN 1 + {x} / 19 % {self.agents} END, {self._bool("1 = 0")},
  1 + {x} / 23 % 3, NULL, NULL, NULL, 0, 0, 'seed', 1, {self._ts(f"{due} - 86400")},
  {self._ts(f"{due} - 86400")}, NULL"""
            share = 5
        else:
            due = f"({self.start} + {x} / 11 % {730 * 86400})"
            kind = self.uniform(f"({x} / 29)", ("callback", "task", "escalation"))
            select = f"""{kind}, 'done', i, 'Follow up on ' || {category}, {self._ts(due)},
  1 + {x} / 13 % {self.queues}, '', 0, NULL, {self._bool("1 = 0")}, 3,
  1 + {x} / 19 % {self.agents}, {self._ts(due)}, NULL, 1, 0, 'seed', 3,
  {self._ts(f"{due} - 86400")}, {self._ts(f"{due} + 600")}, {self._ts(f"{due} + 600")}"""
            share = 8
        return f"""{self._counter()}
INSERT INTO followups (id, {common})
SELECT i * 2 + {0 if pending else 1}, {select}
FROM n WHERE {h("i", salt=salt + 1)} % 100 < {share}"""
