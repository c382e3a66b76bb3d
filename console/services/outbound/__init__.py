"""Outbound calling (docs/outbound.md).

- `segments`, `campaigns`: CRM segments and the campaigns built on them, their lists;
- `pacing`: how many customers to dial now (progressive, predictive under the abandon cap);
- `scripts`, `campaign_call`, `surveys`: what the agent reads and asks, and the answers;
- `gate`: the pure compliance decision per candidate (allowed, or skipped with a reason);
- `compliance`: screens batches through the gate and logs every decision;
- `dnc`, `consent`: the do-not-call lists and consent records;
- `windows` (+ `windows_file`): calling windows in the callee's local time;
- `attempts`: attempt limits and spacing by outcome;
- `optout`: honouring "don't call me again" at once;
- the dialer: `dialer` (the loop), `dial_events` (each dial from AMI frames), `dial_store`
  (leases, claims, attempt rows), `dial_leads` (a lead's history and skips), `dial_rates`
  (a campaign's rates for pacing), `campaign_rules` (a campaign's attempts, window, DNC lists,
  Originate), `preview` (an agent previews, dials or skips a lead).
"""
